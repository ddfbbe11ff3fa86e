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
