/**
 * Calls that overlap on one GRU, on the WebGPU GRU and on the wasm backend with a worker pool:
 * forwards of different shapes in one `Promise.all` (a `forwardGPU` among them), two streaming
 * states stepped at once, and `destroy()` while a forward or a step is in flight. The contract:
 * every call resolves to its own reference (F32_TOLERANCE against `gruReference`) or rejects with
 * a GRUError; none stays pending (SETTLE_MS); no promise is left rejected and unhandled; live GPU
 * buffers, wasm memory and workers return to their start; after `destroy()` every call throws the
 * destroyed-GRU GRUError.
 */
import {
  createGRU,
  GRU,
  GRUError,
  type GRUState,
  gruReference,
  WasmGRU,
  type GRUOptions,
  type GRUResult,
  type GRUWeights,
  type RunArgs,
} from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { stepMacs } from '../../src/wasm/gru.js';
import { liveWorkers } from '../../src/wasm/pool.js';
import type { Case } from './registry.js';
import {
  assertClose,
  countingBuffers,
  expectGRUError,
  F32_TOLERANCE,
  randomWeights,
  readBuffer,
  rng,
  uniform,
  uploadBuffer,
  withoutUnhandled,
} from './util.js';

/** Longest a call here may take to settle: each is a few milliseconds of work on a CPU adapter. */
const SETTLE_MS = 5_000;

const DESTROYED = /^this GRU: expected a live GRU, got one that was destroyed \(destroy\(\) was called\)$/;
const STATE_DESTROYED = /^state: expected a live GRUState, got one that was destroyed$/;

/** When `destroy()` comes, after the calls were made: each reaches the GRU at another point of its work. */
const MOMENTS: { name: string; wait?: () => Promise<unknown> }[] = [
  { name: 'at once' },
  { name: 'after a microtask', wait: () => Promise.resolve() },
  { name: 'after a task', wait: () => new Promise((resolve) => setTimeout(resolve, 0)) },
  { name: 'after 3 ms', wait: () => new Promise((resolve) => setTimeout(resolve, 3)) },
];

/** `promise`, or an Error naming `what` once SETTLE_MS have passed without it settling. */
function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${SETTLE_MS} ms`)), SETTLE_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A call in flight when its GRU was destroyed: its result must pass `check`, or it must reject with a GRUError. */
async function resultOrGRUError<T>(what: string, call: Promise<T>, check: (value: T) => void): Promise<void> {
  let value: T;
  try {
    value = await within(what, call);
  } catch (error) {
    if (error instanceof GRUError) return;
    throw new Error(
      `${what}: expected its result or a GRUError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
  }
  check(value);
}

/** One forward's data and its float64 reference. */
interface Job {
  label: string;
  input: Float32Array;
  args: RunArgs;
  want: GRUResult;
}

/** What a job's forward is given besides its input: an h0, per-row lengths (row 0 at full length). */
interface Extras {
  h0?: boolean;
  seqLengths?: boolean;
}

function job(label: string, o: GRUOptions, weights: GRUWeights[], seed: number, steps: number, batch: number, extras: Extras = {}): Job {
  const random = rng(seed);
  const D = o.direction === 'bidirectional' ? 2 : 1;
  const input = uniform(random, steps * batch * o.inputSize, 1);
  const args: RunArgs = { steps, batch };
  if (extras.h0) args.h0 = uniform(random, (o.numLayers ?? 1) * D * batch * o.hiddenSize, 1);
  if (extras.seqLengths) {
    args.seqLengths = Int32Array.from({ length: batch }, (_, b) => (b === 0 ? steps : Math.floor(random() * (steps + 1))));
  }
  const given = [extras.h0 && 'h0', extras.seqLengths && 'seqLengths'].filter(Boolean);
  return {
    label: `${label} (T = ${steps}, B = ${batch}${given.map((g) => `, ${g}`).join('')})`,
    input,
    args,
    want: gruReference(o, weights, input, args),
  };
}

