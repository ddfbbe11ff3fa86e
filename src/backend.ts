/**
 * `createGRU`: one call that gives the fastest GRU this device can run — the WebGPU `GRU` on a
 * hardware adapter, the WebAssembly `WasmGRU` where there is no WebGPU, no adapter, an adapter that
 * emulates a GPU on the CPU (SwiftShader, llvmpipe, lavapipe, WARP), or a model too small for a GPU
 * round trip to pay. The result says which backend it is (`backend`) and why (`reason`).
 */
import { adapterText, isCpuAdapter } from './adapter.js';
import { requestDeviceWithAdapterLimits } from './device.js';
import { GRUError, fail } from './errors.js';
import { GRU } from './gru.js';
import { checkKeys } from './args.js';
import { resolveOptions, type GRUOptions } from './options.js';
import type { GRUWeights } from './weights.js';
import { stepMacs, WasmGRU, type WasmBackendOptions } from './wasm/gru.js';
import { wasmSupport, type WasmSimd } from './wasm/kernels.js';
import { hardwareThreads } from './wasm/pool.js';

/** A backend: 'webgpu' is {@link GRU}, 'wasm' is {@link WasmGRU}. The `backend` field of a GRU says which it is. */
export type BackendName = 'webgpu' | 'wasm';

/** The third argument of {@link createGRU}: which backend, and what each backend runs on. */
export interface CreateGRUOptions {
  /** 'auto' (default) chooses (see {@link createGRU}); 'webgpu' and 'wasm' force one. */
  backend?: BackendName | 'auto';
  /**
   * The device to run on for the WebGPU backend; default: one requested from `gpu`. It stays the
   * caller's: destroying the GRU leaves it alive.
   */
  device?: GPUDevice;
  /**
   * Where to find an adapter when no device is given; default `navigator.gpu`. Node has none: pass
   * `create([])` of the `webgpu` package, or a `device` (e.g. from `webgpu-gru/node`).
   */
  gpu?: GPU;
  /**
   * wasm backend: threads of a forward, an integer in [1, 64] ({@link WasmBackendOptions.threads}).
   * Default: the machine's threads, at most 4, where shared memory is usable (Node,
   * cross-origin-isolated pages), else 1. The workers start with the first forward large enough
   * to split ({@link POOL_MIN_MACS}).
   */
  threads?: number;
  /** wasm backend: SIMD level (default 'auto': relaxed SIMD where the engine validates it, else SIMD128). */
  simd?: WasmSimd | 'auto';
}

const CREATE_KEYS = new Set(['backend', 'device', 'gpu', 'threads', 'simd']);

/**
 * Multiply-adds of one timestep of one sequence, all layers and directions, under which 'auto'
 * keeps a hardware-adapter model on the wasm backend: 2^17 (e.g. H = 128, I = 128, one layer;
 * H = 64 with two). Below it a step takes under ~5 µs on one core here (bench/NOTES.md, "Choosing
 * the backend"), less than a GPU spends on the dispatch, barriers and read-back of a step.
 * The GPU side of this threshold is not yet measured on hardware.
 */
export const SMALL_MODEL_MACS = 1 << 17;

function wasmOptions(init: CreateGRUOptions): WasmBackendOptions {
  const w: WasmBackendOptions = { threads: init.threads ?? (wasmSupport().threads ? Math.min(4, hardwareThreads()) : 1) };
  if (init.simd !== undefined) w.simd = init.simd;
  return w;
}

async function onWasm(options: GRUOptions, weights: readonly GRUWeights[], init: CreateGRUOptions, reason: string): Promise<WasmGRU> {
  const gru = await WasmGRU.create(options, weights, wasmOptions(init));
  gru.reason = reason;
  return gru;
}

async function onDevice(
  options: GRUOptions,
  weights: readonly GRUWeights[],
  device: GPUDevice,
  owned: boolean,
  reason: string,
): Promise<GRU> {
  let gru: GRU;
  try {
    gru = await GRU.create(device, options, weights);
  } catch (error) {
    if (owned) device.destroy();
    throw error;
  }
  gru.reason = reason;
  if (owned) gru.adoptDevice();
  return gru;
}

