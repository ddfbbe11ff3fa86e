/**
 * Argument checks and small GPU helpers shared by the layers around the GRU. Every check throws a
 * GRUError naming the argument, what was expected and what was given, before any GPU work.
 */
import { GRUError, describe, fail } from '../errors.js';
import { Usage } from '../pipelines.js';

export const F32 = 4;

export function checkPositiveInteger(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(argument, 'a positive integer', value);
  return value;
}

/** A Float32Array of exactly `length` finite values. */
export function checkWeights(argument: string, value: unknown, length: number, shape: string): Float32Array {
  if (!(value instanceof Float32Array)) fail(argument, `a Float32Array of ${length} values (${shape})`, value);
  if (value.length !== length) {
    throw new GRUError(`${argument}: expected ${length} values (${shape}), got ${value.length}`);
  }
  for (let i = 0; i < value.length; i++) {
    if (!Number.isFinite(value[i])) throw new GRUError(`${argument}: element ${i} is ${value[i]}; weights must be finite`);
  }
  return value;
}

export function checkKeys(argument: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new GRUError(`${argument}: unknown key ${JSON.stringify(key)}; expected ${allowed.join(', ')}`);
    }
  }
}

export function checkObject(argument: string, value: unknown, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    fail(argument, expected, value);
  }
  return value as Record<string, unknown>;
}

export function checkDevice(device: unknown): GPUDevice {
  if (typeof device !== 'object' || device === null || typeof (device as GPUDevice).createBuffer !== 'function') {
    fail('device', 'a GPUDevice', device);
  }
  return device as GPUDevice;
}

function isBuffer(value: unknown): value is GPUBuffer {
  return typeof value === 'object' && value !== null && typeof (value as GPUBuffer).mapAsync === 'function' &&
    typeof (value as GPUBuffer).usage === 'number';
}

/** A GPUBuffer with STORAGE usage and at least `bytes` bytes. */
export function checkStorage(argument: string, value: unknown, bytes: number, shape: string): GPUBuffer {
  if (!isBuffer(value)) fail(argument, `a GPUBuffer of at least ${bytes} bytes (${shape}) with STORAGE usage`, value);
  if (value.size < bytes) throw new GRUError(`${argument}: expected a GPUBuffer of at least ${bytes} bytes (${shape}), got ${value.size}`);
  if ((value.usage & Usage.STORAGE) === 0) {
    throw new GRUError(`${argument}: expected a GPUBuffer with STORAGE usage, got usage flags 0x${value.usage.toString(16)}`);
  }
  return value;
}

/** A batch that one dispatch dimension can hold (`perGroup` rows per workgroup). */
export function checkBatch(device: GPUDevice, batch: unknown, perGroup = 1, what = 'batch'): number {
  const b = checkPositiveInteger(what, batch);
  const max = device.limits.maxComputeWorkgroupsPerDimension * perGroup;
  if (b > max) throw new GRUError(`${what}: expected at most ${max} rows (maxComputeWorkgroupsPerDimension), got ${b}`);
  return b;
}

/** Creates and fills a labelled read-only storage buffer. */
export function uploadStorage(device: GPUDevice, label: string, data: Float32Array): GPUBuffer {
  const buffer = device.createBuffer({
    label: `webgpu-gru ${label}`,
    size: Math.max(16, Math.ceil(data.byteLength / 4) * 4),
    usage: Usage.STORAGE | Usage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
  return buffer;
}

/**
 * Runs `build` inside validation and out-of-memory error scopes; on a GPU error or a throw, calls
 * `cleanup` (so nothing is left half-built) and throws a GRUError (or the thrown error).
 */
export async function buildGuarded<T>(device: GPUDevice, what: string, build: () => Promise<T>, cleanup: () => void): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let thrown: unknown;
  let failed = false;
  try {
    result = await build();
  } catch (error) {
    thrown = error;
    failed = true;
  }
  const validation = await device.popErrorScope();
  const memory = await device.popErrorScope();
  if (failed) {
    cleanup();
    throw thrown;
  }
  const error = validation ?? memory;
  if (error) {
    cleanup();
    throw new GRUError(`${what}: the device refused the layer (${error.message})`);
  }
  return result as T;
}

export { describe };
