/**
 * The soak: many calls of every kind on one device, for what one call cannot show — a buffer, a
 * state or wasm memory kept per call, a cache that grows, a call that gets slower as the run goes
 * on. `runSoak` serves `npm run soak` (scripts/soak.mjs: 10 000 forwards and 100 000 steps in Node,
 * with memory and timing) and the suite's short soak below (small counts, in Node and Chromium:
 * buffers and results only; timing on a shared CI machine says nothing).
 *
 * What runs, interleaved so that every kind of call sees the same machine over the run:
 * - forwards of mixed shapes (T in [1, 12], B in [1, 6], h0 and seqLengths now and then, seeded) on
 *   three GRUs of different options, round robin; every fourth a `forwardGPU` on an input buffer of
 *   its own, whose result buffers the caller destroys;
 * - the same forwards on three `WasmGRU`s of the same options (one of them on a worker pool);
 * - streaming steps, `steps / forwards` per forward, alternately `step` on one state and `stepGPU`
 *   on another; as many `stepSync` on two wasm states; once in every 1000 forwards a state is
 *   replaced by a new one that starts from its last h (get, createState, destroy);
 * - every `checkEvery`-th call of each kind checked against `gruReference` (a step from the state it
 *   started from, read back first) at F32_TOLERANCE.
 * Live GPU buffers are counted from before the first GRU to after the last is destroyed.
 */
import {
  GRU,
  gruReference,
  WasmGRU,
  type GRUOptions,
  type GRUResult,
  type GRUState,
  type RunArgs,
  type WasmGRUState,
} from '../../src/index.js';
import { liveWorkers } from '../../src/wasm/pool.js';
import type { Case } from './registry.js';
import { assertClose, countingBuffers, F32_TOLERANCE, randomWeights, readBuffer, rng, uniform, uploadBuffer } from './util.js';

