/** The WebAssembly kernels as base64, compiled from assembly/gru.ts by scripts/wasm-kernels.mjs. */
declare module 'virtual:gru-kernels' {
  export const KERNELS: { simd: string; relaxed: string; simdShared: string; relaxedShared: string };
  export const SHARED_MAX_PAGES: number;
}
