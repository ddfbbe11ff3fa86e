/**
 * The host-independent half of the benchmark: the runners of our GRU and of the CPU reference, the
 * correctness check every runner passes before it is timed, the adaptive timing loop and the
 * dispatch/submit counters. The browser page (bench/page/main.ts) adds the peers' runners; the Node
 * form (bench/node.ts) uses these alone. bench/run.mjs drives either one cell (config × runner) at
 * a time through `runCell`.
 *
 * What a cell measures:
 *   setup   creating the runner (GRU.create compiles its pipelines; a peer's session or model)
 *   first   setup + the first forward (the peers compile their kernels there; ours may run a
 *           schedule other than its best one there, while the rest compile in the background)
 *   warm    later forwards, after `settle` (ours: GRU.ready): median and min over up to maxReps,
 *           stopped early by budgetMs
 * Read-back is included wherever a runner returns a Float32Array; the GPU-resident forms
 * (`ours-gpu…`) are timed to `device.queue.onSubmittedWorkDone()`.
 *
 * Our CPU backend runs here too (`ours-wasm…`, WasmGRU, on 1 thread and on every thread of the
 * host), and `ours-auto` (createGRU with backend 'auto' and the harness's device) reports which
 * backend it picked and why: on a CPU adapter that is the wasm one.
 */
import { createGRU, GRU, GRUError, gruReference, WasmGRU, type GRUOptions, type GRUWeights } from '../../src/index.js';
import {
  CONFIGS,
  configById,
  flops,
  gruOptions,
  makeData,
  maxAbsDiff,
  numDirections,
  type BenchConfig,
  type BenchData,
} from './configs.js';
import { withThreads } from './names.mjs';

export type CellStatus = 'ok' | 'check-failed' | 'error' | 'unsupported' | 'skipped' | 'timeout';

export interface Timing {
  /** Warm repetitions at most. */
  maxReps: number;
  /** Warm repetitions at least (when the budget runs out first), unless that many would overrun it: then 1. */
  minReps: number;
  /** Time for the warm repetitions of one cell, in ms. */
  budgetMs: number;
}

export interface CellSpec {
  config: string;
  runner: string;
  timing: Timing;
}

export interface CellResult {
  config: string;
  runner: string;
  status: CellStatus;
  /** Why it is not 'ok' (the error or the check), or a remark. */
  message?: string;
  setupMs?: number;
  /** setup + first forward */
  firstMs?: number;
  medianMs?: number;
  minMs?: number;
  reps?: number;
  /** In one warm forward. */
  dispatches?: number;
  submits?: number;
  /** At the median. */
  gflops?: number;
  maxDiff?: number;
  tolerance?: number;
  checkedAgainst?: string;
  /** CPU threads the runner ran on (the wasm runners; for a peer, what it reports after setup). */
  threads?: number;
}

export type RunnerFamily = 'ours' | 'reference' | 'peer';

export interface RunnerDesc {
  id: string;
  family: RunnerFamily;
  /**
   * The runner whose time is the denominator of this one's ratio; a list: the fastest of them in
   * each config (ours-auto against the best of ours and ours-wasm at either thread count).
   */
  baseline: string | readonly string[] | null;
  what: string;
}

/** One runner, set up for one config. */
export interface RunnerInstance {
  /** One forward (or, for config S, one streaming step). */
  run(): Promise<void>;
  /** The output of the last run, [T, B, D·H] (S: [B, H]); may read back from the GPU. */
  output(): Promise<Float32Array>;
  dispose(): Promise<void> | void;
  /**
   * Untimed, between the first forward and the warm ones: ours waits for GRU.ready, so that the
   * warm forwards run the schedule 'auto' picks once every one has compiled (a streaming runner
   * then makes its state anew: a state keeps the schedule it was made with).
   */
  settle?(): Promise<void>;
  /** CPU threads it runs on, where that is a setting (the wasm runners). */
  threads?: number;
  /** A remark for the cell's message (ours-auto: the backend it picked and why). */
  note?: string;
}

export interface RunnerDef extends RunnerDesc {
  /** The output to compare with: ours with this resetAfter; null: not checked (it is the baseline). */
  check: { resetAfter: boolean; tolerance: number } | null;
  /** Work done before the clock starts (weight conversion, model encoding). */
  prepare?(ctx: ConfigContext): Promise<unknown> | unknown;
  create(ctx: ConfigContext, prepared: unknown): Promise<RunnerInstance>;
}

