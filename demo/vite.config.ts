import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { wasmKernels } from '../scripts/wasm-kernels.mjs';

// `npm run demo`: the demo page (this folder) on a Vite dev server. It imports the library from
// ../src, the WGSL from ../shaders and the WebAssembly kernels (compiled by the plugin, for the
// page and for its worker), so the server may read the whole repository. Served from localhost:
// WebGPU needs a secure context. Cross-origin isolated (COOP/COEP): without it performance.now()
// is coarsened to 100 µs, as long as a whole WebAssembly step.
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));
const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root,
  clearScreen: false,
  plugins: [wasmKernels()],
  server: { host: 'localhost', fs: { allow: [repo] }, headers: isolated },
  preview: { host: 'localhost', headers: isolated },
  worker: { format: 'es', plugins: () => [wasmKernels()] },
  build: { target: 'es2022' },
});