function checkResult(j: Job, got: GRUResult): void {
  assertClose(`${j.label} output`, got.output, j.want.output, F32_TOLERANCE);
  assertClose(`${j.label} hN`, got.hN, j.want.hN, F32_TOLERANCE);
}

/** Cycled over the calls of a round. */
const ALL_EXTRAS: Extras[] = [{}, { h0: true, seqLengths: true }, { h0: true }];

/** Shapes (T, B) of the forwards issued together: repeats, and batches that 'auto' schedules differently. */
const SHAPES: [number, number][] = [
  [1, 1],
  [6, 3],
  [2, 5],
  [9, 1],
  [6, 3],
  [4, 2],
  [1, 4],
  [12, 2],
  [3, 17],
];

/** The GPU cases' GRUs: the streaming cases use STACK too, so that its pipelines are compiled once. */
const STACK: GRUOptions = { inputSize: 3, hiddenSize: 20, numLayers: 3 };
const FORWARD_OPTIONS: GRUOptions[] = [
  { inputSize: 5, hiddenSize: 17, numLayers: 2, direction: 'bidirectional', resetAfter: false, batchFirst: true },
  STACK,
];

/** A forwardGPU of `j` on its own input buffer, read back; its result buffers destroyed after. */
async function forwardGPURead(device: GPUDevice, gru: GRU, j: Job): Promise<GRUResult> {
  const input = uploadBuffer(device, j.input, GPUBufferUsage.STORAGE);
  const result = gru.forwardGPU(input, j.args);
  input.destroy();
  try {
    const [output, hN] = await Promise.all([
      readBuffer(device, result.output, j.want.output.length * 4),
      readBuffer(device, result.hN, j.want.hN.length * 4),
    ]);
    return { output, hN };
  } finally {
    result.output.destroy();
    result.hN.destroy();
  }
}

