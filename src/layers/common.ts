/**
 * What the layers around the GRU share beyond src/args.ts and src/gpu.ts: the checks whose
 * messages are worded for layers, the batch a dispatch can hold, the upload of a table, and the
 * error-scope guard with the layers' message. Every check throws a GRUError naming the argument,
 * what was expected and what was given, before any GPU work.
 */
import { checkFinite, checkKeys as checkAnyKeys, checkLength, checkPositiveInteger } from '../args.js';
import { GRUError } from '../errors.js';
import { checkNotLost, unlessLost, Usage, withErrorScopes, writeFloats } from '../gpu.js';

/** A Float32Array of exactly `length` finite values. */
export function checkWeights(argument: string, value: unknown, length: number, shape: string): Float32Array {
  const data = checkLength(argument, value, length, `${length} values (${shape})`);
  checkFinite(argument, data, 'weights must be finite');
  return data;
}

/** `${argument}: unknown key "k"; expected a, b`. */
export function checkKeys(argument: string, value: object, allowed: readonly string[]): void {
  checkAnyKeys(argument, value, allowed, 'key', allowed.join(', '));
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
  writeFloats(device.queue, buffer, 0, data);
  return buffer;
}

/**
 * Runs `build` inside validation and out-of-memory error scopes (src/gpu.ts `withErrorScopes`);
 * on a device error or a throw, calls `cleanup` and throws a GRUError (or the thrown error). On a
 * lost device it throws the DeviceLostError, and what is built after the loss is cleaned up.
 */
export function buildGuarded<T>(device: GPUDevice, what: string, build: () => Promise<T>, cleanup: () => void): Promise<T> {
  checkNotLost(device);
  const built = withErrorScopes(device, `${what}: the device refused the layer`, build, cleanup);
  return unlessLost(device, built, cleanup);
}
