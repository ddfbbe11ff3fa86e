/**
 * The fuzzer's importer calls: files and tensors made from drawn weights (safetensors, a PyTorch
 * dict, the benchmark's ONNX export, WebNN arrays) must import to the same GRU; those files and
 * the fixtures truncated or with a bit flipped, and tensors of the wrong shape, must give a
 * GRUError (a flip may also give a parse that GRU accepts; see ./fuzz.ts).
 */
import {
  fromONNX,
  fromPyTorch,
  fromSafetensors,
  fromTFJSLayersModel,
  fromWebNN,
  GRUError,
  gruReference,
  WasmGRU,
  type GRUOptions,
  type GRUResult,
  type GRUWeights,
  type ImportedGRU,
  type RunArgs,
  type WebNNActivation,
  type WebNNGRUInput,
} from '../../src/index.js';
import { concatArrays } from '../../src/import/common.js';
import { resolveOptions } from '../../src/options.js';
import { encodeGRUModel, type GRUModelSpec } from '../../bench/lib/onnx.js';
import { bytes as fixtureBytes, f32Bytes, loadTFJS, writeSafetensors, type RawTensor } from '../suite/import.js';
import { assertClose } from '../suite/util.js';
import {
  conditioning,
  dims,
  type Draw,
  drawRun,
  drawWeights,
  NOT_COUNTS,
  show,
  wrongArray,
  type Broken,
  type RunData,
  type Shape,
} from './draw.js';
import { compare, describeRun, destroyWasm, errorText, EXACT, mustThrow, type Context } from './check.js';

/** Float32Arrays one after another (the importers' helper). */
function joined(parts: readonly Float32Array[]): Float32Array {
  return concatArrays(parts, Float32Array);
}

/** Equal values, an absent bias counting as zeros. */
function sameWeights(label: string, got: readonly GRUWeights[], want: readonly GRUWeights[], H: number): void {
  if (got.length !== want.length) throw new Error(`${label}: ${got.length} weight entries, expected ${want.length}`);
  const zeros = new Float32Array(3 * H);
  got.forEach((g, i) => {
    for (const key of ['weightIh', 'weightHh', 'biasIh', 'biasHh'] as const) {
      assertClose(`${label} weights[${i}].${key}`, g[key] ?? zeros, want[i]![key] ?? zeros, EXACT);
    }
  });
}

function sameOptions(label: string, got: GRUOptions, want: GRUOptions): void {
  const a = JSON.stringify(resolveOptions(got));
  const b = JSON.stringify(resolveOptions(want));
  if (a !== b) throw new Error(`${label}: options ${a}, expected ${b}`);
}

/** A corrupted file's parse, if any, must be one that GRU accepts (a flip may land in a weight). */
function mustValidate(label: string, result: ImportedGRU | ImportedGRU[]): void {
  for (const g of Array.isArray(result) ? result : [result]) {
    const { I, H, L, D } = dims(g.options);
    const h0 = g.initialH?.length === L * D * H ? g.initialH : undefined;
    try {
      gruReference(g.options, g.weights, new Float32Array(I), h0 ? { steps: 1, batch: 1, h0 } : { steps: 1, batch: 1 });
    } catch (error) {
      throw new Error(`${label}: the importer returned a GRU that gruReference rejects: ${errorText(error)}`);
    }
  }
}

/** A PyTorch state_dict of `w` (gate order rzn, reset after): names, shapes and values. */
function stateDict(o: GRUOptions, w: readonly GRUWeights[], prefix: string): { name: string; shape: number[]; data: Float32Array }[] {
  const { I, H, L, D } = dims(o);
  const out: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (let l = 0; l < L; l++) {
    for (let dir = 0; dir < D; dir++) {
      const e = w[l * D + dir]!;
      const suffix = `_l${l}${dir ? '_reverse' : ''}`;
      out.push({ name: `${prefix}weight_ih${suffix}`, shape: [3 * H, l === 0 ? I : D * H], data: e.weightIh });
      out.push({ name: `${prefix}weight_hh${suffix}`, shape: [3 * H, H], data: e.weightHh });
      if (e.biasIh) out.push({ name: `${prefix}bias_ih${suffix}`, shape: [3 * H], data: e.biasIh });
      if (e.biasHh) out.push({ name: `${prefix}bias_hh${suffix}`, shape: [3 * H], data: e.biasHh });
    }
  }
  return out;
}

