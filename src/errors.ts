/**
 * Every bad argument is reported as a GRUError whose message names the argument, what was
 * expected and what was given (`args.seqLengths[1]: expected a length in [0, steps = 5], got 6`),
 * before any GPU work, so a caller never has to decode a WebGPU validation error. The importers
 * throw it for a tensor of the wrong shape or dtype and for truncated or corrupt bytes. Its `name`
 * is 'GRUError'.
 */
export class GRUError extends Error {
  /** @param message - what went wrong: the argument, the expectation and what was given. */
  constructor(message: string) {
    super(message);
    this.name = 'GRUError';
  }
}

/**
 * The GPU device a GRU (or a layer) runs on was lost: destroyed, a GPU process restart, a driver
 * update, a laptop switching GPUs, a background tab on a phone. Every call in flight when it
 * happened rejects with it, and every later call on that GRU, its states and its layers throws it
 * at once; `GRU.lost` resolves with it. Nothing is lost that the caller kept: to carry on, make a
 * new GRU from the same weights on a new device, or on the CPU (`createGRU` with backend 'wasm'),
 * and give it the last state read with `GRUState.get()` as `h0`. See the README, "Device loss".
 */
export class DeviceLostError extends GRUError {
  /**
   * @param reason - WebGPU's `GPUDeviceLostInfo.reason`: 'destroyed' (`device.destroy()` was
   *   called) or 'unknown' (anything else).
   * @param detail - WebGPU's `GPUDeviceLostInfo.message`, as the implementation wrote it.
   */
  constructor(
    readonly reason: GPUDeviceLostReason,
    readonly detail: string,
  ) {
    super(
      `device: expected a live GPUDevice, got one that was lost (${reason}${detail ? `: ${detail}` : ''}); ` +
        "make a new GRU on a new device or on the CPU (createGRU with backend 'wasm') to carry on",
    );
    this.name = 'DeviceLostError';
  }
}

/** A short, readable rendering of a value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length;
    return `${value.constructor.name}(${length ?? value.byteLength})`;
  }
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Throws the GRUError `${argument}: expected ${expected}, got ${describe(given)}`. */
export function fail(argument: string, expected: string, given: unknown): never {
  throw new GRUError(`${argument}: expected ${expected}, got ${describe(given)}`);
}
