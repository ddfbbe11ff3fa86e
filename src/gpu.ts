/**
 * The WebGPU plumbing that the GRU, its plan and the layers share: the flag values (so the library
 * needs no WebGPU globals), bind group layout entries, the binding limit, per-device memos, the
 * pipeline cache, the error-scope guard, the read-back and the last-bind-group memo. Nothing here
 * knows about GRUs.
 */
import { DeviceLostError, GRUError } from './errors.js';

/** GPUBufferUsage values. */
export const Usage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
/** GPUShaderStage.COMPUTE */
export const COMPUTE_STAGE = 0x4;
/** GPUMapMode.READ */
export const MAP_READ_MODE = 0x1;
/** Bytes of an f32 (and of a u32). */
export const F32 = 4;

export function storageEntry(binding: number, readOnly: boolean): GPUBindGroupLayoutEntry {
  return { binding, visibility: COMPUTE_STAGE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } };
}

export function uniformEntry(binding: number, hasDynamicOffset = false): GPUBindGroupLayoutEntry {
  return { binding, visibility: COMPUTE_STAGE, buffer: { type: 'uniform', hasDynamicOffset } };
}

/** The largest buffer a storage binding can cover on a device with these limits. */
export function bindingLimit(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
}

/** Bytes a buffer binding needs, checked against the device before anything is created. */
export function checkBinding(device: GPUDevice, what: string, bytes: number, cause: string): void {
  const limits = device.limits;
  const limit = bindingLimit(limits);
  if (bytes > limit) {
    const name = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    throw new GRUError(`${cause}: ${what} needs ${bytes} bytes, over this device's ${name} (${limit} bytes)`);
  }
}

/**
 * `make(device)`, made once per device and kept as long as the device is (a WeakMap): shader
 * modules, bind group layouts and compiled pipelines belong to the device that made them.
 */
export function perDevice<T>(make: (device: GPUDevice) => T): (device: GPUDevice) => T {
  const memo = new WeakMap<GPUDevice, T>();
  return (device) => {
    let value = memo.get(device);
    if (value === undefined) {
      value = make(device);
      memo.set(device, value);
    }
    return value;
  };
}

/** What is known of a device's loss: `error` is set (a microtask after `device.lost` resolves) once it is lost. */
export interface Loss {
  error?: DeviceLostError;
  /** Resolves with the error when the device is lost; never rejects. */
  readonly promise: Promise<DeviceLostError>;
}

/**
 * The loss of `device`, watched once per device. A device without a `lost` promise (a test's
 * stand-in) is never lost.
 */
export const deviceLoss = perDevice((device: GPUDevice): Loss => {
  const lost = (device as Partial<GPUDevice>).lost;
  const loss: Loss = {
    promise:
      lost && typeof lost.then === 'function'
        ? lost.then((info) => {
            loss.error = new DeviceLostError(info.reason, info.message);
            return loss.error;
          })
        : new Promise<DeviceLostError>(() => {}),
  };
  return loss;
});

/** Throws the device's DeviceLostError if it is known to be lost. */
export function checkNotLost(device: GPUDevice): void {
  const error = deviceLoss(device).error;
  if (error) throw error;
}

/**
 * How long a call whose GPU work failed waits for `device.lost` to settle before it decides that
 * the device was not lost: Dawn and Chromium reject a pending mapAsync before they resolve `lost`.
 */
const LOSS_GRACE_MS = 1000;

/**
 * Awaits GPU work (a read-back, a compile) and turns its failure into a GRUError: the device's
 * DeviceLostError if the device was lost meanwhile (never WebGPU's bare AbortError), else
 * `${what} (${name}: ${message})`. A GRUError from the work itself passes through.
 */
export async function settle<T>(device: GPUDevice, work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof GRUError && !(error instanceof DeviceLostError)) throw error;
    const loss = deviceLoss(device);
    if (!loss.error) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([loss.promise, new Promise((resolve) => (timer = setTimeout(resolve, LOSS_GRACE_MS)))]);
      clearTimeout(timer);
    }
    if (loss.error) throw loss.error;
    const e = error as { name?: unknown; message?: unknown };
    throw new GRUError(`${what} (${String(e?.name ?? 'Error')}: ${String(e?.message ?? error)})`);
  }
}

/**
 * `work`, rejected with the device's DeviceLostError as soon as the device is lost if it has not
 * settled by then (a compile on a device lost mid-way may never settle). What `work` resolves to
 * after that is handed to `discard`.
 */
