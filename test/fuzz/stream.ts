/**
 * The fuzzer's streaming calls: createState, then steps on either backend (step, stepGPU and
 * encodeStep; stepSync and step), get, set and reset, valid (against the reference one step at a
 * time) or broken in one named way (see ./fuzz.ts).
 */
import {
  GRU,
  GRUError,
  gruReference,
  WasmGRU,
  type GRUOptions,
  type GRUResult,
  type GRUState,
  type GRUWeights,
  type WasmGRUState,
} from '../../src/index.js';
import { assertClose, F32_TOLERANCE, readBuffer } from '../suite/util.js';
import { computedWeights, dims, drawWeights, HUGE_COUNTS, NOT_COUNTS, show, wrongArray, type Broken } from './draw.js';
import { Buffers, createWasm, destroyWasm, eachBackend, EXACT, mustThrow, type Context } from './check.js';

type AnyGRU = GRU | WasmGRU;
type AnyState = GRUState | WasmGRUState;

/** The shared surface of both backends' streaming, typed loosely so that bad arguments reach it. */
const stream = {
  create: (gru: AnyGRU, batch: unknown, init?: unknown): AnyState =>
    (gru as GRU).createState(batch as number, init as { h0?: Float32Array }),
  step: (gru: AnyGRU, x: unknown, state: unknown): Promise<Float32Array> => (gru as GRU).step(x as Float32Array, state as GRUState),
};

export async function streamValid(ctx: Context, o: GRUOptions, w: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const { I, H, L } = dims(o);
  const B = d.chance(0.3) ? 1 : d.int(2, 6);
  const n = d.int(1, 6);
  const x0 = d.floats(B * I);
  const xs = [x0, ...Array.from({ length: n - 1 }, () => d.floats(B * I))];
  const h0 = d.chance(0.5) ? d.floats(L * B * H) : undefined;
  const init = h0 ? { h0 } : d.pick([undefined, {}]);
  // Autoregressive, where I ≤ H: each step's output (its first B·I values) is the next step's x;
  // on the GPU the state's output buffer itself is passed as x, on wasm the view stepSync returned.
  const feedback = I <= H && d.chance(0.25);
  const after = d.pick(['nothing', 'set', 'reset'] as const);
  const h = d.floats(L * B * H);
  ctx.what =
    `stream, valid: ${n} steps of batch ${B}${h0 ? ' from h0' : ''}${feedback ? ', each output fed back as the next x' : ''}, ` +
    `then ${after}; options ${JSON.stringify(o)}`;
  // x_t is [B, I] whatever batchFirst says. One reference step at a time, each from the last hN.
  const ro: GRUOptions = { ...o, batchFirst: false };
  const cw = computedWeights(o, w);
  const stepRef = (x: Float32Array, from?: Float32Array) =>
    gruReference(ro, cw, x, from ? { steps: 1, batch: B, h0: from } : { steps: 1, batch: B });
  const want: GRUResult[] = [];
  for (let t = 0; t < n; t++) {
    if (feedback && t > 0) xs[t] = want[t - 1]!.output.slice(0, B * I);
    want.push(stepRef(xs[t]!, t === 0 ? h0 : want[t - 1]!.hN));
  }
  const last = want[n - 1]!;

  /** The checks after the steps, the same on both backends. */
  const finish = async (label: string, gru: AnyGRU, state: AnyState, step: (x: Float32Array) => Promise<Float32Array>) => {
    assertClose(`${label} state.get() after ${n} steps`, await state.get(), last.hN, F32_TOLERANCE);
    if (after === 'set') {
      state.set(h);
      assertClose(`${label} state.get() after set(h)`, await state.get(), h, EXACT);
      assertClose(`${label} first step after set(h)`, await step(x0), stepRef(x0, h).output, F32_TOLERANCE);
    } else if (after === 'reset') {
      state.reset();
      assertClose(`${label} state.get() after reset()`, await state.get(), new Float32Array(L * B * H), EXACT);
      assertClose(`${label} first step after reset()`, await step(x0), stepRef(x0).output, F32_TOLERANCE);
    }
    // A state dies with its GRU, or on its own first.
    if (d.chance(0.5)) state.destroy();
    gru.destroy();
  };

  await eachBackend({
    async webgpu() {
      const gru = await GRU.create(device, o, w);
      const buffers = new Buffers(device);
      try {
        const state = gru.createState(B, init);
        const schedule = gru.scheduleFor(B);
        /** The buffer the last stepGPU / encodeStep returned: the state's output. */
        let output: GPUBuffer | undefined;
        /** One step on `x` (an array, or a buffer with STORAGE usage), read back; fed back, always through a buffer. */
        const gpuStep = async (x: Float32Array | GPUBuffer, t: number): Promise<Float32Array> => {
          const how = d.pick(feedback ? (['stepGPU', 'encodeStep'] as const) : (['step', 'stepGPU', 'encodeStep'] as const));
          if (how === 'step') return gru.step(x as Float32Array, state);
          const xb = x instanceof Float32Array ? buffers.upload(x, GPUBufferUsage.STORAGE) : x;
          let out: GPUBuffer;
          if (how === 'stepGPU') {
            out = gru.stepGPU(xb, state);
          } else {
            const encoder = device.createCommandEncoder({ label: `fuzz encodeStep ${t}` });
            out = gru.encodeStep(encoder, xb, state);
            device.queue.submit([encoder.finish()]);
          }
          output = out;
          return readBuffer(device, out, B * H * 4);
        };
        for (let t = 0; t < n; t++) {
          const fed = feedback && t > 0;
          let y: Float32Array;
          try {
            y = await gpuStep(fed ? output! : xs[t]!, t);
          } catch (error) {
            // The state's own output as x may be refused, by name; nothing else may.
            if (fed && error instanceof GRUError && error.message.startsWith('x:')) return undefined;
            throw error;
          }
          assertClose(
            `webgpu step ${t}${fed ? " on the previous step's output buffer" : ''} (${schedule})`,
            y,
            want[t]!.output,
            F32_TOLERANCE,
          );
        }
        await finish('webgpu', gru, state, (x) => gpuStep(x, n));
      } finally {
        gru.destroy();
        buffers.destroy();
      }
      return undefined;
    },
    async wasm() {
      const wasm = await createWasm(d, o, w);
      try {
        const state = wasm.createState(B, init);
        const out = new Float32Array(B * H);
        /** The view of the GRU's memory that the last stepSync returned. */
        let view: Float32Array | undefined;
        /** One step; fed back, always a plain stepSync, whose view is the next x. */
        const wasmStep = async (x: Float32Array): Promise<Float32Array> => {
          const how = feedback ? 'stepSync' : d.pick(['stepSync', 'stepSync(out)', 'step'] as const);
          if (how === 'step') return wasm.step(x, state);
          if (how === 'stepSync(out)') return wasm.stepSync(x, state, out).slice();
          view = wasm.stepSync(x, state);
          return view.slice();
        };
        for (let t = 0; t < n; t++) {
          const fed = feedback && t > 0;
          const y = await wasmStep(fed ? view!.subarray(0, B * I) : xs[t]!);
          assertClose(`wasm step ${t}${fed ? ' on the view stepSync returned' : ''}`, y, want[t]!.output, F32_TOLERANCE);
        }
        await finish('wasm', wasm, state, wasmStep);
      } finally {
        destroyWasm(wasm);
      }
      return undefined;
    },
  });
}

