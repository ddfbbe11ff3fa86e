/**
 * The fuzzer's calls on a GRU's options and weights and on whole sequences: `create` (broken
 * options, weights and backend options), `forward` and `forwardGPU`, valid or broken in one named
 * way (see ./fuzz.ts).
 */
import {
  createGRU,
  GRU,
  gruReference,
  WasmGRU,
  type ForwardGPUArgs,
  type GPUResult,
  type GRUOptions,
  type GRUWeights,
  type RunArgs,
  type WasmBackendOptions,
} from '../../src/index.js';
import { RUN_ARG_KEYS } from '../../src/args.js';
import { readBuffer } from '../suite/util.js';
import { breakArgs, breakOptions, breakWeights, dims, drawRun, HUGE_COUNTS, show, wrongArray, type Broken } from './draw.js';
import { Buffers, compare, createWasm, describeRun, destroyWasm, eachBackend, mustThrow, reference, type Context } from './check.js';

const GPU_KEYS = [...RUN_ARG_KEYS, 'output', 'hN'];

export async function createInvalid(ctx: Context, o: GRUOptions, w: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const options: Record<string, unknown> = { ...o };
  const weights: unknown[] = [...w];
  let optionsArg: unknown = options;
  let weightsArg: unknown = weights;
  let gpuOnly = false;
  let init: Record<string, unknown> | undefined;
  let wasmOptions: Record<string, unknown> | undefined;
  const broken = d.first<Broken>([
    () => breakOptions(d, options),
    () => breakOptions(d, options),
    () => breakWeights(d, o, weights),
    () => breakWeights(d, o, weights),
    () => {
      optionsArg = d.pick([null, undefined, 7, 'gru', true]);
      return { what: `options = ${show(optionsArg)}`, names: 'options' };
    },
    () => {
      weightsArg = d.pick([null, undefined, {}, w[0], 'weights']);
      return { what: `weights = ${show(weightsArg)}`, names: 'weights' };
    },
    () => {
      // Only the WebGPU kernels care: wavefront runs a stack of one direction.
      if (o.direction !== 'bidirectional') return undefined;
      options.schedule = 'wavefront';
      gpuOnly = true;
      return { what: "options.schedule = 'wavefront' on a bidirectional GRU", names: 'options.schedule' };
    },
    () => {
      const [key, value, names] = d.pick<[string, unknown, string]>([
        ['backend', 'cpu', 'init.backend'],
        ['backend', 'WASM', 'init.backend'],
        ['backnd', 'wasm', 'init'],
        ['threads', d.pick([0, 65, 1.5, Number.NaN, '2']), 'init.threads'],
        ['simd', 'sse', 'init.simd'],
        ['device', {}, 'init.device'],
      ]);
      init = { backend: 'wasm', [key]: value };
      return { what: `createGRU init.${key} = ${show(value)}`, names };
    },
    () => {
      const [key, value] = d.pick<[string, unknown]>([
        ['threads', d.pick([0, 65, 1.5, Number.NaN, '2'])],
        ['simd', d.pick(['sse', 'relaxed-simd', 1])],
        ['poolThreshold', d.pick([-1, Number.NaN, '0'])],
        ['module', d.pick([{}, new Uint8Array(8)])],
        ['thread', 2],
      ]);
      wasmOptions = { [key]: value };
      return { what: `WasmGRU wasmOptions.${key} = ${show(value)}`, names: key === 'thread' ? 'wasmOptions' : `wasmOptions.${key}` };
    },
  ]);
  ctx.what = `create, invalid: ${broken.what}; options ${JSON.stringify(o)}`;
  const oArg = optionsArg as GRUOptions;
  const wArg = weightsArg as GRUWeights[];
  if (init) {
    await mustThrow('createGRU', broken, () => createGRU(oArg, wArg, init));
    return;
  }
  if (wasmOptions) {
    const sync = d.chance(0.5);
    const wo = wasmOptions as WasmBackendOptions;
    await mustThrow(`WasmGRU.${sync ? 'createSync' : 'create'}`, broken, () =>
      sync ? WasmGRU.createSync(oArg, wArg, wo) : WasmGRU.create(oArg, wArg, wo),
    );
    return;
  }
  if (gpuOnly) {
    await mustThrow('GRU.create', broken, () => GRU.create(device, oArg, wArg));
    destroyWasm(await createWasm(d, oArg, wArg));
    return;
  }
  await eachBackend(
    {
      webgpu: () => mustThrow('GRU.create', broken, () => GRU.create(device, oArg, wArg)),
      wasm: () => mustThrow('WasmGRU.create', broken, () => createWasm(d, oArg, wArg)),
      reference: () =>
        mustThrow('gruReference', broken, () => gruReference(oArg, wArg, new Float32Array(o.inputSize), { steps: 1, batch: 1 })),
    },
    true,
  );
}

