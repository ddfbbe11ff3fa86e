import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { wasmKernels } from '../../scripts/wasm-kernels.mjs';

// `npx vite examples/audio-worklet`: this page on a Vite dev server. It imports the library from
// ../../src, whose WebAssembly kernels come from the `virtual:gru-kernels` plugin, so the server may
// read the whole repository. Served from localhost: an AudioWorklet needs a secure context. The
// processor is bundled as an ES module worker (`?worker&url` in gru-node.ts): an AudioWorklet
// loads modules only, and a worker bundle gets only the plugins listed under `worker`.
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  clearScreen: false,
  plugins: [wasmKernels()],
  server: { host: 'localhost', fs: { allow: [repo] } },
  preview: { host: 'localhost' },
  worker: { format: 'es', plugins: () => [wasmKernels()] },
  build: { target: 'es2022' },
});