export function unlessLost<T>(device: GPUDevice, work: Promise<T>, discard: (value: T) => void): Promise<T> {
  const loss = deviceLoss(device);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    void loss.promise.then((error) => {
      if (done) return;
      done = true;
      reject(error);
    });
    work.then(
      (value) => {
        if (done) discard(value);
        else {
          done = true;
          resolve(value);
        }
      },
      (error: unknown) => {
        if (done) return;
        done = true;
        reject(error);
      },
    );
  });
}

const pipelines = perDevice(() => new Map<string, Promise<GPUComputePipeline>>());

/**
 * A compute pipeline compiled asynchronously once per device under `key`, which must name the
 * shader file, the entry point and every override constant (a second GRU or layer of the same
 * shape then compiles nothing).
 */
export function cachedPipeline(
  device: GPUDevice,
  key: string,
  descriptor: () => GPUComputePipelineDescriptor,
): Promise<GPUComputePipeline> {
  const cache = pipelines(device);
  let pending = cache.get(key);
  if (!pending) {
    pending = device.createComputePipelineAsync(descriptor());
    // A failed compilation must not poison the cache for later attempts.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

/**
 * Runs `work` inside out-of-memory and validation error scopes, so that what the device refuses
 * is reported here, as a GRUError, and not later as an uncaptured error. On a device error or a
 * throw it calls `cleanup` (with what `work` returned, if it returned) so that nothing is left
 * half-built, then throws what was thrown, or a GRUError `${refused} (${the device's message})`.
 * Only `work` itself runs inside the scopes: a promise it returns wrapped in an object (a
 * read-back) settles after they are popped.
 */
export async function withErrorScopes<T>(
  device: GPUDevice,
  refused: string,
  work: () => T | Promise<T>,
  cleanup: (result: T | undefined) => void,
): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let thrown: unknown;
  let failed = false;
  try {
    // A synchronous `work` pops the scopes with no await in between, as if written inline.
    const value = work();
    result = value instanceof Promise ? await value : value;
  } catch (error) {
    thrown = error;
    failed = true;
  }
  const validation = await device.popErrorScope();
  const memory = await device.popErrorScope();
  if (failed) {
    cleanup(undefined);
    throw thrown;
  }
  const error = validation ?? memory;
  if (error) {
    cleanup(result);
    throw new GRUError(`${refused} (${error.message})`);
  }
  return result as T;
}

/** A region of a GPU buffer to read back. */
export interface Region {
  buffer: GPUBuffer;
  offset: number;
  bytes: number;
}

/**
 * Copies `regions` into one staging buffer at the end of `encoder`, submits it, and reads them
 * back as f32s. Everything up to the submit happens before the first await.
 */
export async function readBack(device: GPUDevice, encoder: GPUCommandEncoder, regions: readonly Region[]): Promise<Float32Array[]> {
  const total = regions.reduce((sum, r) => sum + r.bytes, 0);
  const staging = device.createBuffer({ label: 'webgpu-gru read-back', size: total, usage: Usage.MAP_READ | Usage.COPY_DST });
  try {
    let at = 0;
    for (const r of regions) {
      encoder.copyBufferToBuffer(r.buffer, r.offset, staging, at, r.bytes);
      at += r.bytes;
    }
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ_MODE);
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    at = 0;
    return regions.map((r) => {
      const part = all.subarray(at / F32, (at + r.bytes) / F32);
      at += r.bytes;
      return part;
    });
  } finally {
    staging.destroy();
  }
}

/** queue.writeBuffer for a Float32Array on any ArrayBuffer (the typings insist on a plain one). */
export function writeFloats(queue: GPUQueue, buffer: GPUBuffer, offset: number, data: Float32Array): void {
  queue.writeBuffer(buffer, offset, data as Float32Array<ArrayBuffer>);
}

/**
 * The value made for the last key, kept until a key differs in any entry: bind groups are made
 * once for the buffers a caller keeps passing, so repeated forwards and steps create none.
 */
export class KeepLast<T> {
  private last?: { key: readonly unknown[]; value: T };

  get(key: readonly unknown[], make: () => T): T {
    const last = this.last;
    if (last && last.key.length === key.length && last.key.every((k, i) => k === key[i])) return last.value;
    const value = make();
    this.last = { key, value };
    return value;
  }

  clear(): void {
    this.last = undefined;
  }
}