// ---------------------------------------------------------------------------------------------
// forward

export async function forwardValid(ctx: Context, o: GRUOptions, w: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const run = drawRun(d, o);
  ctx.what = `forward, valid; options ${JSON.stringify(o)}; ${describeRun(run)}`;
  const want = reference(o, w, run);
  const again = d.chance(0.25) ? drawRun(d, o) : undefined;
  const sync = d.chance(0.3);
  await eachBackend({
    async webgpu() {
      const gru = await GRU.create(device, o, w);
      try {
        compare(`webgpu forward (${gru.scheduleFor(run.args.batch)})`, await gru.forward(run.input, run.args), want);
        // A second shape replaces the kept plan.
        if (again)
          compare(`webgpu second forward (${describeRun(again)})`, await gru.forward(again.input, again.args), reference(o, w, again));
      } finally {
        gru.destroy();
      }
      return undefined;
    },
    async wasm() {
      const wasm = await createWasm(d, o, w);
      try {
        const got = sync ? wasm.forwardSync(run.input, run.args) : await wasm.forward(run.input, run.args);
        compare(`wasm ${sync ? 'forwardSync' : 'forward'} (${wasm.threads} threads)`, got, want);
      } finally {
        destroyWasm(wasm);
      }
      return undefined;
    },
  });
}

export async function forwardInvalid(ctx: Context, o: GRUOptions, w: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const run = drawRun(d, o);
  const args: Record<string, unknown> = { ...run.args };
  let input: unknown = run.input;
  let argsArg: unknown = args;
  let destroyed = false;
  const broken = d.chance(0.6)
    ? breakArgs(d, o, args, [...RUN_ARG_KEYS])
    : d.first<Broken>([
        () => {
          input = wrongArray(d, run.input.length);
          return { what: `input = ${show(input)}`, names: 'input' };
        },
        () => {
          args.steps = d.pick(HUGE_COUNTS);
          return { what: `args.steps = ${args.steps} (huge)`, names: 'input' };
        },
        () => {
          if (args.seqLengths) return undefined; // their count would be what is wrong
          args.batch = d.pick(HUGE_COUNTS);
          return { what: `args.batch = ${args.batch} (huge)`, names: 'input' };
        },
        () => {
          argsArg = d.pick([undefined, null, 5, 'steps', [run.args.steps, run.args.batch]]);
          return { what: `args = ${show(argsArg)}`, names: 'args' };
        },
        () => {
          destroyed = true;
          return { what: 'forward on a destroyed GRU', names: 'this GRU' };
        },
      ]);
  ctx.what = `forward, invalid: ${broken.what}; options ${JSON.stringify(o)}; ${describeRun(run)}`;
  const x = input as Float32Array;
  const a = argsArg as RunArgs;
  const sync = d.chance(0.3);
  const checks: Record<string, () => Promise<string>> = {
    async webgpu() {
      const gru = await GRU.create(device, o, w);
      try {
        if (destroyed) gru.destroy();
        return await mustThrow('webgpu forward', broken, () => gru.forward(x, a));
      } finally {
        gru.destroy();
      }
    },
    async wasm() {
      const wasm = await createWasm(d, o, w);
      try {
        if (destroyed) wasm.destroy();
        return await mustThrow(`wasm ${sync ? 'forwardSync' : 'forward'}`, broken, () =>
          sync ? wasm.forwardSync(x, a) : wasm.forward(x, a),
        );
      } finally {
        destroyWasm(wasm);
      }
    },
  };
  if (!destroyed) checks.reference = () => mustThrow('gruReference', broken, () => gruReference(o, w, x, a));
  await eachBackend(checks, true);
}