/**
 * Creates a GRU on the backend that suits this device:
 * - `backend: 'wasm'`: {@link WasmGRU}; `backend: 'webgpu'`: {@link GRU} on `device`, or on a
 *   device requested from `gpu`;
 * - 'auto' (default): WebGPU on a hardware adapter (the given device's, or `gpu`'s), unless the
 *   model's step is under {@link SMALL_MODEL_MACS}; the wasm backend when WebGPU is missing, no
 *   adapter is found, or the adapter runs on the CPU (there the wasm kernels are 15–80× faster on
 *   the same cores: bench/NOTES.md).
 *
 * A device this function requested is destroyed with the GRU; a device passed in stays the caller's.
 *
 * @param options - the network, as for `GRU.create`.
 * @param weights - one entry per (layer, direction), at index `layer · D + direction`.
 * @param init - the backend and what it runs on; default `{}` ('auto').
 * @returns the GRU, whose `backend` says which it is and `reason` why it was chosen.
 * @throws a {@link GRUError} on bad options, weights or `init` (an unknown key included), and with
 *   `backend: 'webgpu'` when there is no WebGPU (no `navigator.gpu`, `gpu` or `device`) or no adapter.
 */
export async function createGRU(options: GRUOptions, weights: readonly GRUWeights[], init: CreateGRUOptions = {}): Promise<GRU | WasmGRU> {
  if (typeof init !== 'object' || init === null) fail('init', '{ backend?, device?, gpu?, threads?, simd? }', init);
  checkKeys('init', init, CREATE_KEYS);
  const backend = init.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'wasm') fail('init.backend', "'auto', 'webgpu' or 'wasm'", backend);
  if (
    init.device !== undefined &&
    (typeof init.device !== 'object' || init.device === null || typeof init.device.createBuffer !== 'function')
  ) {
    fail('init.device', 'a GPUDevice', init.device);
  }
  // The wasm backend's own checks would name them wasmOptions.*.
  const { threads, simd } = init;
  if (threads !== undefined && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 64)) {
    fail('init.threads', 'an integer in [1, 64]', threads);
  }
  if (simd !== undefined && simd !== 'auto' && simd !== 'relaxed' && simd !== 'simd128')
    fail('init.simd', "'auto', 'relaxed' or 'simd128'", simd);
  const o = resolveOptions(options);
  if (backend === 'wasm') return onWasm(options, weights, init, "backend 'wasm' was asked for");

  const tooSmall =
    stepMacs(o) < SMALL_MODEL_MACS
      ? `the model's step (${stepMacs(o)} multiply-adds) is under ${SMALL_MODEL_MACS}, too small for a GPU round trip to pay`
      : undefined;
  if (init.device) {
    const text = adapterText(init.device);
    if (backend === 'webgpu') return onDevice(options, weights, init.device, false, "backend 'webgpu' was asked for, on the given device");
    if (text !== undefined && isCpuAdapter(text)) {
      return onWasm(options, weights, init, `the given device's adapter (${text}) runs on the CPU, where the wasm kernels are faster`);
    }
    if (tooSmall) return onWasm(options, weights, init, tooSmall);
    return onDevice(options, weights, init.device, false, `the given device's adapter (${text ?? 'unknown'}) is hardware`);
  }

  const gpu = init.gpu ?? (typeof navigator === 'object' ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined);
  if (!gpu) {
    if (backend === 'webgpu')
      throw new GRUError("init.backend: 'webgpu' needs WebGPU, got no navigator.gpu and no init.gpu or init.device");
    return onWasm(options, weights, init, 'there is no WebGPU here (no navigator.gpu)');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    if (backend === 'webgpu') throw new GRUError("init.backend: 'webgpu' needs a WebGPU adapter, got none from requestAdapter()");
    return onWasm(options, weights, init, 'WebGPU gave no adapter');
  }
  const info = adapter.info;
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
  if (backend === 'auto') {
    if (info.isFallbackAdapter || isCpuAdapter(text)) {
      return onWasm(options, weights, init, `the WebGPU adapter (${text}) runs on the CPU, where the wasm kernels are faster`);
    }
    if (tooSmall) return onWasm(options, weights, init, tooSmall);
  }
  const device = await requestDeviceWithAdapterLimits(adapter, { label: 'webgpu-gru createGRU' });
  const why = backend === 'webgpu' ? `backend 'webgpu' was asked for (${text})` : `the WebGPU adapter (${text}) is hardware`;
  return onDevice(options, weights, device, true, why);
}
