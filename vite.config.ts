import { defineConfig } from 'vite';

// `npm run build`: the library as ES modules in dist/, with the WGSL of shaders/ inlined through
// `?raw` imports, so a bundler or a page needs no extra fetch. Types come from tsc (tsconfig.build.json).
export default defineConfig({
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
