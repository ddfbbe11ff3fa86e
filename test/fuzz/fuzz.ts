/**
 * The seeded fuzzer: `npm run fuzz` (test/fuzz/run.mjs, Node) and a few hundred iterations in the
 * core suite (test/suite/fuzz.ts, Node and headless Chromium).
 *
 * Each iteration draws (./draw.ts) a GRU — sizes, layers, direction, reset variant, gate order,
 * batchFirst, activations, clip, weight format, schedule — its weights and one call, and does one of:
 * - `create` (always broken: every other call creates): GRU.create, WasmGRU.create / createSync,
 *   createGRU('wasm') and gruReference with options or weights broken in one named way (and
 *   createGRU's and WasmGRU's own options);
 * - `forward`: GRU.forward and WasmGRU.forward (or forwardSync);
 * - `forwardGPU`: GRU.forwardGPU on buffers — h0 as an array or a buffer, output and hN given or
 *   new, hN over h0 in place — read back (the wasm backend runs the same data as a forward);
 * - `stream`: createState, then step / stepGPU / encodeStep (wasm: stepSync, step), get, set,
 *   reset; sometimes autoregressive, each step's output buffer (wasm: the view stepSync returned)
 *   passed as the next x;
 * - `import`: the importers on files and tensors made from the drawn weights (safetensors, a
 *   PyTorch dict, an ONNX model from the benchmark's exporter, WebNN arrays), and on those files,
 *   the PyTorch/ONNX/TF.js fixtures truncated or with a bit flipped.
 * About 70% of the calls are valid: their results must match gruReference (float64, on the weights
 * as the kernels round them) within F32_TOLERANCE, on both backends. The rest are broken in exactly
 * one way and must throw (or reject with) a GRUError whose message starts with the argument's name
 * — the same message on both backends where both take the call. A corrupted file must give a
 * GRUError or a parse that GRU accepts. Every iteration runs inside validation, out-of-memory and
 * internal error scopes and must leave none of them, no uncaptured WebGPU error, no live GPU buffer,
 * no wasm memory and no worker behind; it gets `timeoutMs` before it counts as a hang.
 *
 * Iteration i draws from (seed, i) alone, so `npm run fuzz -- --seed=S --from=i --iterations=1`
 * replays it (every failure prints that line). With `pool`, the options that shape the kernels
 * come from `pool` drawn shapes, so that a CPU adapter compiles each pipeline once (the suite's case).
 *
 * Here: the run and its summary. ./draw.ts draws; ./calls.ts (create, forward, forwardGPU),
 * ./stream.ts and ./import.ts make the calls, with the checks of ./check.ts.
 */
import { liveWorkers } from '../../src/wasm/pool.js';
import { seededRandom } from '../suite/random.js';
import { countingBuffers } from '../suite/util.js';
import { Draw, drawOptions, drawShape, drawWeights, iterationSeed, type Shape } from './draw.js';
import { failureText, type Context } from './check.js';
import { createInvalid, forwardGPUInvalid, forwardGPUValid, forwardInvalid, forwardValid } from './calls.js';
import { streamInvalid, streamValid } from './stream.js';
import { importInvalid, importValid } from './import.js';

export type Operation = 'create' | 'forward' | 'forwardGPU' | 'stream' | 'import';
export const OPERATIONS: readonly Operation[] = ['create', 'forward', 'forwardGPU', 'stream', 'import'];

export interface FuzzOptions {
  seed: number;
  iterations: number;
  /** The first iteration's index (default 0). */
  from?: number;
  /** Draw the kernel-shaping options from this many shapes (default: a new shape every iteration). */
  pool?: number;
  /** Milliseconds an iteration may take before it counts as a hang (default 60 000: a CPU adapter shared with other work is slow); a hang ends the run. */
  timeoutMs?: number;
  /** Called with each failure as it happens. */
  onFailure?(failure: FuzzFailure): void;
  /** Called before each iteration (the Node driver's watchdog). */
  onIteration?(iteration: number): void;
}

export interface FuzzFailure {
  seed: number;
  iteration: number;
  /** The iteration's operation, validity and draw. */
  what: string;
  message: string;
  /** The command that replays this iteration alone. */
  repro: string;
}

export interface FuzzSummary {
  seed: number;
  from: number;
  /** Iterations run (fewer than asked when one hung). */
  iterations: number;
  valid: number;
  invalid: number;
  operations: Record<Operation, { valid: number; invalid: number }>;
  failures: FuzzFailure[];
  /** The iteration that hung, which ended the run: the device may still be busy with it. */
  hung?: number;
  ms: number;
}

const SCOPES: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/** One iteration: its operation, valid or not, then the work. */
async function iterate(ctx: Context, shape: Shape, count: (operation: Operation, valid: boolean) => void): Promise<void> {
  const { d } = ctx;
  const valid = d.chance(0.7);
  const operation = valid
    ? d.pick(['forward', 'forward', 'forwardGPU', 'forwardGPU', 'stream', 'stream', 'import'] as const)
    : d.pick(['create', 'create', 'forward', 'forward', 'forwardGPU', 'forwardGPU', 'stream', 'stream', 'import'] as const);
  count(operation, valid);
  ctx.what = `${operation}, ${valid ? 'valid' : 'invalid'}`;
  if (operation === 'import') return valid ? importValid(ctx, shape) : importInvalid(ctx, shape);
  // Streaming runs forward in time: it needs direction 'forward' (streamInvalid draws the others itself).
  const s = operation === 'stream' ? { ...shape, direction: 'forward' as const } : shape;
  const o = drawOptions(d, s);
  const w = drawWeights(d, o);
  switch (operation) {
    case 'create':
      return createInvalid(ctx, o, w);
    case 'forward':
      return valid ? forwardValid(ctx, o, w) : forwardInvalid(ctx, o, w);
    case 'forwardGPU':
      return valid ? forwardGPUValid(ctx, o, w) : forwardGPUInvalid(ctx, o, w);
    case 'stream':
      return valid ? streamValid(ctx, o, w) : streamInvalid(ctx, o, w);
  }
}