function safetensorsOf(tensors: { name: string; shape: number[]; data: Float32Array }[]): Uint8Array {
  return writeSafetensors(tensors.map((t): RawTensor => ({ name: t.name, dtype: 'F32', shape: t.shape, data: f32Bytes(t.data) })));
}

/** The benchmark's ONNX export of `w` (gate order zrn, linear_before_reset 1): one GRU node per layer. */
function onnxOf(o: GRUOptions, w: readonly GRUWeights[], steps: number, batch: number): Uint8Array {
  const { I, H, L, D } = dims(o);
  const zeros = new Float32Array(3 * H);
  const spec: GRUModelSpec = {
    steps,
    batch,
    inputSize: I,
    hiddenSize: H,
    numLayers: L,
    direction: o.direction ?? 'forward',
    layers: Array.from({ length: L }, (_, l) => {
      const entries = w.slice(l * D, (l + 1) * D);
      return {
        W: joined(entries.map((e) => e.weightIh)),
        R: joined(entries.map((e) => e.weightHh)),
        B: joined(entries.flatMap((e) => [e.biasIh ?? zeros, e.biasHh ?? zeros])),
      };
    }),
  };
  return encodeGRUModel(spec);
}

/** Runs imported layers one after another on the wasm backend: the whole stack's output and hN. */
function chained(layers: readonly ImportedGRU[], run: RunData, D: number, H: number): GRUResult {
  const { steps, batch, h0, seqLengths } = run.args;
  let x = run.input;
  const hN: Float32Array[] = [];
  for (const [l, g] of layers.entries()) {
    const gru = WasmGRU.createSync(g.options, g.weights);
    try {
      const args: RunArgs = { steps, batch };
      if (h0) args.h0 = h0.slice(l * D * batch * H, (l + 1) * D * batch * H);
      if (seqLengths) args.seqLengths = seqLengths;
      const r = gru.forwardSync(x, args);
      x = r.output;
      hN.push(r.hN);
    } finally {
      destroyWasm(gru);
    }
  }
  return { output: x, hN: joined(hN) };
}

