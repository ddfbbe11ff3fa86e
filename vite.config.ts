import { defineConfig } from 'vite';
import { wasmKernels } from './scripts/wasm-kernels.mjs';

// `npm run build`: the library as ES modules in dist/, with the WGSL of shaders/ inlined through
// `?raw` imports and the WebAssembly kernels compiled and embedded (scripts/wasm-kernels.mjs), so a
// bundler or a page needs no extra fetch. The same plugin serves the kernels to the browser tests
// and the benchmark, which load this config. Types come from tsc (tsconfig.build.json).
export default defineConfig({
  plugins: [wasmKernels()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', node: 'src/node.ts' },
      formats: ['es'],
    },
    rollupOptions: {
      external: ['webgpu'],
    },
  },
});