/**
 * Runs `iterations` iterations from `from` on `device` (which stays the caller's). A hang ends
 * the run (the device may still be working on it): `hung` says which.
 */
export async function runFuzz(device: GPUDevice, options: FuzzOptions): Promise<FuzzSummary> {
  const { seed, iterations, from = 0, pool, timeoutMs = 60_000 } = options;
  const shapes = pool
    ? Array.from({ length: pool }, (_, p) => drawShape(new Draw(seededRandom(iterationSeed(seed, -1 - p))), p))
    : undefined;
  const summary = emptySummary(seed, from);
  const operations = summary.operations;
  const uncaptured: string[] = [];
  const listener = (event: Event) => uncaptured.push((event as GPUUncapturedErrorEvent).error.message);
  const fail = (iteration: number, what: string, message: string) => {
    const repro = `npm run fuzz -- --seed=${seed} --from=${iteration} --iterations=1${pool ? ` --pool=${pool}` : ''}`;
    const failure: FuzzFailure = { seed, iteration, what, message, repro };
    summary.failures.push(failure);
    options.onFailure?.(failure);
  };
  const t0 = performance.now();
  device.addEventListener('uncapturederror', listener);
  try {
    await countingBuffers(device, async (live) => {
      for (let i = from; i < from + iterations; i++) {
        options.onIteration?.(i);
        const d = new Draw(seededRandom(iterationSeed(seed, i)));
        const ctx: Context = { device, d, what: '' };
        const shape = shapes ? d.pick(shapes) : drawShape(d);
        const buffers = live();
        const workers = liveWorkers();
        const before = uncaptured.length;
        for (const filter of SCOPES) device.pushErrorScope(filter);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const hang = new Promise<'hang'>((resolve) => {
          timer = setTimeout(() => resolve('hang'), timeoutMs);
        });
        const work = (async () => {
          await iterate(ctx, shape, (operation, valid) => {
            summary[valid ? 'valid' : 'invalid']++;
            operations[operation][valid ? 'valid' : 'invalid']++;
          });
          await device.queue.onSubmittedWorkDone();
        })().then(
          () => null,
          (error: unknown) => error,
        );
        const outcome = await Promise.race([work, hang]);
        clearTimeout(timer);
        summary.iterations++;
        if (outcome === 'hang') {
          fail(i, ctx.what, `no answer within ${timeoutMs} ms (a hang); the run stops here`);
          summary.hung = i;
          break;
        }
        const problems: string[] = [];
        if (outcome !== null) problems.push(failureText(outcome));
        for (const filter of [...SCOPES].reverse()) {
          const error = await device.popErrorScope();
          if (error) problems.push(`WebGPU ${filter} error: ${error.message}`);
        }
        // Errors of work that was not waited for arrive as events once the queue drains.
        await new Promise((resolve) => setTimeout(resolve, 0));
        for (const m of uncaptured.slice(before)) problems.push(`uncaptured WebGPU error: ${m}`);
        if (live() !== buffers) problems.push(`${live() - buffers} GPU buffers left alive`);
        if (liveWorkers() !== workers) problems.push(`${liveWorkers() - workers} wasm workers left running`);
        if (problems.length > 0) fail(i, ctx.what, problems.join('\n'));
      }
    });
  } finally {
    device.removeEventListener('uncapturederror', listener);
    summary.ms = performance.now() - t0;
  }
  return summary;
}

/** A summary of no iterations from `from`, to add runs to (the Node driver runs one per device). */
export function emptySummary(seed: number, from: number): FuzzSummary {
  const operations = Object.fromEntries(OPERATIONS.map((op) => [op, { valid: 0, invalid: 0 }])) as FuzzSummary['operations'];
  return { seed, from, iterations: 0, valid: 0, invalid: 0, operations, failures: [], ms: 0 };
}

/** Adds the counts and failures of `s`, the run that follows those of `total`, to `total`. */
export function addSummary(total: FuzzSummary, s: FuzzSummary): void {
  total.iterations += s.iterations;
  total.valid += s.valid;
  total.invalid += s.invalid;
  for (const op of OPERATIONS) {
    total.operations[op].valid += s.operations[op].valid;
    total.operations[op].invalid += s.operations[op].invalid;
  }
  total.failures.push(...s.failures);
  if (s.hung !== undefined) total.hung ??= s.hung;
  total.ms += s.ms;
}

/** The summary in a few lines: counts, failures (with their reproductions, unless `listFailures` is false), time. */
export function formatSummary(s: FuzzSummary, listFailures = true): string {
  const lines = [
    `fuzz: seed ${s.seed}, iterations ${s.from}..${s.from + s.iterations - 1} (${s.iterations}): ${s.valid} valid, ${s.invalid} invalid`,
    ...OPERATIONS.map(
      (op) =>
        `  ${op.padEnd(10)} ${String(s.operations[op].valid).padStart(6)} valid ${String(s.operations[op].invalid).padStart(6)} invalid`,
    ),
    `  failures: ${s.failures.length}${s.hung !== undefined ? ` (iteration ${s.hung} hung)` : ''}`,
    ...(listFailures ? s.failures : []).map(
      (f) => `    #${f.iteration} ${f.what}\n      ${f.message.replaceAll('\n', '\n      ')}\n      ${f.repro}`,
    ),
    `  wall time: ${(s.ms / 1000).toFixed(1)} s`,
  ];
  return lines.join('\n');
}