export async function importValid(ctx: Context, shape: Shape): Promise<void> {
  const { d } = ctx;
  const { inputSize: I, hiddenSize: H } = shape;
  const kind = d.pick(['safetensors', 'pytorch', 'onnx', 'webnn'] as const);
  if (kind === 'safetensors' || kind === 'pytorch') {
    const D = shape.direction === 'bidirectional' ? 2 : 1;
    const batchFirst = d.chance(0.3);
    const o: GRUOptions = {
      inputSize: I,
      hiddenSize: H,
      numLayers: shape.numLayers,
      direction: D === 2 ? 'bidirectional' : 'forward',
      batchFirst,
    };
    const w = drawWeights(d, o, d.pick(['both', 'none'] as const));
    const prefix = d.pick(['', 'rnn.', 'model.encoder.gru.']);
    const tensors = stateDict(o, w, prefix);
    const options = {
      ...(batchFirst ? { batchFirst } : {}),
      ...(prefix && d.chance(0.4) ? { prefix: d.pick([prefix, prefix.slice(0, -1)]) } : {}),
    };
    ctx.what = `import, valid: ${kind} of ${JSON.stringify(o)}, prefix ${JSON.stringify(prefix)}, importer options ${JSON.stringify(options)}`;
    let imported: ImportedGRU;
    if (kind === 'safetensors') {
      imported = fromSafetensors(safetensorsOf(tensors), options);
    } else {
      const shaped = d.chance(0.5);
      imported = fromPyTorch(Object.fromEntries(tensors.map((t) => [t.name, shaped ? { shape: t.shape, data: t.data } : t.data])), options);
    }
    sameOptions(kind, imported.options, { ...o, resetAfter: true, gateOrder: 'rzn' });
    sameWeights(kind, imported.weights, w, H);
    const run = drawRun(d, o);
    const wasm = WasmGRU.createSync(imported.options, imported.weights);
    try {
      compare(`${kind} import on wasm`, wasm.forwardSync(run.input, run.args), gruReference(o, w, run.input, run.args));
    } finally {
      destroyWasm(wasm);
    }
    return;
  }
  if (kind === 'onnx') {
    const o: GRUOptions = { inputSize: I, hiddenSize: H, numLayers: shape.numLayers, direction: shape.direction, gateOrder: 'zrn' };
    const { L, D } = dims(o);
    const w = drawWeights(d, o);
    const run = drawRun(d, o);
    ctx.what = `import, valid: ONNX export of ${JSON.stringify(o)}; ${describeRun(run)}`;
    const layers = fromONNX(onnxOf(o, w, run.args.steps, run.args.batch));
    if (layers.length !== L) throw new Error(`fromONNX found ${layers.length} GRU nodes, expected ${L}`);
    layers.forEach((g, l) => {
      const K = l === 0 ? I : D * H;
      sameOptions(`ONNX node ${l}`, g.options, { inputSize: K, hiddenSize: H, numLayers: 1, direction: o.direction, gateOrder: 'zrn' });
      sameWeights(`ONNX node ${l}`, g.weights, w.slice(l * D, (l + 1) * D), H);
    });
    compare('ONNX import, layer by layer on wasm', chained(layers, run, D, H), gruReference(o, w, run.input, run.args));
    return;
  }
  const D = shape.direction === 'bidirectional' ? 2 : 1;
  const direction = shape.direction;
  const activations = d.chance(0.5)
    ? ([d.pick(['sigmoid', 'tanh', 'relu']), d.pick(['sigmoid', 'tanh', 'relu'])] as [WebNNActivation, WebNNActivation])
    : undefined;
  const o: GRUOptions = {
    inputSize: I,
    hiddenSize: H,
    direction,
    resetAfter: shape.resetAfter,
    gateOrder: d.pick(['zrn', 'rzn'] as const),
  };
  if (activations) o.activations = activations;
  const w = drawWeights(d, o);
  const B = d.int(1, 4);
  const input: WebNNGRUInput = {
    weight: joined(w.map((e) => e.weightIh)),
    recurrentWeight: joined(w.map((e) => e.weightHh)),
    hiddenSize: H,
    inputSize: I,
  };
  if (w[0]!.biasIh) input.bias = joined(w.map((e) => e.biasIh!));
  if (w[0]!.biasHh) input.recurrentBias = joined(w.map((e) => e.biasHh!));
  if (d.chance(0.5)) input.initialHiddenState = d.floats(D * B * H);
  if (o.gateOrder === 'rzn' || d.chance(0.3)) input.layout = o.gateOrder!;
  if (!shape.resetAfter || d.chance(0.3)) input.resetAfter = shape.resetAfter;
  if (direction !== 'forward' || d.chance(0.3))
    input.direction = direction === 'bidirectional' ? 'both' : direction === 'reverse' ? 'backward' : 'forward';
  if (d.chance(0.3)) input.numDirections = D as 1 | 2;
  if (activations) input.activations = activations;
  ctx.what = `import, valid: WebNN arrays of ${JSON.stringify(o)}${input.initialHiddenState ? `, initialHiddenState of batch ${B}` : ''}`;
  const g = fromWebNN(input);
  sameOptions('WebNN', g.options, o);
  sameWeights('WebNN', g.weights, w, H);
  if (input.initialHiddenState) assertClose('WebNN initialH', g.initialH ?? new Float32Array(0), input.initialHiddenState, EXACT);
  const steps = d.int(1, Math.min(8, conditioning(o).maxSteps));
  const run: RunData = { input: d.floats(steps * B * I), args: g.initialH ? { steps, batch: B, h0: g.initialH } : { steps, batch: B } };
  const wasm = WasmGRU.createSync(g.options, g.weights);
  try {
    compare('WebNN import on wasm', wasm.forwardSync(run.input, run.args), gruReference(o, w, run.input, run.args));
  } finally {
    destroyWasm(wasm);
  }
}

/** A file an importer reads, and how to read it. */
interface ImportFile {
  name: string;
  bytes: Uint8Array;
  read(bytes: Uint8Array): ImportedGRU | ImportedGRU[];
}