/** Per-config state shared by its cells: the data, and our output that the others are checked against. */
export class ConfigContext {
  readonly data: BenchData;
  private readonly expectedOutputs = new Map<boolean, Promise<{ output: Float32Array; source: string }>>();

  constructor(
    readonly config: BenchConfig,
    readonly device: GPUDevice,
  ) {
    this.data = makeData(config);
  }

  options(resetAfter = true): GRUOptions {
    return gruOptions(this.config, resetAfter);
  }

  /** [T, B, I], or for S the one step [B, I]. */
  get input(): Float32Array {
    return this.data.input;
  }

  setExpected(resetAfter: boolean, output: Float32Array): void {
    if (!this.expectedOutputs.has(resetAfter))
      this.expectedOutputs.set(resetAfter, Promise.resolve({ output, source: oursName(resetAfter) }));
  }

  /**
   * Our GRU.forward's output for this data (computed, untimed, when the runner `ours` did not run
   * first). Where our GRU fails, the CPU reference's, so that the peers are still checked.
   */
  expected(resetAfter: boolean): Promise<{ output: Float32Array; source: string }> {
    let p = this.expectedOutputs.get(resetAfter);
    if (!p) {
      const { steps, batch } = this.config;
      p = (async () => {
        try {
          const gru = await GRU.create(this.device, this.options(resetAfter), this.data.weights);
          try {
            return { output: (await gru.forward(this.input, { steps, batch })).output, source: oursName(resetAfter) };
          } finally {
            gru.destroy();
          }
        } catch (error) {
          const output = gruReference(this.options(resetAfter), this.data.weights, this.input, { steps, batch }).output;
          return { output, source: `reference (${oursName(resetAfter)} failed: ${message(error)})` };
        }
      })();
      this.expectedOutputs.set(resetAfter, p);
    }
    return p;
  }
}

const oursName = (resetAfter: boolean) => (resetAfter ? 'ours' : 'ours-ra0');

// --- counters ------------------------------------------------------------------------------------

export interface Counts {
  dispatches: number;
  submits: number;
}

/**
 * Counts compute dispatches and queue submits of everything in this realm (ours and the peers) by
 * wrapping the WebGPU prototypes. Idempotent. Returns null where the host has no such classes.
 */
export function installCounters(
  scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>,
): { reset(): void; read(): Counts } | null {
  const pass = scope.GPUComputePassEncoder as { prototype: Record<string, unknown> } | undefined;
  const queue = scope.GPUQueue as { prototype: Record<string, unknown> } | undefined;
  if (!pass?.prototype || !queue?.prototype) return null;
  const key = Symbol.for('webgpu-gru.bench.counts');
  const holder = scope as unknown as Record<symbol, Counts | undefined>;
  if (!holder[key]) {
    const counts: Counts = { dispatches: 0, submits: 0 };
    holder[key] = counts;
    const wrap = (proto: Record<string, unknown>, name: string, field: keyof Counts) => {
      const original = proto[name];
      if (typeof original !== 'function') return;
      proto[name] = function (this: unknown, ...args: unknown[]) {
        counts[field]++;
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      };
    };
    wrap(pass.prototype, 'dispatchWorkgroups', 'dispatches');
    wrap(pass.prototype, 'dispatchWorkgroupsIndirect', 'dispatches');
    wrap(queue.prototype, 'submit', 'submits');
  }
  const counts = holder[key]!;
  return {
    reset() {
      counts.dispatches = 0;
      counts.submits = 0;
    },
    read: () => ({ ...counts }),
  };
}

// --- our runners ---------------------------------------------------------------------------------

const F32 = 4;
const BUFFER_STORAGE = 0x80;
const BUFFER_COPY_SRC = 0x04;
const BUFFER_COPY_DST = 0x08;
const BUFFER_MAP_READ = 0x01;

/** The kernel schedules this build of GRU offers (besides 'auto'), or [] before it had any. */
export function ourSchedules(): string[] {
  const s = (GRU as unknown as { schedules?: unknown }).schedules;
  return Array.isArray(s) ? s.filter((x): x is string => typeof x === 'string' && x !== 'auto') : [];
}

/** Weight formats besides 'f32', with the tolerance their rounding needs. */
const WEIGHT_FORMATS = { f16: 1e-2, int8: 5e-2 } as const;

export const DEFAULT_TOLERANCE = 1e-4;