export const CALL_KINDS = ['forward', 'forwardGPU', 'step', 'stepGPU', 'wasm forward', 'wasm stepSync'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

/** Calls in each timing window: the first and the last WINDOW calls of a kind are compared. */
export const WINDOW = 1000;

export interface SoakOptions {
  /** Forwards on each backend (GPU forward and forwardGPU together; wasm forward). */
  forwards: number;
  /** Streaming steps on each backend (GPU step and stepGPU together; wasm stepSync). */
  steps: number;
  /** Every this many calls of a kind, one is checked against the reference. Default 500. */
  checkEvery?: number;
  /** Forwards before the 'warm' sample. Default: a tenth of `forwards`. */
  warmup?: number;
  /**
   * Called at 'start' (nothing made yet), 'warm' (after the warm-up) and 'end' (after the last
   * call, everything still live), each time once the device is idle; awaited.
   */
  sample?(phase: 'start' | 'warm' | 'end'): void | Promise<void>;
  /** The process's CPU time in ms (Node: process.cpuUsage), timed beside the wall clock. */
  cpuMs?(): number;
  /** Called after every 1000th forward. */
  progress?(forwards: number): void;
}

/** Median milliseconds per call over the first and over the last `window` calls of a kind (and on the CPU clock, when given). */
export interface KindTiming {
  count: number;
  /** Calls in each window: WINDOW, or half the calls when there are fewer than 2·WINDOW. */
  window: number;
  first: number;
  last: number;
  firstCpu?: number;
  lastCpu?: number;
}

export interface SoakReport {
  buffers: { start: number; warm: number; end: number; afterDestroy: number };
  /** Calls checked against the reference, per kind. */
  checked: Record<CallKind, number>;
  /** The largest |result − reference| over the checks. */
  maxAbs: number;
  timing: Record<CallKind, KindTiming>;
  wasm: { bytesAfterDestroy: number; workersLeft: number };
  seconds: number;
}

/** The first WINDOW durations of a kind, and the last WINDOW in a ring; preallocated, so the run allocates none for them. */
class Durations {
  count = 0;
  private readonly first = new Float64Array(WINDOW);
  private readonly ring = new Float64Array(WINDOW);
  private readonly firstCpu = new Float64Array(WINDOW);
  private readonly ringCpu = new Float64Array(WINDOW);

  add(ms: number, cpu: number): void {
    if (this.count < WINDOW) {
      this.first[this.count] = ms;
      this.firstCpu[this.count] = cpu;
    }
    this.ring[this.count % WINDOW] = ms;
    this.ringCpu[this.count % WINDOW] = cpu;
    this.count++;
  }

  timing(withCpu: boolean): KindTiming {
    const n = this.count;
    const window = Math.min(WINDOW, Math.floor(n / 2));
    const lastOf = (ring: Float64Array) => Float64Array.from({ length: window }, (_, i) => ring[(n - window + i) % WINDOW]);
    const t: KindTiming = { count: n, window, first: median(this.first.subarray(0, window)), last: median(lastOf(this.ring)) };
    if (withCpu) {
      t.firstCpu = median(this.firstCpu.subarray(0, window));
      t.lastCpu = median(lastOf(this.ringCpu));
    }
    return t;
  }
}

function median(values: Float64Array): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The three networks, on both backends: one direction, a bidirectional batch-first stack, a 3-layer stack. */
const NETWORKS: GRUOptions[] = [
  { inputSize: 5, hiddenSize: 16 },
  { inputSize: 7, hiddenSize: 12, numLayers: 2, direction: 'bidirectional', resetAfter: false, batchFirst: true },
  { inputSize: 3, hiddenSize: 20, numLayers: 3, gateOrder: 'zrn', clip: 3 },
];
/** The wasm twin of each network: NETWORKS[1]'s runs every forward on a worker pool of 2 threads. */
const WASM_BACKENDS = [{ threads: 1 }, { threads: 2, poolThreshold: 0 }, { threads: 1 }];
/** Streaming: NETWORKS[0] with 1 row (step), NETWORKS[2] with 3 rows (stepGPU); the same on wasm (stepSync). */
const STREAMS = [
  { network: 0, batch: 1 },
  { network: 2, batch: 3 },
];

interface Forward {
  network: number;
  input: Float32Array;
  args: RunArgs;
}

function randomForward(random: () => number, network: number): Forward {
  const o = NETWORKS[network];
  const D = o.direction === 'bidirectional' ? 2 : 1;
  const steps = 1 + Math.floor(random() * 12);
  const batch = 1 + Math.floor(random() * 6);
  const args: RunArgs = { steps, batch };
  if (random() < 1 / 3) args.h0 = uniform(random, (o.numLayers ?? 1) * D * batch * o.hiddenSize, 1);
  if (random() < 1 / 4) args.seqLengths = Int32Array.from({ length: batch }, () => Math.floor(random() * (steps + 1)));
  return { network, input: uniform(random, steps * batch * o.inputSize, 1), args };
}

/** One GPU stream and its wasm twin; the GPU one steps through `x` with stepGPU when `gpuX` is set. */
interface Stream {
  network: number;
  batch: number;
  gpu: GRUState;
  wasm: WasmGRUState;
  gpuX?: GPUBuffer;
}

export async function runSoak(device: GPUDevice, options: SoakOptions): Promise<SoakReport> {
  const { forwards, steps, cpuMs } = options;
  const checkEvery = options.checkEvery ?? 500;
  const warmup = options.warmup ?? Math.floor(forwards / 10);
  const durations = new Map(CALL_KINDS.map((k) => [k, new Durations()]));
  const checked = Object.fromEntries(CALL_KINDS.map((k) => [k, 0])) as Record<CallKind, number>;
  let maxAbs = 0;
  const began = performance.now();
  const weights = NETWORKS.map((o, i) => randomWeights(o, 900 + i));

  /** Whether the next call of `kind` is one to check against the reference. */
  const due = (kind: CallKind) => durations.get(kind)!.count % checkEvery === 0;
  /** Runs `call`, timing it on the wall clock and the CPU clock. */
  const timed = async <T>(kind: CallKind, call: () => Promise<T> | T): Promise<T> => {
    const c0 = cpuMs?.() ?? 0;
    const t0 = performance.now();
    const value = await call();
    const t1 = performance.now();
    durations.get(kind)!.add(t1 - t0, (cpuMs?.() ?? 0) - c0);
    return value;
  };
  const compare = (kind: CallKind, what: string, got: GRUResult, want: GRUResult) => {
    const label = `${kind} call ${durations.get(kind)!.count - 1} (${what})`;
    const a = assertClose(`${label} output`, got.output, want.output, F32_TOLERANCE);
    const b = assertClose(`${label} hN`, got.hN, want.hN, F32_TOLERANCE);
    maxAbs = Math.max(maxAbs, a.maxAbs, b.maxAbs);
    checked[kind]++;
  };
  const compareForward = (kind: CallKind, f: Forward, got: GRUResult) => {
    const want = gruReference(NETWORKS[f.network], weights[f.network], f.input, f.args);
    compare(kind, `network ${f.network}, T = ${f.args.steps}, B = ${f.args.batch}`, got, want);
  };
  /** A step's output and new state against one reference step from the state it started from. */
  const compareStep = (kind: CallKind, s: Stream, x: Float32Array, before: Float32Array, got: GRUResult) => {
    const want = gruReference(NETWORKS[s.network], weights[s.network], x, { steps: 1, batch: s.batch, h0: before });
    compare(kind, `network ${s.network}, B = ${s.batch}`, got, want);
  };

  const gpus: GRU[] = [];
  const wasms: WasmGRU[] = [];
  const streams: Stream[] = [];

  async function gpuForward(f: Forward, viaBuffers: boolean): Promise<void> {
    const gru = gpus[f.network];
    if (!viaBuffers) {
      const check = due('forward');
      const got = await timed('forward', () => gru.forward(f.input, f.args));
      if (check) compareForward('forward', f, got);
      return;
    }
    const check = due('forwardGPU');
    const input = uploadBuffer(device, f.input, GPUBufferUsage.STORAGE);
    const result = await timed('forwardGPU', async () => {
      const r = gru.forwardGPU(input, f.args);
      await device.queue.onSubmittedWorkDone();
      return r;
    });
    input.destroy();
    if (check) {
      const o = NETWORKS[f.network];
      const D = o.direction === 'bidirectional' ? 2 : 1;
      const L = o.numLayers ?? 1;
      const { steps: T, batch: B } = f.args;
      const [output, hN] = await Promise.all([
        readBuffer(device, result.output, T * B * D * o.hiddenSize * 4),
        readBuffer(device, result.hN, L * D * B * o.hiddenSize * 4),
      ]);
      compareForward('forwardGPU', f, { output, hN });
    }
    result.output.destroy();
    result.hN.destroy();
  }

  /** One step of a stream on each backend: step or stepGPU on the GPU, stepSync on wasm. */
  async function stepBoth(s: Stream, x: Float32Array): Promise<void> {
    const gru = gpus[s.network];
    const kind: CallKind = s.gpuX ? 'stepGPU' : 'step';
    const before = due(kind) ? await s.gpu.get() : undefined;
    let y: Float32Array | undefined;
    if (s.gpuX) {
      const xBuffer = s.gpuX;
      const output = await timed('stepGPU', async () => {
        device.queue.writeBuffer(xBuffer, 0, x as Float32Array<ArrayBuffer>);
        const out = gru.stepGPU(xBuffer, s.gpu);
        await device.queue.onSubmittedWorkDone();
        return out;
      });
      if (before) y = await readBuffer(device, output, s.batch * NETWORKS[s.network].hiddenSize * 4);
    } else {
      y = await timed('step', () => gru.step(x, s.gpu));
    }
    if (before) compareStep(kind, s, x, before, { output: y!, hN: await s.gpu.get() });

    const wasmBefore = due('wasm stepSync') ? s.wasm.getSync() : undefined;
    const yw = await timed('wasm stepSync', () => wasms[s.network].stepSync(x, s.wasm));
    if (wasmBefore) compareStep('wasm stepSync', s, x, wasmBefore, { output: yw, hN: s.wasm.getSync() });
  }

  /**
   * One forward of a fixed shape on each GPU GRU, so that each keeps the plan of that shape: live
   * buffers are then comparable from one sample to the next.
   */
  async function settlePlans(): Promise<void> {
    for (const [i, gru] of gpus.entries()) await gru.forward(new Float32Array(2 * NETWORKS[i].inputSize), { steps: 1, batch: 2 });
  }

  const buffers = { start: 0, warm: 0, end: 0, afterDestroy: 0 };
  let wasmBytes = 0;
  const workers = liveWorkers();
  await options.sample?.('start');
  await countingBuffers(device, async (live) => {
    buffers.start = live();
    try {
      for (const [i, o] of NETWORKS.entries()) {
        const gru = await GRU.create(device, o, weights[i]);
        // Every schedule 'auto' may pick compiled before the first call: the kept plans and the
        // states' plans are then the same from the warm-up to the end, and so is their buffer count.
        await gru.ready;
        gpus.push(gru);
        wasms.push(await WasmGRU.create(o, weights[i], WASM_BACKENDS[i]));
      }
      for (const [i, s] of STREAMS.entries()) {
        const stream: Stream = { ...s, gpu: gpus[s.network].createState(s.batch), wasm: wasms[s.network].createState(s.batch) };
        if (i % 2 === 1) {
          const bytes = s.batch * NETWORKS[s.network].inputSize * 4;
          stream.gpuX = device.createBuffer({ label: 'soak x', size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        }
        streams.push(stream);
      }
      const random = rng(901);
      let step = 0;
      for (let i = 0; i < forwards; i++) {
        const f = randomForward(random, i % NETWORKS.length);
        await gpuForward(f, i % 4 === 3);
        const check = due('wasm forward');
        const got = await timed('wasm forward', () => wasms[f.network].forward(f.input, f.args));
        if (check) compareForward('wasm forward', f, got);
        if (i % 1000 === 250) {
          // The first stream's states are replaced by new ones that carry on from the same h, before
          // this forward's steps: a state's plan makes its input and output buffers at its first step.
          const s = streams[0];
          const h = await s.gpu.get();
          s.gpu.destroy();
          s.gpu = gpus[s.network].createState(s.batch, { h0: h });
          const hw = s.wasm.getSync();
          s.wasm.destroy();
          s.wasm = wasms[s.network].createState(s.batch, { h0: hw });
        }
        // This forward's share of the steps, alternating between the streams.
        for (const end = Math.floor(((i + 1) * steps) / forwards); step < end; step++) {
          const s = streams[step % streams.length];
          await stepBoth(s, uniform(random, s.batch * NETWORKS[s.network].inputSize, 1));
        }
        if (i % 1000 === 999) options.progress?.(i + 1);
        if (i + 1 === warmup) {
          await settlePlans();
          buffers.warm = live();
          await device.queue.onSubmittedWorkDone();
          await options.sample?.('warm');
        }
      }
      await settlePlans();
      buffers.end = live();
      await device.queue.onSubmittedWorkDone();
      await options.sample?.('end');
    } finally {
      for (const s of streams) s.gpuX?.destroy();
      for (const g of gpus) g.destroy();
      for (const w of wasms) {
        w.destroy();
        wasmBytes += w.memoryBytes;
      }
    }
    buffers.afterDestroy = live();
  });

  return {
    buffers,
    checked,
    maxAbs,
    timing: Object.fromEntries(CALL_KINDS.map((k) => [k, durations.get(k)!.timing(cpuMs !== undefined)])) as Record<CallKind, KindTiming>,
    wasm: { bytesAfterDestroy: wasmBytes, workersLeft: liveWorkers() - workers },
    seconds: (performance.now() - began) / 1000,
  };
}

/** The short soak of the suite: leaks and results only. */
export const soakCases: Case[] = [
  {
    name: 'soak (short): 500 forwards of mixed shapes and 5000 steps per backend on one device; live buffers return to their start, results checked',
    timeoutMs: 120_000,
    async run(device) {
      const r = await runSoak(device, { forwards: 500, steps: 5000, checkEvery: 50 });
      if (r.buffers.afterDestroy !== r.buffers.start) {
        throw new Error(`live GPU buffers: ${r.buffers.start} at the start, ${r.buffers.afterDestroy} after every GRU was destroyed`);
      }
      if (r.buffers.end !== r.buffers.warm) {
        throw new Error(
          `live GPU buffers grew over the run with every GRU live: ${r.buffers.warm} after the warm-up, ${r.buffers.end} at the end`,
        );
      }
      if (r.wasm.bytesAfterDestroy !== 0)
        throw new Error(`${r.wasm.bytesAfterDestroy} bytes of wasm memory still allocated after destroy()`);
      if (r.wasm.workersLeft !== 0) throw new Error(`${r.wasm.workersLeft} workers left running after destroy()`);
      for (const kind of CALL_KINDS) {
        const calls = r.timing[kind].count;
        if (r.checked[kind] !== Math.ceil(calls / 50))
          throw new Error(`${kind}: ${r.checked[kind]} of ${calls} calls checked, expected every 50th`);
      }
    },
  },
];
