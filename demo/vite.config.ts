import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run demo`: the demo page (this folder) on a Vite dev server. It imports the library from
// ../src and the WGSL from ../shaders, so the server may read the whole repository. Served from
// localhost: WebGPU needs a secure context.
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  clearScreen: false,
  server: { host: 'localhost', fs: { allow: [repo] } },
  preview: { host: 'localhost' },
  worker: { format: 'es' },
  build: { target: 'es2022' },
});