async function readBuffer(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
  const staging = device.createBuffer({ label: 'bench read-back', size: bytes, usage: BUFFER_MAP_READ | BUFFER_COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(1);
    return new Float32Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}

/** Our array API: GRU.forward, or for S createState + step; read-back included. */
async function oursArrays(ctx: ConfigContext, options: GRUOptions, weights: GRUWeights[], keepAs: boolean | null): Promise<RunnerInstance> {
  return oursArraysOf(ctx, await GRU.create(ctx.device, options, weights), keepAs);
}

/** The same on a GRU made by the caller (GRU.create, or createGRU where it picked WebGPU). */
function oursArraysOf(ctx: ConfigContext, gru: GRU, keepAs: boolean | null): RunnerInstance {
  const c = ctx.config;
  let last: Float32Array | undefined;
  const output = async () => {
    if (keepAs !== null) ctx.setExpected(keepAs, last!);
    return last!;
  };
  if (c.streaming) {
    let state = gru.createState(c.batch);
    return {
      async run() {
        last = await gru.step(ctx.input, state);
      },
      output,
      async settle() {
        await gru.ready;
        state.destroy();
        state = gru.createState(c.batch);
      },
      dispose: () => gru.destroy(),
    };
  }
  return {
    async run() {
      last = (await gru.forward(ctx.input, { steps: c.steps, batch: c.batch })).output;
    },
    output,
    settle: () => gru.ready,
    dispose: () => gru.destroy(),
  };
}

/** Our GPU-buffer API: forwardGPU (S: stepGPU) into buffers made once, timed to onSubmittedWorkDone. */
async function oursGPU(ctx: ConfigContext, options: GRUOptions): Promise<RunnerInstance> {
  const c = ctx.config;
  const device = ctx.device;
  const gru = await GRU.create(device, options, ctx.data.weights);
  const D = numDirections(c);
  const buffers: GPUBuffer[] = [];
  const make = (label: string, bytes: number, usage: number) => {
    const b = device.createBuffer({ label: `bench ${label}`, size: bytes, usage });
    buffers.push(b);
    return b;
  };
  const input = make('input', ctx.input.byteLength, BUFFER_STORAGE | BUFFER_COPY_DST);
  device.queue.writeBuffer(input, 0, ctx.input as Float32Array<ArrayBuffer>);
  const dispose = () => {
    gru.destroy();
    for (const b of buffers) b.destroy();
  };
  if (c.streaming) {
    let state = gru.createState(c.batch);
    let out: GPUBuffer | undefined;
    return {
      async run() {
        out = gru.stepGPU(input, state);
        await device.queue.onSubmittedWorkDone();
      },
      output: () => readBuffer(device, out!, c.batch * c.hiddenSize * F32),
      async settle() {
        await gru.ready;
        state.destroy();
        state = gru.createState(c.batch);
      },
      dispose,
    };
  }
  const outBytes = c.steps * c.batch * D * c.hiddenSize * F32;
  const output = make('output', outBytes, BUFFER_STORAGE | BUFFER_COPY_SRC | BUFFER_COPY_DST);
  const hN = make('hN', c.numLayers * D * c.batch * c.hiddenSize * F32, BUFFER_STORAGE | BUFFER_COPY_SRC | BUFFER_COPY_DST);
  return {
    async run() {
      gru.forwardGPU(input, { steps: c.steps, batch: c.batch, output, hN });
      await device.queue.onSubmittedWorkDone();
    },
    output: () => readBuffer(device, output, outBytes),
    settle: () => gru.ready,
    dispose,
  };
}

/**
 * Our CPU backend: WasmGRU.forward (S: createState + stepSync into an array made once). `gru` is
 * made by the caller (WasmGRU.create, or createGRU where it picked the wasm backend).
 */
function oursWasm(ctx: ConfigContext, gru: WasmGRU): RunnerInstance {
  const c = ctx.config;
  let last: Float32Array | undefined;
  const note = `${gru.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}, ${gru.threads} thread${gru.threads > 1 ? 's' : ''}`;
  const output = async () => last!;
  if (c.streaming) {
    const state = gru.createState(c.batch);
    const out = new Float32Array(c.batch * c.hiddenSize);
    return {
      async run() {
        last = gru.stepSync(ctx.input, state, out);
      },
      output,
      dispose: () => gru.destroy(),
      threads: gru.threads,
      note,
    };
  }
  return {
    async run() {
      last = (await gru.forward(ctx.input, { steps: c.steps, batch: c.batch })).output;
    },
    output,
    dispose: () => gru.destroy(),
    threads: gru.threads,
    note,
  };
}

/** createGRU with backend 'auto' and the harness's device; the cell's message says what it picked and why. */
async function oursAuto(ctx: ConfigContext): Promise<RunnerInstance> {
  const gru = await createGRU(ctx.options(true), ctx.data.weights, { backend: 'auto', device: ctx.device });
  const note = `picked ${gru.backend}: ${gru.reason}`;
  if (gru instanceof WasmGRU) {
    const instance = oursWasm(ctx, gru);
    return { ...instance, note: `${note} (${instance.note})` };
  }
  return { ...oursArraysOf(ctx, gru, null), note };
}

/**
 * The runners of ours and of the reference; the schedules and weight formats this build offers.
 * `threads`: every thread of the host (navigator.hardwareConcurrency, os.availableParallelism()),
 * for the wasm runners' second thread count (none when it is 1).
 */
export function ourRunners(threads: number): RunnerDef[] {
  const defs: RunnerDef[] = [
    {
      id: 'ours',
      family: 'ours',
      baseline: null,
      what: 'GRU.forward, read-back included (S: createState + step)',
      check: null,
      create: (ctx) => oursArrays(ctx, ctx.options(true), ctx.data.weights, true),
    },
    {
      id: 'ours-gpu',
      family: 'ours',
      baseline: 'ours',
      what: 'GRU.forwardGPU, GPU-resident, to onSubmittedWorkDone (S: stepGPU)',
      check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
      create: (ctx) => oursGPU(ctx, ctx.options(true)),
    },
    {
      id: 'ours-ra0',
      family: 'ours',
      baseline: null,
      what: 'GRU.forward with resetAfter false: the like-for-like baseline of tfjs',
      check: null,
      create: (ctx) => oursArrays(ctx, ctx.options(false), ctx.data.weights, false),
    },
  ];
  // Our CPU backend on 1 thread and on every thread; ORT's and tfjs' wasm runners are compared
  // with these at equal thread counts (tfjs with the resetAfter false ones).
  const counts = threads > 1 ? [1, threads] : [1];
  for (const t of counts) {
    defs.push({
      id: withThreads('ours-wasm', t),
      family: 'ours',
      baseline: t === 1 ? 'ours' : 'ours-wasm',
      what: `WasmGRU.forward on ${t} thread${t > 1 ? 's' : ''} (S: createState + stepSync, on the calling thread)`,
      check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
      create: async (ctx) => oursWasm(ctx, await WasmGRU.create(ctx.options(true), ctx.data.weights, { threads: t })),
    });
  }
  for (const t of counts) {
    defs.push({
      id: withThreads('ours-wasm-ra0', t),
      family: 'ours',
      baseline: null,
      what: `WasmGRU.forward with resetAfter false on ${t} thread${t > 1 ? 's' : ''}: the like-for-like baseline of tfjs-wasm`,
      check: { resetAfter: false, tolerance: DEFAULT_TOLERANCE },
      create: async (ctx) => oursWasm(ctx, await WasmGRU.create(ctx.options(false), ctx.data.weights, { threads: t })),
    });
  }
  defs.push({
    id: 'ours-auto',
    family: 'ours',
    // What 'auto' could have picked: WebGPU, or the wasm backend at either thread count.
    baseline: ['ours', ...counts.map((t) => withThreads('ours-wasm', t))],
    what: "createGRU with backend 'auto' and this device: the backend it picks, and why, in the cell's message",
    check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
    create: (ctx) => oursAuto(ctx),
  });
  for (const schedule of ourSchedules()) {
    defs.push({
      id: `ours-gpu:${schedule}`,
      family: 'ours',
      baseline: 'ours-gpu',
      what: `GRU.forwardGPU with schedule '${schedule}'`,
      check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
      create: (ctx) => oursGPU(ctx, { ...ctx.options(true), schedule } as GRUOptions),
    });
  }
  for (const [format, tolerance] of Object.entries(WEIGHT_FORMATS)) {
    defs.push({
      id: `ours-gpu:${format}`,
      family: 'ours',
      baseline: 'ours-gpu',
      what: `GRU.forwardGPU with weightFormat '${format}'`,
      check: { resetAfter: true, tolerance },
      create: (ctx) => oursGPU(ctx, { ...ctx.options(true), weightFormat: format } as GRUOptions),
    });
  }
  defs.push({
    id: 'reference',
    family: 'reference',
    baseline: 'ours',
    what: 'gruReference: the CPU reference (JS, float64 accumulation); its check validates ours',
    check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
    async create(ctx) {
      const c = ctx.config;
      const options = ctx.options(true);
      let last: Float32Array | undefined;
      return {
        async run() {
          last = gruReference(options, ctx.data.weights, ctx.input, { steps: c.steps, batch: c.batch }).output;
        },
        output: async () => last!,
        dispose() {},
      };
    },
  });
  return defs;
}

// --- the timing loop -----------------------------------------------------------------------------

const now = () => performance.now();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export interface HarnessInfo {
  configs: BenchConfig[];
  runners: RunnerDesc[];
  schedules: string[];
  counters: boolean;
}

export interface Harness {
  info(): HarnessInfo;
  runCell(spec: CellSpec): Promise<CellResult>;
  /** Drops the cached config data (between configs, to free memory). */
  release(): void;
}

export function createHarness(device: GPUDevice, runners: readonly RunnerDef[]): Harness {
  const counters = installCounters();
  const byId = new Map(runners.map((r) => [r.id, r]));
  let ctx: ConfigContext | undefined;

  async function runCell(spec: CellSpec): Promise<CellResult> {
    const def = byId.get(spec.runner);
    const base: CellResult = { config: spec.config, runner: spec.runner, status: 'error' };
    if (!def) return { ...base, message: `no runner ${JSON.stringify(spec.runner)}` };
    const config = configById(spec.config);
    if (ctx?.config.id !== config.id) ctx = new ConfigContext(config, device);
    const c = ctx;
    const gflop = flops(config) / 1e9;

    let prepared: unknown;
    try {
      prepared = await def.prepare?.(c);
    } catch (error) {
      return { ...base, message: `prepare: ${message(error)}` };
    }
    const t0 = now();
    let instance: RunnerInstance;
    try {
      instance = await def.create(c, prepared);
    } catch (error) {
      // A GRUError from create is how this build says that it lacks an option (a weight format).
      return { ...base, status: error instanceof GRUError ? 'unsupported' : 'error', message: message(error) };
    }
    const result: CellResult = { ...base, setupMs: now() - t0 };
    if (instance.threads !== undefined) result.threads = instance.threads;
    if (instance.note !== undefined) result.message = instance.note;
    try {
      await instance.run();
      result.firstMs = now() - t0;
      const out = await instance.output();
      if (def.check) {
        const expected = await c.expected(def.check.resetAfter);
        result.maxDiff = maxAbsDiff(out, expected.output);
        result.tolerance = def.check.tolerance;
        result.checkedAgainst = expected.source;
        if (!(result.maxDiff <= def.check.tolerance)) {
          const what = `max |diff| ${result.maxDiff.toExponential(2)} > ${def.check.tolerance} against ${result.checkedAgainst}${result.message ? ` (${result.message})` : ''}`;
          // The reference is the ground truth: there, the one that is wrong is ours.
          const blame =
            def.family === 'reference' ? ` — OURS IS WRONG here (${result.checkedAgainst} disagrees with the CPU reference)` : '';
          return { ...result, status: 'check-failed', message: `${what}${blame}` };
        }
      }
      await instance.settle?.();
      // The first warm forward is the one counted.
      const times: number[] = [];
      counters?.reset();
      let t = now();
      await instance.run();
      times.push(now() - t);
      if (counters) Object.assign(result, counters.read());
      const { maxReps, budgetMs } = spec.timing;
      // A forward so slow that minReps of them would overrun the budget gets the one counted rep.
      const minReps = times[0]! * spec.timing.minReps > budgetMs ? 1 : spec.timing.minReps;
      let spent = times[0]!;
      while (times.length < maxReps && (spent < budgetMs || times.length < minReps)) {
        t = now();
        await instance.run();
        const dt = now() - t;
        times.push(dt);
        spent += dt;
      }
      result.medianMs = median(times);
      result.minMs = Math.min(...times);
      result.reps = times.length;
      result.gflops = gflop / (result.medianMs / 1000);
      result.status = 'ok';
      return result;
    } catch (error) {
      return { ...result, status: 'error', message: result.message ? `${message(error)} (${result.message})` : message(error) };
    } finally {
      try {
        await instance.dispose();
      } catch {
        // disposal errors do not change the measurement
      }
    }
  }

  return {
    info: () => ({
      configs: [...CONFIGS],
      runners: runners.map(({ id, family, baseline, what }) => ({ id, family, baseline, what })),
      schedules: ourSchedules(),
      counters: counters !== null,
    }),
    runCell,
    release() {
      ctx = undefined;
    },
  };
}
