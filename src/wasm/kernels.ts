/**
 * Loading the WebAssembly kernels (assembly/gru.ts): the four builds are embedded as base64 by the
 * `virtual:gru-kernels` module (scripts/wasm-kernels.mjs), so nothing is fetched, and they decode
 * without `atob` or `TextDecoder` (an AudioWorkletGlobalScope has neither). Modules are compiled
 * once per build and kept; each GRU instantiates its own, on a memory it owns.
 */
import { KERNELS, SHARED_MAX_PAGES as MAX_PAGES } from 'virtual:gru-kernels';
import { GRUError, fail } from '../errors.js';

/** Which SIMD instructions the kernels use: 'relaxed' (`f32x4.relaxed_madd`) or plain 'simd128'. */
export type WasmSimd = 'relaxed' | 'simd128';

/** Pages of 64 KiB the shared memory of the threaded builds may grow to (their declared maximum). */
export const SHARED_MAX_PAGES: number = MAX_PAGES;

/** The kernels' exports (assembly/gru.ts); their arguments are byte offsets into the memory, and sizes. */
export interface KernelExports {
  gemm(x: number, ldx: number, m: number, k: number, w: number, panels: number, bias: number, y: number, ldy: number): void;
  recur(cfg: number): void;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const value = new Uint8Array(128);
  for (let i = 0; i < BASE64.length; i++) value[BASE64.charCodeAt(i)] = i;
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (let i = 0; i < clean.length; i++) {
    acc = (acc << 6) | value[clean.charCodeAt(i)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

type BuildName = keyof typeof KERNELS;

function buildName(simd: WasmSimd, shared: boolean): BuildName {
  return `${simd === 'relaxed' ? 'relaxed' : 'simd'}${shared ? 'Shared' : ''}` as BuildName;
}

const bytesCache = new Map<BuildName, Uint8Array<ArrayBuffer>>();
const moduleCache = new Map<BuildName, WebAssembly.Module>();

function bytesOf(name: BuildName): Uint8Array<ArrayBuffer> {
  let bytes = bytesCache.get(name);
  if (!bytes) {
    bytes = decodeBase64(KERNELS[name]);
    bytesCache.set(name, bytes);
  }
  return bytes;
}

/**
 * What this engine runs of the kernels' WebAssembly features, tested by validating the embedded
 * builds. The backend needs `simd128`.
 */
export function wasmSupport(): {
  /** SIMD128: the 'simd128' build, needed by every build. */
  simd128: boolean;
  /** Relaxed SIMD (`f32x4.relaxed_madd`): the 'relaxed' build (Node 20: `--experimental-wasm-relaxed-simd`). */
  relaxed: boolean;
  /** Shared memory, so `threads` > 1: Node, or a cross-origin-isolated page. */
  threads: boolean;
} {
  detected ??= detectSupport();
  return { ...detected };
}

/** The engine's answer never changes within a realm: asked once (three validations and a memory). */
let detected: { simd128: boolean; relaxed: boolean; threads: boolean } | undefined;

function detectSupport(): { simd128: boolean; relaxed: boolean; threads: boolean } {
  if (typeof WebAssembly !== 'object') return { simd128: false, relaxed: false, threads: false };
  const simd128 = WebAssembly.validate(bytesOf('simd'));
  const relaxed = simd128 && WebAssembly.validate(bytesOf('relaxed'));
  let threads = false;
  if (simd128 && typeof SharedArrayBuffer === 'function' && WebAssembly.validate(bytesOf('simdShared'))) {
    try {
      threads = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
    } catch {
      threads = false;
    }
  }
  return { simd128, relaxed, threads };
}

/** The SIMD level `requested` resolves to on this engine; throws a GRUError when it is not there. */
export function resolveSimd(requested: WasmSimd | 'auto'): WasmSimd {
  const support = wasmSupport();
  if (!support.simd128) {
    throw new GRUError(
      'wasm backend: expected an engine with WebAssembly SIMD128, got one without it (WebAssembly.validate rejected the kernels)',
    );
  }
  if (requested === 'relaxed' && !support.relaxed) {
    throw new GRUError(
      "options.simd: 'relaxed' needs WebAssembly relaxed SIMD, which this engine does not validate (Node 20 needs --experimental-wasm-relaxed-simd); use 'auto' or 'simd128'",
    );
  }
  if (requested === 'auto') return support.relaxed ? 'relaxed' : 'simd128';
  return requested;
}

/** The compiled module of one build (synchronous: fine off the main thread and for these small modules). */
export function kernelModule(simd: WasmSimd, shared: boolean): WebAssembly.Module {
  const name = buildName(simd, shared);
  let module = moduleCache.get(name);
  if (!module) {
    module = new WebAssembly.Module(bytesOf(name));
    moduleCache.set(name, module);
  }
  return module;
}

/** The same, compiled off the calling thread (for the main thread of a page, where large synchronous compiles are refused). */
export async function kernelModuleAsync(simd: WasmSimd, shared: boolean): Promise<WebAssembly.Module> {
  const name = buildName(simd, shared);
  const cached = moduleCache.get(name);
  if (cached) return cached;
  const module = await WebAssembly.compile(bytesOf(name));
  moduleCache.set(name, module);
  return module;
}

/**
 * The single-thread kernels compiled for this engine without blocking the calling thread, for a GRU
 * made elsewhere: send the module on (to an AudioWorklet through `processorOptions`, whose audio
 * thread should not spend milliseconds compiling; to a worker) and give it back as
 * `WasmBackendOptions.module`, with the same `simd`. Rejects with a GRUError where the engine lacks
 * the SIMD asked for.
 */
export async function compileWasmKernels(simd: WasmSimd | 'auto' = 'auto'): Promise<WebAssembly.Module> {
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'simd128') fail('simd', "'auto', 'relaxed' or 'simd128'", simd);
  return kernelModuleAsync(resolveSimd(simd), false);
}

/** Instantiates the kernels on `memory` (the GRU's own), which they import as `env.memory`. */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