function importFiles(d: Draw, shape: Shape): ImportFile[] {
  const D = shape.direction === 'bidirectional' ? 2 : 1;
  const torch: GRUOptions = {
    inputSize: shape.inputSize,
    hiddenSize: shape.hiddenSize,
    numLayers: shape.numLayers,
    direction: D === 2 ? 'bidirectional' : 'forward',
  };
  const onnx: GRUOptions = { ...torch, direction: shape.direction, gateOrder: 'zrn' };
  const tfjs = loadTFJS('tfjs-gru');
  return [
    {
      name: `safetensors of ${JSON.stringify(torch)}`,
      bytes: safetensorsOf(stateDict(torch, drawWeights(d, torch, 'both'), 'rnn.')),
      read: (b) => fromSafetensors(b),
    },
    { name: `ONNX export of ${JSON.stringify(onnx)}`, bytes: onnxOf(onnx, drawWeights(d, onnx), 3, 2), read: (b) => fromONNX(b) },
    ...['onnx-gru-attrs.onnx', 'torch-gru-2layer-bidir-opset14.onnx'].map(
      (name): ImportFile => ({ name: `fixture ${name}`, bytes: fixtureBytes(name), read: (b) => fromONNX(b) }),
    ),
    {
      name: 'fixture torch-gru-in-model-f16.safetensors',
      bytes: fixtureBytes('torch-gru-in-model-f16.safetensors'),
      read: (b) => fromSafetensors(b),
    },
    { name: 'fixture tfjs-gru weights', bytes: concatArrays(tfjs.shards, Uint8Array), read: (b) => fromTFJSLayersModel(tfjs.model, b) },
  ];
}