export async function streamInvalid(ctx: Context, o: GRUOptions, weights: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const { I, H, L } = dims(o);
  const B = d.int(1, 5);
  const x = d.floats(B * I);
  /** The faulty call, on one backend: `other` makes a second GRU of the same backend. */
  type Act = (gru: AnyGRU, other: () => Promise<AnyGRU>) => unknown;
  let options = o;
  let w = weights;
  let backends: readonly ('webgpu' | 'wasm')[] = ['webgpu', 'wasm'];
  const pick = (broken: Broken, act: Act): [Broken, Act] => [broken, act];
  const [broken, act] = d.first<[Broken, Act]>([
    () => {
      const direction = o.schedule === 'wavefront' ? 'reverse' : d.pick(['reverse', 'bidirectional'] as const);
      options = { ...o, direction };
      w = drawWeights(d, options);
      return pick({ what: `createState on a '${direction}' GRU`, names: 'createState' }, (gru) => stream.create(gru, B));
    },
    () => {
      const v = d.pick(NOT_COUNTS);
      return pick({ what: `createState(${show(v)})`, names: 'batch' }, (gru) => stream.create(gru, v));
    },
    () => {
      const v = d.pick(HUGE_COUNTS);
      return pick({ what: `createState(${v}) (huge)`, names: 'batch' }, (gru) => stream.create(gru, v));
    },
    () => {
      const v = d.pick<unknown>([5, 'h0', true, null, d.floats(L * B * H)]);
      return pick({ what: `createState(${B}, ${show(v)})`, names: 'init' }, (gru) => stream.create(gru, B, v));
    },
    () => {
      const v = { h0: d.floats(L * B * H), [d.pick(['h', 'h1', 'batch', 'c0'])]: 1 };
      return pick({ what: `createState(${B}, ${show(Object.keys(v))})`, names: 'init' }, (gru) => stream.create(gru, B, v));
    },
    () => {
      const v = wrongArray(d, L * B * H);
      return pick({ what: `createState(${B}, { h0: ${show(v)} })`, names: 'h' }, (gru) => stream.create(gru, B, { h0: v }));
    },
    () => {
      const v = wrongArray(d, B * I);
      return pick({ what: `step(${show(v)}, state)`, names: 'x' }, (gru) => stream.step(gru, v, stream.create(gru, B)));
    },
    () =>
      pick({ what: "step with another GRU's state", names: 'state' }, async (gru, other) =>
        stream.step(gru, x, stream.create(await other(), B)),
      ),
    () =>
      pick({ what: 'step with a destroyed state', names: 'state' }, (gru) => {
        const state = stream.create(gru, B);
        state.destroy();
        return stream.step(gru, x, state);
      }),
    () => {
      const v = d.pick<unknown>([{}, null, undefined]);
      return pick({ what: `step(x, ${show(v)})`, names: 'state' }, (gru) => stream.step(gru, x, v));
    },
    () =>
      pick({ what: 'step on a destroyed GRU', names: 'this GRU' }, (gru) => {
        const state = stream.create(gru, B);
        gru.destroy();
        return stream.step(gru, x, state);
      }),
    () =>
      pick({ what: 'createState on a destroyed GRU', names: 'this GRU' }, (gru) => {
        gru.destroy();
        return stream.create(gru, B);
      }),
    () => {
      const v = wrongArray(d, L * B * H);
      return pick({ what: `state.set(${show(v)})`, names: 'h' }, (gru) => stream.create(gru, B).set(v as Float32Array));
    },
    () =>
      pick({ what: 'state.get() on a destroyed state', names: 'state' }, (gru) => {
        const state = stream.create(gru, B);
        state.destroy();
        return state.get();
      }),
    () => {
      backends = ['webgpu'];
      const U = GPUBufferUsage;
      // A destroyed x is not drawn: only the submit can see it, and stepGPU returns no promise to
      // report it through (forwardGPU's GPUResult.done does).
      const [what, usage, bytes] = d.pick<[string, number, number]>([
        ['too small', U.STORAGE, Math.max(0, B * I - d.int(1, B * I)) * 4],
        ['without STORAGE usage', U.COPY_DST | U.COPY_SRC, B * I * 4],
      ]);
      const encode = d.chance(0.5);
      return pick({ what: `${encode ? 'encodeStep' : 'stepGPU'} with an x buffer ${what}`, names: 'x' }, (gru) => {
        const g = gru as GRU;
        const state = g.createState(B);
        const xb = device.createBuffer({ size: bytes, usage });
        try {
          if (!encode) return g.stepGPU(xb, state);
          const encoder = device.createCommandEncoder();
          g.encodeStep(encoder, xb, state);
          device.queue.submit([encoder.finish()]);
          return undefined;
        } finally {
          xb.destroy();
        }
      });
    },
    () => {
      backends = ['wasm'];
      const v = wrongArray(d, B * H);
      return pick({ what: `stepSync(x, state, ${show(v)})`, names: 'out' }, (gru) =>
        (gru as WasmGRU).stepSync(x, (gru as WasmGRU).createState(B), v as Float32Array),
      );
    },
  ]);
  ctx.what = `stream, invalid: ${broken.what}; options ${JSON.stringify(options)}`;
  const check = async (backend: 'webgpu' | 'wasm'): Promise<string> => {
    const made: AnyGRU[] = [];
    const create = async (): Promise<AnyGRU> => {
      const gru = backend === 'webgpu' ? await GRU.create(device, options, w) : await createWasm(d, options, w);
      made.push(gru);
      return gru;
    };
    try {
      const gru = await create();
      return await mustThrow(`${backend} stream`, broken, () => act(gru, create));
    } finally {
      for (const gru of made) {
        if (gru instanceof WasmGRU) destroyWasm(gru);
        else gru.destroy();
      }
    }
  };
  // The messages name each backend's own state class: they need not agree.
  await eachBackend(Object.fromEntries(backends.map((b) => [b, () => check(b)])));
}
