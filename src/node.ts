/// <reference types="@webgpu/types" preserve="true" />
/**
 * `webgpu-gru/node`: a GPUDevice in Node from the `webgpu` package (Dawn).
 *
 * A hardware adapter when the machine has one. Otherwise Dawn's OpenGL ES backend on Mesa's
 * llvmpipe, a CPU implementation: on a GPU-less Debian machine it is the CPU adapter that runs
 * every kernel size stably (Chromium's SwiftShader ICD crashes Dawn in Node on large kernels, and
 * Debian's lavapipe is rejected by Dawn's Vulkan backend). The fallback is announced on stderr.
 *
 * @module webgpu-gru/node
 */
import { isCpuAdapter, recordAdapter, recordedAdapter } from './adapter.js';
import { requestDeviceWithAdapterLimits } from './device.js';
import { GRUError } from './errors.js';

/** The options of {@link requestDevice}. */
export interface NodeDeviceOptions {
  /**
   * Which adapter: 'auto' (default) the hardware adapter, else the CPU fallback (llvmpipe through
   * OpenGL ES); 'hardware' throws a GRUError without one; 'cpu' goes straight to the fallback.
   */
  adapter?: 'auto' | 'hardware' | 'cpu';
  /** Do not announce the CPU fallback on stderr (default false: 'auto' announces it; 'cpu' never does). */
  quiet?: boolean;
}

type DawnModule = {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
};

/** Dawn's `GPU` objects must outlive their devices; they are held here for the process. */
const keepAlive = new Set<GPU>();

function describeAdapter(adapter: GPUAdapter): string {
  const i = adapter.info;
  return [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ') || 'unknown adapter';
}

async function loadDawn(): Promise<DawnModule> {
  try {
    const moduleName = 'webgpu';
    return (await import(/* @vite-ignore */ moduleName)) as DawnModule;
  } catch (error) {
    throw new GRUError(
      `webgpu-gru/node: expected the 'webgpu' package (Dawn for Node) to be installed (npm install webgpu@0.6.2), got: ${(error as Error).message}`,
    );
  }
}

async function device(gpu: GPU, adapter: GPUAdapter): Promise<GPUDevice> {
  const dev = await requestDeviceWithAdapterLimits(adapter, { label: 'webgpu-gru/node' });
  keepAlive.add(gpu);
  recordAdapter(dev, describeAdapter(adapter));
  return dev;
}

/**
 * Requests a GPUDevice from Dawn (the `webgpu` package, an optional peer dependency): hardware
 * first, the CPU adapter (llvmpipe through OpenGL ES) otherwise, with the adapter's limits raised
 * as {@link requestDeviceWithAdapterLimits} does. Installs Dawn's WebGPU globals (`GPUBufferUsage`
 * and the rest) where `globalThis` lacks them, and sets `EGL_PLATFORM=surfaceless` for the
 * fallback when it is unset.
 *
 * @param options - which adapter, and whether to announce the fallback; default `{}`.
 * @returns the device; {@link adapterDescription} names its adapter.
 * @throws a {@link GRUError} when the `webgpu` package cannot be loaded, `options.adapter` is not one
 *   of its values, `adapter: 'hardware'` finds no hardware adapter, or no adapter at all is found
 *   (then Mesa's EGL/GLES drivers are missing).
 */
export async function requestDevice(options: NodeDeviceOptions = {}): Promise<GPUDevice> {
  const choice = options.adapter ?? 'auto';
  if (!['auto', 'hardware', 'cpu'].includes(choice)) {
    throw new GRUError(`options.adapter: expected 'auto', 'hardware' or 'cpu', got ${JSON.stringify(choice)}`);
  }
  const dawn = await loadDawn();
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  if (choice !== 'cpu') {
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter && !adapter.info.isFallbackAdapter && !isCpuAdapter(describeAdapter(adapter))) {
      return device(gpu, adapter);
    }
    if (choice === 'hardware') {
      throw new GRUError(`options.adapter: expected a hardware adapter, got ${adapter ? describeAdapter(adapter) : 'none'}`);
    }
  }
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = dawn.create(['backend=opengles']);
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  if (!adapter) {
    throw new GRUError(
      'requestDevice: expected a WebGPU adapter, got none: no hardware adapter, and no OpenGL ES (llvmpipe) fallback — ' +
        'install Mesa (apt-get install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri)',
    );
  }
  const dev = await device(gpu, adapter);
  if (!options.quiet && choice === 'auto') {
    console.warn(`webgpu-gru/node: no hardware GPU adapter; using the CPU adapter ${describeAdapter(adapter)}`);
  }
  return dev;
}

/**
 * Which adapter a device from {@link requestDevice} runs on, in words: its vendor, architecture,
 * device and description, joined by ' / '; undefined for any other device.
 */
export function adapterDescription(device: GPUDevice): string | undefined {
  return recordedAdapter(device);
}