export async function importInvalid(ctx: Context, shape: Shape): Promise<void> {
  const { d } = ctx;
  const kind = d.pick(['truncated', 'flipped', 'flipped', 'tensors', 'webnn', 'arguments'] as const);
  if (kind === 'truncated' || kind === 'flipped') {
    const file = d.pick(importFiles(d, shape));
    const at = d.int(0, file.bytes.length - 1);
    if (kind === 'truncated') {
      ctx.what = `import, invalid: ${file.name} truncated to ${at} of ${file.bytes.length} bytes`;
      await mustThrow(file.name, { what: 'truncated', names: 'the file' }, () => file.read(file.bytes.slice(0, at)), 'any');
      return;
    }
    const mask = 1 << d.int(0, 7);
    ctx.what = `import, invalid: ${file.name} with byte ${at} of ${file.bytes.length} xor 0x${mask.toString(16)}`;
    const flipped = file.bytes.slice();
    flipped[at] = flipped[at]! ^ mask;
    let result: ImportedGRU | ImportedGRU[];
    try {
      result = file.read(flipped);
    } catch (error) {
      if (error instanceof GRUError) return;
      throw new Error(`${file.name}: expected a GRUError or a valid parse, got ${errorText(error)}`);
    }
    mustValidate(file.name, result);
    return;
  }
  const { inputSize: I, hiddenSize: H } = shape;
  const D = shape.direction === 'bidirectional' ? 2 : 1;
  const o: GRUOptions = { inputSize: I, hiddenSize: H, numLayers: shape.numLayers, direction: D === 2 ? 'bidirectional' : 'forward' };
  const L = shape.numLayers;
  if (kind === 'tensors') {
    // One tensor of a PyTorch state_dict of the wrong shape, or missing: the error names it.
    const tensors = stateDict(o, drawWeights(d, o, 'both'), 'rnn.');
    const i = d.int(0, tensors.length - 1);
    const t = tensors[i]!;
    const broken = d.first<Broken>([
      () => {
        if (t.name.includes('weight_ih_l0')) return undefined; // it defines I: any width is valid
        const shape2 = t.shape.length === 1 ? [t.shape[0]! + 3] : [t.shape[0]!, t.shape[1]! + 1];
        tensors[i] = { ...t, shape: shape2, data: new Float32Array(shape2.reduce((a, b) => a * b, 1)) };
        return { what: `${t.name} of shape [${shape2.join(', ')}]`, names: t.name };
      },
      () => {
        tensors[i] = { ...t, shape: [...t.shape, 1] };
        return { what: `${t.name} of shape [${t.shape.join(', ')}, 1]`, names: t.name };
      },
      () => {
        if (t.name === 'rnn.weight_ih_l0') return undefined; // no GRU at all: nothing to name
        tensors.splice(i, 1);
        return { what: `${t.name} missing`, names: t.name };
      },
      () => {
        tensors[i] = { ...t, data: t.data.subarray(1) };
        return { what: `${t.name} with a value missing`, names: t.name };
      },
    ]);
    const file = d.chance(0.5);
    ctx.what = `import, invalid: a PyTorch ${file ? 'safetensors file' : 'dict'} of ${JSON.stringify(o)} with ${broken.what}`;
    await mustThrow(
      file ? 'fromSafetensors' : 'fromPyTorch',
      broken,
      () =>
        file
          ? fromSafetensors(safetensorsOf(tensors))
          : fromPyTorch(Object.fromEntries(tensors.map((x) => [x.name, { shape: x.shape, data: x.data }]))),
      'anywhere',
    );
    return;
  }
  if (kind === 'webnn') {
    const w = drawWeights(d, { ...o, numLayers: 1 }, 'both');
    const input: Record<string, unknown> = {
      weight: joined(w.map((e) => e.weightIh)),
      recurrentWeight: joined(w.map((e) => e.weightHh)),
      bias: joined(w.map((e) => e.biasIh!)),
      recurrentBias: joined(w.map((e) => e.biasHh!)),
      hiddenSize: H,
      inputSize: I,
      direction: D === 2 ? 'both' : 'forward',
    };
    const set = (key: string, value: unknown): Broken => {
      input[key] = value;
      return { what: `input.${key} = ${show(value)}`, names: `input.${key}` };
    };
    const broken = d.first<Broken>([
      () => set('weight', wrongArray(d, D * 3 * H * I)),
      () => set('recurrentWeight', wrongArray(d, D * 3 * H * H)),
      () => set(d.pick(['bias', 'recurrentBias']), wrongArray(d, D * 3 * H)),
      () => set('initialHiddenState', d.pick<unknown>([new Float32Array(D * H + 1), new Float32Array(0), [0]])),
      () => set('hiddenSize', d.pick(NOT_COUNTS)),
      () => set('inputSize', d.pick(NOT_COUNTS)),
      () => set('direction', d.pick(['bidirectional', 'reverse', 1])),
      () => set('layout', d.pick(['nzr', 'ZRN', 0])),
      () => set('resetAfter', d.pick(['yes', 1])),
      () => set('activations', d.pick<unknown>([['sigmoid'], ['sigmoid', 'gelu'], 'tanh'])),
      () => set('numDirections', D === 2 ? 1 : 2),
      () => {
        input[d.pick(['weights', 'hidden_size', 'gateOrder'])] = 1;
        return { what: 'an unknown key', names: 'input' };
      },
    ]);
    ctx.what = `import, invalid: WebNN arrays of ${JSON.stringify({ ...o, numLayers: 1 })} with ${broken.what}`;
    await mustThrow('fromWebNN', broken, () => fromWebNN(input as unknown as WebNNGRUInput));
    return;
  }
  const tensors = stateDict(o, drawWeights(d, o, 'none'), 'rnn.');
  const file = safetensorsOf(tensors);
  const [label, broken, call] = d.pick<[string, Broken, () => unknown]>([
    [
      'fromSafetensors',
      { what: 'options { batchfirst: true }', names: 'options' },
      () => fromSafetensors(file, { batchfirst: true } as never),
    ],
    [
      'fromSafetensors',
      { what: "options { prefix: 'encoder.' }", names: 'options.prefix' },
      () => fromSafetensors(file, { prefix: 'encoder.' }),
    ],
    ['fromSafetensors', { what: 'bytes = a string', names: 'bytes' }, () => fromSafetensors('model.safetensors' as never)],
    ['fromONNX', { what: 'bytes = a number', names: 'bytes' }, () => fromONNX(42 as never)],
    [
      'fromTFJSLayersModel',
      { what: "options { hardSigmoid: 'keras2' }", names: 'options.hardSigmoid' },
      () => {
        const tfjs = loadTFJS('tfjs-gru');
        return fromTFJSLayersModel(tfjs.model, tfjs.shards, { hardSigmoid: 'keras2' as never });
      },
    ],
  ]);
  ctx.what = `import, invalid: ${label} with ${broken.what} (${L} layers)`;
  await mustThrow(label, broken, call);
}