const gpuCases: Case[] = [
  {
    name: 'concurrency: Promise.all of forwards (and forwardGPU) of different shapes on one GRU, each equal to its reference',
    timeoutMs: 60_000,
    async run(device, env) {
      await withoutUnhandled(env, () =>
        countingBuffers(device, async (live) => {
          const start = live();
          for (const [g, o] of FORWARD_OPTIONS.entries()) {
            const weights = randomWeights(o, 300 + g);
            const gru = await GRU.create(device, o, weights);
            try {
              for (let round = 0; round < 3; round++) {
                const jobs = SHAPES.map(([T, B], i) =>
                  job(`GRU ${g} round ${round} call ${i}`, o, weights, 310 + 31 * round + i, T, B, ALL_EXTRAS[i % 3]),
                );
                // Every fourth call is a forwardGPU: it replaces the kept plan while forwards wait for their read-backs.
                const calls = jobs.map((j, i) =>
                  (i % 4 === 3 ? forwardGPURead(device, gru, j) : gru.forward(j.input, j.args)).then((got) => checkResult(j, got)),
                );
                await within(`GRU ${g} round ${round}`, Promise.all(calls));
              }
            } finally {
              gru.destroy();
            }
          }
          if (live() !== start) throw new Error(`${live() - start} buffers left live after the concurrent forwards`);
        }),
      );
    },
  },
  {
    name: 'concurrency: two states of one GRU stepped at once (step and stepGPU, a forward beside them), each equal to its own sequence',
    timeoutMs: 60_000,
    async run(device, env) {
      await withoutUnhandled(env, () =>
        countingBuffers(device, async (live) => {
          const start = live();
          const o = STACK;
          const weights = randomWeights(o, 320);
          const T = 16;
          const a = job('state A', o, weights, 321, T, 2);
          const b = job('state B', o, weights, 322, T, 3, { h0: true });
          const beside = job('forward beside the steps', o, weights, 324, 5, 4, { h0: true, seqLengths: true });
          const gru = await GRU.create(device, o, weights);
          try {
            const stateA = gru.createState(2);
            const stateB = gru.createState(3, { h0: b.args.h0 });
            const xB = device.createBuffer({ size: 3 * o.inputSize * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
            const H = o.hiddenSize;
            try {
              for (let t = 0; t < T; t++) {
                const x = (j: Job, B: number) => j.input.subarray(t * B * o.inputSize, (t + 1) * B * o.inputSize);
                const want = (j: Job, B: number) => j.want.output.subarray(t * B * H, (t + 1) * B * H);
                const stepB = async () => {
                  if (t % 2 === 0) return gru.step(x(b, 3), stateB);
                  device.queue.writeBuffer(xB, 0, x(b, 3) as Float32Array<ArrayBuffer>);
                  return readBuffer(device, gru.stepGPU(xB, stateB), 3 * H * 4);
                };
                const calls: Promise<void>[] = [
                  gru.step(x(a, 2), stateA).then((y) => void assertClose(`A step ${t}`, y, want(a, 2), F32_TOLERANCE)),
                  stepB().then((y) => void assertClose(`B step ${t}`, y, want(b, 3), F32_TOLERANCE)),
                ];
                if (t % 4 === 0) calls.push(gru.forward(beside.input, beside.args).then((got) => checkResult(beside, got)));
                await within(`round ${t}`, Promise.all(calls));
              }
              const [hA, hB] = await within('state.get()', Promise.all([stateA.get(), stateB.get()]));
              assertClose('state A at the end (hN)', hA, a.want.hN, F32_TOLERANCE);
              assertClose('state B at the end (hN)', hB, b.want.hN, F32_TOLERANCE);
            } finally {
              xB.destroy();
            }
          } finally {
            gru.destroy();
          }
          if (live() !== start) throw new Error(`${live() - start} buffers left live after the interleaved steps`);
        }),
      );
    },
  },
  {
    name: 'concurrency: destroy() while a forward and a step are in flight: each resolves to its reference or rejects with a GRUError',
    timeoutMs: 60_000,
    async run(device, env) {
      const o = STACK;
      const weights = randomWeights(o, 330);
      const j = job('forward', o, weights, 331, 10, 3, { h0: true, seqLengths: true });
      const s = job('step', o, weights, 332, 1, 2);
      const x = s.input;
      const stepWant = s.want.output;
      // A forward and a step in flight, each with its handler from the start: a call that rejects
      // while another is awaited is handled, not reported as unhandled.
      const inFlight = (gru: GRU, state: GRUState, when: string) =>
        Promise.all([
          resultOrGRUError(`forward, destroyed ${when}`, gru.forward(j.input, j.args), (got) => checkResult(j, got)),
          resultOrGRUError(
            `step, destroyed ${when}`,
            gru.step(x, state),
            (y) => void assertClose(`step, destroyed ${when}`, y, stepWant, F32_TOLERANCE),
          ),
        ]);
      const later = async (gru: GRU, state: GRUState) => {
        await expectGRUError(() => gru.forward(j.input, j.args), DESTROYED);
        await expectGRUError(() => gru.step(x, state), DESTROYED);
        await expectGRUError(() => gru.createState(1), DESTROYED);
        await expectGRUError(() => state.get(), STATE_DESTROYED);
      };
      await withoutUnhandled(env, () =>
        countingBuffers(device, async (live) => {
          const start = live();
          for (const m of MOMENTS) {
            const gru = await GRU.create(device, o, weights);
            const state = gru.createState(2);
            const gpuInput = uploadBuffer(device, j.input, GPUBufferUsage.STORAGE);
            const calls = inFlight(gru, state, m.name);
            // Submitted before destroy(): the caller's result buffers hold the whole forward.
            const gpu = gru.forwardGPU(gpuInput, j.args);
            if (m.wait) await m.wait();
            gru.destroy();
            await calls;
            assertClose(
              `forwardGPU output, GRU destroyed ${m.name}`,
              await readBuffer(device, gpu.output, j.want.output.length * 4),
              j.want.output,
              F32_TOLERANCE,
            );
            assertClose(
              `forwardGPU hN, GRU destroyed ${m.name}`,
              await readBuffer(device, gpu.hN, j.want.hN.length * 4),
              j.want.hN,
              F32_TOLERANCE,
            );
            await expectGRUError(() => gru.forwardGPU(gpuInput, j.args), DESTROYED);
            for (const b of [gpuInput, gpu.output, gpu.hN]) b.destroy();
            await later(gru, state);
          }
          if (live() !== start) throw new Error(`${live() - start} buffers left live after destroy() mid-flight`);
        }),
      );
      // A device that createGRU requested goes with its GRU: destroy() loses the device under the
      // calls in flight. Only where navigator.gpu gives one (a page; Node's suite has a device
      // alone), and at one moment: each new device compiles the pipelines again (5 s on SwiftShader).
      const gpu = typeof navigator === 'object' ? (navigator as { gpu?: GPU }).gpu : undefined;
      if (!gpu) return;
      await withoutUnhandled(env, async () => {
        const gru = (await createGRU(o, weights, { backend: 'webgpu', gpu })) as GRU;
        const state = gru.createState(2);
        const calls = inFlight(gru, state, 'at once, with the device createGRU requested');
        gru.destroy();
        await calls;
        await later(gru, state);
      });
    },
  },
];

const WASM_OPTIONS: GRUOptions = { inputSize: 9, hiddenSize: 33, numLayers: 2 };
/** Forwards of T·B ≥ 12 rows run on the pool, smaller ones on the calling thread. */
const WASM_BACKEND = { threads: 3, poolThreshold: 12 * stepMacs(resolveOptions(WASM_OPTIONS)) };

/** The wasm memory and workers a threaded GRU holds must be gone after destroy(). */
function checkFreed(label: string, gru: WasmGRU, workers: number): void {
  if (gru.memoryBytes !== 0) throw new Error(`${label}: ${gru.memoryBytes} bytes of wasm memory still allocated after destroy()`);
  if (liveWorkers() !== workers) throw new Error(`${label}: ${liveWorkers() - workers} workers left running after destroy()`);
}

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

const wasmCases: Case[] = [
  {
    name: 'concurrency (wasm): Promise.all of forwards of different shapes on a threaded WasmGRU, and forwards issued while one runs on the pool',
    timeoutMs: 60_000,
    async run(_device, env) {
      const o = WASM_OPTIONS;
      const weights = randomWeights(o, 340);
      const workers = liveWorkers();
      await withoutUnhandled(env, async () => {
        const gru = await WasmGRU.create(o, weights, WASM_BACKEND);
        try {
          for (let round = 0; round < 3; round++) {
            const jobs = SHAPES.map(([T, B], i) =>
              job(`round ${round} call ${i}`, o, weights, 341 + 31 * round + i, T, B, ALL_EXTRAS[i % 3]),
            );
            await within(`round ${round}`, Promise.all(jobs.map((j) => gru.forward(j.input, j.args).then((got) => checkResult(j, got)))));
          }
          // Callers that do not wait for each other: a forward on the pool (T·B = 36) is in flight
          // when the next calls come, one of them small enough for the calling thread (T·B = 2).
          for (let round = 0; round < 3; round++) {
            const pooled = job(`staggered round ${round}, on the pool`, o, weights, 350 + round, 12, 3, ALL_EXTRAS[round]);
            const small = job(`staggered round ${round}, on the calling thread`, o, weights, 360 + round, 1, 2);
            const pooled2 = job(`staggered round ${round}, on the pool after it`, o, weights, 370 + round, 6, 4);
            const calls = [gru.forward(pooled.input, pooled.args).then((got) => checkResult(pooled, got))];
            await nextTask();
            calls.push(gru.forward(small.input, small.args).then((got) => checkResult(small, got)));
            calls.push(gru.forward(pooled2.input, pooled2.args).then((got) => checkResult(pooled2, got)));
            await within(`staggered round ${round}`, Promise.all(calls));
          }
        } finally {
          gru.destroy();
        }
        checkFreed('threaded GRU', gru, workers);
      });
    },
  },
  {
    name: 'concurrency (wasm): two states stepped at once beside a forward on the pool, each equal to its own sequence',
    timeoutMs: 60_000,
    async run(_device, env) {
      const o = WASM_OPTIONS;
      const weights = randomWeights(o, 380);
      const workers = liveWorkers();
      const T = 16;
      const H = o.hiddenSize;
      const a = job('state A', o, weights, 381, T, 2);
      const b = job('state B', o, weights, 382, T, 3, { h0: true });
      const beside = job('forward on the pool', o, weights, 384, 8, 4, { h0: true, seqLengths: true });
      await withoutUnhandled(env, async () => {
        const gru = await WasmGRU.create(o, weights, WASM_BACKEND);
        try {
          const stateA = gru.createState(2);
          const stateB = gru.createState(3, { h0: b.args.h0 });
          for (let t = 0; t < T; t++) {
            const x = (j: Job, B: number) => j.input.subarray(t * B * o.inputSize, (t + 1) * B * o.inputSize);
            const want = (j: Job, B: number) => j.want.output.subarray(t * B * H, (t + 1) * B * H);
            const calls: Promise<void>[] = [];
            if (t % 4 === 0) calls.push(gru.forward(beside.input, beside.args).then((got) => checkResult(beside, got)));
            calls.push(gru.step(x(a, 2), stateA).then((y) => void assertClose(`A step ${t}`, y, want(a, 2), F32_TOLERANCE)));
            calls.push(gru.step(x(b, 3), stateB).then((y) => void assertClose(`B step ${t}`, y, want(b, 3), F32_TOLERANCE)));
            await within(`round ${t}`, Promise.all(calls));
          }
          assertClose('state A at the end (hN)', stateA.getSync(), a.want.hN, F32_TOLERANCE);
          assertClose('state B at the end (hN)', stateB.getSync(), b.want.hN, F32_TOLERANCE);
        } finally {
          gru.destroy();
        }
        checkFreed('threaded GRU', gru, workers);
      });
    },
  },
  {
    name: 'concurrency (wasm): destroy() while forwards run on the worker pool (starting, and warm) and a step is in flight',
    timeoutMs: 60_000,
    async run(_device, env) {
      const o = WASM_OPTIONS;
      const weights = randomWeights(o, 390);
      const workers = liveWorkers();
      const first = job('first forward', o, weights, 391, 12, 3, { h0: true, seqLengths: true });
      const queued = job('forward queued behind it', o, weights, 392, 8, 2);
      const s = job('step', o, weights, 393, 1, 2);
      await withoutUnhandled(env, async () => {
        for (const warm of [false, true]) {
          for (const m of MOMENTS) {
            const label = `${warm ? 'warm' : 'starting'} pool, destroyed ${m.name}`;
            const gru = await WasmGRU.create(o, weights, WASM_BACKEND);
            if (warm) checkResult(first, await gru.forward(first.input, first.args));
            const state = gru.createState(2);
            const calls = [
              resultOrGRUError(`${label}: forward`, gru.forward(first.input, first.args), (got) => checkResult(first, got)),
              resultOrGRUError(`${label}: queued forward`, gru.forward(queued.input, queued.args), (got) => checkResult(queued, got)),
              resultOrGRUError(
                `${label}: step`,
                gru.step(s.input, state),
                (y) => void assertClose('step', y, s.want.output, F32_TOLERANCE),
              ),
            ];
            if (m.wait) await m.wait();
            gru.destroy();
            await Promise.all(calls);
            await expectGRUError(() => gru.forward(first.input, first.args), DESTROYED);
            await expectGRUError(() => gru.forwardSync(first.input, first.args), DESTROYED);
            await expectGRUError(() => gru.stepSync(s.input, state), DESTROYED);
            await expectGRUError(() => gru.createState(1), DESTROYED);
            await expectGRUError(() => state.get(), STATE_DESTROYED);
            checkFreed(label, gru, workers);
          }
        }
      });
    },
  },
];

export const concurrencyCases: Case[] = [...gpuCases, ...wasmCases];