// ---------------------------------------------------------------------------------------------
// forwardGPU

export async function forwardGPUValid(ctx: Context, o: GRUOptions, w: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const run = drawRun(d, o);
  const { H, L, D } = dims(o);
  const { steps, batch } = run.args;
  const outputBytes = steps * batch * D * H * 4;
  const stateBytes = L * D * batch * H * 4;
  const U = GPUBufferUsage;
  const buffers = new Buffers(device);
  const notes: string[] = [];
  const args: ForwardGPUArgs = { steps, batch };
  if (run.args.seqLengths) args.seqLengths = run.args.seqLengths;
  const extra = () => (d.chance(0.3) ? 4 * d.int(1, 64) : 0);
  let input: GPUBuffer;
  if (d.chance(0.7)) {
    input = buffers.upload(run.input, U.STORAGE);
  } else {
    input = buffers.create(run.input.byteLength + extra(), U.STORAGE | U.COPY_DST);
    device.queue.writeBuffer(input, 0, run.input as Float32Array<ArrayBuffer>);
    notes.push('a larger input buffer');
  }
  let h0Buffer: GPUBuffer | undefined;
  if (run.args.h0) {
    if (d.chance(0.5)) {
      args.h0 = run.args.h0;
    } else {
      h0Buffer = buffers.upload(run.args.h0, U.COPY_SRC | (d.chance(0.5) ? U.STORAGE : 0));
      args.h0 = h0Buffer;
      notes.push('h0 buffer');
    }
  }
  if (d.chance(0.4)) {
    args.output = buffers.create(outputBytes + extra(), U.STORAGE | U.COPY_SRC);
    notes.push('output buffer given');
  }
  if (d.chance(0.4)) {
    // hN written over h0 in place: h0 is read before the pass, hN written after it.
    args.hN = h0Buffer && d.chance(0.5) ? h0Buffer : buffers.create(stateBytes + extra(), U.COPY_DST | U.COPY_SRC);
    notes.push(args.hN === h0Buffer ? 'hN over h0 in place' : 'hN buffer given');
  }
  ctx.what = `forwardGPU, valid${notes.length ? ` (${notes.join(', ')})` : ''}; options ${JSON.stringify(o)}; ${describeRun(run)}`;
  const want = reference(o, w, run);
  await eachBackend({
    async webgpu() {
      const gru = await GRU.create(device, o, w);
      try {
        const result = gru.forwardGPU(input, args);
        if (!args.output) buffers.made.push(result.output);
        if (!args.hN) buffers.made.push(result.hN);
        await result.done;
        if (args.output && result.output !== args.output) throw new Error('forwardGPU returned another output buffer than the one given');
        if (args.hN && result.hN !== args.hN) throw new Error('forwardGPU returned another hN buffer than the one given');
        const got = { output: await readBuffer(device, result.output, outputBytes), hN: await readBuffer(device, result.hN, stateBytes) };
        compare(`webgpu forwardGPU (${gru.scheduleFor(batch)})`, got, want);
      } finally {
        gru.destroy();
        buffers.destroy();
      }
      return undefined;
    },
    async wasm() {
      const wasm = await createWasm(d, o, w);
      try {
        compare('wasm forward', await wasm.forward(run.input, run.args), want);
      } finally {
        destroyWasm(wasm);
      }
      return undefined;
    },
  });
}

