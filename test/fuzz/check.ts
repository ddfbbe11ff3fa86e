/**
 * What the fuzzer's calls (./calls.ts, ./stream.ts, ./import.ts) share: an iteration's context,
 * the check that a call throws a GRUError naming the argument, a check run on each backend to its
 * end, the comparison with the reference, making and freeing a WasmGRU, and the buffers an
 * iteration makes.
 */
import {
  createGRU,
  GRUError,
  gruReference,
  WasmGRU,
  wasmSupport,
  type GRUOptions,
  type GRUResult,
  type GRUWeights,
  type WasmBackendOptions,
} from '../../src/index.js';
import { assertClose, F32_TOLERANCE, uploadBuffer, type Tolerance } from '../suite/util.js';
import { computedWeights, type Draw, type Broken, type RunData } from './draw.js';

/** Exact: values that are copied, never computed. */
export const EXACT: Tolerance = { rtol: 0, atol: 0 };

/** One iteration's device and draws, and what it is doing (for a failure's report). */
export interface Context {
  device: GPUDevice;
  d: Draw;
  what: string;
}

/** An exception as the report shows it: its type, message and, for anything but a GRUError, where it came from. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${typeof error}: ${String(error)}`;
  const at = error instanceof GRUError ? undefined : error.stack?.split('\n').find((line) => /^\s+at /.test(line));
  return `${error.name}: ${error.message}${at ? ` (${at.trim()})` : ''}`;
}

export function describeRun(run: RunData): string {
  const { steps, batch, h0, seqLengths } = run.args;
  return `steps ${steps}, batch ${batch}${h0 ? ', h0' : ''}${seqLengths ? `, seqLengths [${seqLengths.join(', ')}]` : ''}`;
}

/** Frees what a call that should have thrown returned: a GRU, a state, or forwardGPU's buffers. */
function dispose(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (typeof (value as { destroy?: unknown }).destroy === 'function') (value as { destroy(): void }).destroy();
  for (const key of ['output', 'hN']) {
    const b = (value as Record<string, unknown>)[key];
    if (typeof b === 'object' && b !== null && typeof (b as GPUBuffer).destroy === 'function') (b as GPUBuffer).destroy();
  }
}

/**
 * The message of the GRUError that `call` must throw or reject with: one that starts with
 * `${broken.names}:` ('start'), mentions it ('anywhere': the importers name a tensor inside their
 * sentence), or any GRUError ('any': a truncated file).
 */
export async function mustThrow(
  label: string,
  broken: Broken,
  call: () => unknown,
  match: 'start' | 'anywhere' | 'any' = 'start',
): Promise<string> {
  const expected = match === 'any' ? 'a GRUError' : `a GRUError naming ${broken.names}`;
  let result: unknown;
  try {
    result = await call();
  } catch (error) {
    if (!(error instanceof GRUError)) throw new Error(`${label}: expected ${expected}, got ${errorText(error)}`);
    const m = error.message;
    const named = match === 'any' || (match === 'anywhere' ? m.includes(broken.names) : m.startsWith(`${broken.names}:`));
    if (!named) throw new Error(`${label}: expected ${expected}, got ${JSON.stringify(m)}`);
    return m;
  }
  dispose(result);
  throw new Error(`${label}: expected ${expected}, got no error`);
}

/** A failure as the report shows it: the checks throw plain Errors that say what differed; anything else keeps its type. */
export function failureText(error: unknown): string {
  return error instanceof Error && error.name === 'Error' ? error.message : errorText(error);
}

/**
 * Runs each check (one per backend) to its end even when another failed, so that a report says
 * which backends fail, then throws what failed; with `agree`, the GRUError messages the checks
 * return must be equal.
 */
export async function eachBackend(checks: Record<string, () => Promise<string | undefined>>, agree = false): Promise<void> {
  const messages: [string, string][] = [];
  const problems: string[] = [];
  for (const [name, check] of Object.entries(checks)) {
    try {
      const message = await check();
      if (message !== undefined) messages.push([name, message]);
    } catch (error) {
      problems.push(failureText(error));
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  if (agree && new Set(messages.map(([, m]) => m)).size > 1) {
    throw new Error(`the backends disagree:\n${messages.map(([k, m]) => `    ${k}: ${m}`).join('\n')}`);
  }
}

export function compare(label: string, got: GRUResult, want: GRUResult): void {
  assertClose(`${label} output`, got.output, want.output, F32_TOLERANCE);
  assertClose(`${label} hN`, got.hN, want.hN, F32_TOLERANCE);
}

export function reference(o: GRUOptions, w: readonly GRUWeights[], run: RunData): GRUResult {
  return gruReference(o, computedWeights(o, w), run.input, run.args);
}

/**
 * A WasmGRU made one of the three ways, on one thread or (where shared memory is usable) two; the
 * draws do not depend on the runtime, so that a seed replays the same calls in Node and a page.
 */
export async function createWasm(d: Draw, o: GRUOptions, w: readonly GRUWeights[]): Promise<WasmGRU> {
  const threads = d.chance(0.15) && wasmSupport().threads ? 2 : 1;
  const backend: WasmBackendOptions = threads > 1 ? { threads, poolThreshold: 0 } : d.chance(0.5) ? {} : { threads: 1 };
  switch (d.int(0, 2)) {
    case 0:
      return WasmGRU.create(o, w, backend);
    case 1:
      return WasmGRU.createSync(o, w, backend);
    default:
      return (await createGRU(o, w, { backend: 'wasm', threads })) as WasmGRU;
  }
}

export function destroyWasm(gru: WasmGRU): void {
  gru.destroy();
  if (gru.memoryBytes !== 0) throw new Error(`wasm: ${gru.memoryBytes} bytes of memory still allocated after destroy()`);
}

/** Buffers an iteration made, destroyed when it ends. */
export class Buffers {
  readonly made: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}

  create(bytes: number, usage: number): GPUBuffer {
    const b = this.device.createBuffer({ size: bytes, usage });
    this.made.push(b);
    return b;
  }

  upload(data: Float32Array, usage: number): GPUBuffer {
    const b = uploadBuffer(this.device, data, usage);
    this.made.push(b);
    return b;
  }

  destroyed(bytes: number, usage: number): GPUBuffer {
    const b = this.create(bytes, usage);
    b.destroy();
    return b;
  }

  destroy(): void {
    for (const b of this.made) b.destroy();
  }
}