export async function forwardGPUInvalid(ctx: Context, o: GRUOptions, w: GRUWeights[]): Promise<void> {
  const { d, device } = ctx;
  const run = drawRun(d, o);
  const { I, H, L, D } = dims(o);
  const { steps, batch } = run.args;
  const inputBytes = steps * batch * I * 4;
  const outputBytes = steps * batch * D * H * 4;
  const stateBytes = L * D * batch * H * 4;
  const U = GPUBufferUsage;
  const buffers = new Buffers(device);
  let input: unknown = buffers.upload(run.input, U.STORAGE);
  const args: Record<string, unknown> = { steps, batch };
  if (run.args.seqLengths) args.seqLengths = run.args.seqLengths;
  if (run.args.h0) args.h0 = d.chance(0.5) ? run.args.h0 : buffers.upload(run.args.h0, U.COPY_SRC);
  let argsArg: unknown = args;
  let destroyed = false;
  let refusedLater = false;
  /** A buffer that is too small, lacks `usage`, or is destroyed. */
  const badBuffer = (name: string, bytes: number, usage: number, without: number): Broken => {
    const [what, buffer] = d.pick<[string, () => GPUBuffer | undefined]>([
      ['too small', () => (bytes >= 4 ? buffers.create(bytes - 4 * d.int(1, Math.min(8, bytes / 4)), usage) : undefined)],
      ['without the usage it needs', () => buffers.create(bytes, without)],
      ['destroyed', () => buffers.destroyed(bytes, usage)],
    ]);
    const b = buffer();
    if (!b) return badBuffer(name, bytes, usage, without);
    if (name === 'input') input = b;
    else args[name.slice('args.'.length)] = b;
    // Only the device can tell that a buffer was destroyed, at the submit: then GPUResult.done
    // rejects with a GRUError that names the buffers it may be.
    if (what === 'destroyed') refusedLater = true;
    return { what: `${name}: a buffer ${what}`, names: name };
  };
  const broken = d.chance(0.35)
    ? breakArgs(d, o, args, GPU_KEYS)
    : d.first<Broken>([
        () => badBuffer('input', inputBytes, U.STORAGE, d.pick([U.COPY_DST | U.COPY_SRC, U.MAP_READ | U.COPY_DST, U.UNIFORM | U.COPY_DST])),
        () => {
          input = d.pick<unknown>([run.input, {}, null, undefined]);
          return { what: `input = ${show(input)}`, names: 'input' };
        },
        () => badBuffer('args.h0', stateBytes, U.COPY_SRC, U.STORAGE | U.COPY_DST),
        () => badBuffer('args.output', outputBytes, U.STORAGE, U.COPY_SRC | U.COPY_DST),
        () => badBuffer('args.hN', stateBytes, U.COPY_DST, U.STORAGE | U.COPY_SRC),
        () => {
          // The input and the output in one buffer: a kernel would read and write it at once.
          if (outputBytes > inputBytes) return undefined;
          args.output = input;
          return { what: 'args.output is the input buffer', names: 'args.output' };
        },
        () => {
          // hN copied over the output it was given with: the output would be lost.
          const both = buffers.create(Math.max(outputBytes, stateBytes), U.STORAGE | U.COPY_DST | U.COPY_SRC);
          args.output = both;
          args.hN = both;
          return { what: 'args.hN is the args.output buffer', names: 'args.hN' };
        },
        () => {
          const key = d.pick(['output', 'hN']);
          args[key] = d.pick<unknown>([run.input, {}, 'buffer']);
          return { what: `args.${key} = ${show(args[key])}`, names: `args.${key}` };
        },
        () => {
          args.steps = d.pick(HUGE_COUNTS);
          return { what: `args.steps = ${args.steps} (huge)`, names: 'input' };
        },
        () => {
          argsArg = d.pick([undefined, null, 5]);
          return { what: `args = ${show(argsArg)}`, names: 'args' };
        },
        () => {
          destroyed = true;
          return { what: 'forwardGPU on a destroyed GRU', names: 'this GRU' };
        },
      ]);
  ctx.what = `forwardGPU, invalid: ${broken.what}; options ${JSON.stringify(o)}; ${describeRun(run)}`;
  const gru = await GRU.create(device, o, w);
  try {
    if (destroyed) gru.destroy();
    let result: GPUResult | undefined;
    const call = () => {
      result = gru.forwardGPU(input as GPUBuffer, argsArg as ForwardGPUArgs);
      return refusedLater ? result.done : result;
    };
    try {
      await mustThrow(`webgpu forwardGPU${refusedLater ? ' (or its done)' : ''}`, broken, call, refusedLater ? 'anywhere' : 'start');
    } finally {
      if (result) buffers.made.push(result.output, result.hN);
    }
  } finally {
    gru.destroy();
    buffers.destroy();
  }
}
