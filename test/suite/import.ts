/**
 * The importers against files written by the authorities themselves (test/fixtures/models, written
 * by scripts/fixtures/gen_models.py and gen_tfjs_model.mjs): PyTorch state_dicts as safetensors,
 * torch.onnx.export output, handwritten ONNX models cross-checked with onnxruntime, a tfjs-layers
 * model with tfjs' own predictions, handwritten Keras reset_after / Keras 3 models, WebNN arrays.
 * Each imported GRU runs on the device and on the CPU reference and is compared with the
 * authority's outputs. Then every importer gets truncated, corrupted and mismatched input and must
 * answer with a GRUError that says what is wrong — never another exception, a hang or a result
 * that does not validate.
 *
 * Fixture bytes reach both Node (vitest) and the browser page (Vite dev server) as data URLs through
 * `?url&inline`, so no case fetches anything. Nothing here touches the GPU before a case runs.
 */
import {
  fromONNX,
  fromPyTorch,
  fromSafetensors,
  fromTFJSLayersModel,
  fromWebNN,
  GRU,
  GRUError,
  gruReference,
  parseONNXTensor,
  parseSafetensors,
  safetensorsMetadata,
  type Activation,
  type GRUOptions,
  type GRUWeights,
  type ImportedGRU,
  type RunArgs,
} from '../../src/index.js';
import type { Case } from './registry.js';
import { assertClose, expectGRUError, F32_TOLERANCE, record, rng, type Difference, type Tolerance } from './util.js';

// ---------------------------------------------------------------------------------------------
// fixtures

const BINARIES = import.meta.glob<string>('../fixtures/models/*.{safetensors,onnx,bin,pb}', {
  query: '?url&inline',
  import: 'default',
  eager: true,
});
const JSONS = import.meta.glob<unknown>('../fixtures/models/*.json', { import: 'default', eager: true });

export function bytes(name: string): Uint8Array {
  const url = BINARIES[`../fixtures/models/${name}`];
  if (url === undefined) throw new Error(`no fixture test/fixtures/models/${name}`);
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) throw new Error(`${name}: expected an inlined data: URL, got ${url.slice(0, 40)}`);
  if (url.slice(0, comma).endsWith(';base64')) {
    const text = atob(url.slice(comma + 1));
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  return new TextEncoder().encode(decodeURIComponent(url.slice(comma + 1)));
}

function json<T>(name: string): T {
  const value = JSONS[`../fixtures/models/${name}`];
  if (value === undefined) throw new Error(`no fixture test/fixtures/models/${name}`);
  return structuredClone(value) as T;
}

/** float64 authorities (PyTorch, numpy) against the float64-accumulating reference: float32 rounding. */
const REFERENCE_TOLERANCE: Tolerance = { rtol: 2e-7, atol: 2e-7 };
/** tfjs computes in float32 itself. */
const TFJS_REFERENCE_TOLERANCE: Tolerance = { rtol: 2e-6, atol: 2e-6 };

/** Largest |GPU − authority| per importer, printed by the last case (and reported in the issue). */
const measured = new Map<string, number>();
function note(importer: string, d: Difference): void {
  measured.set(importer, Math.max(measured.get(importer) ?? 0, d.maxAbs));
}

interface Expectation {
  output?: ArrayLike<number> | null;
  hN?: ArrayLike<number> | null;
}

/**
 * Runs one imported GRU on the device and on the reference, compares both with the authority's
 * values and returns the device's result.
 */
async function runImported(
  device: GPUDevice,
  label: string,
  importer: string,
  g: { options: GRUOptions; weights: GRUWeights[] },
  input: Float32Array,
  args: RunArgs,
  want: Expectation,
  referenceTolerance: Tolerance = REFERENCE_TOLERANCE,
): Promise<{ output: Float32Array; hN: Float32Array }> {
  const ref = gruReference(g.options, g.weights, input, args);
  const gru = await GRU.create(device, g.options, g.weights);
  try {
    const got = await gru.forward(input, args);
    for (const key of ['output', 'hN'] as const) {
      const expected = want[key];
      if (!expected) continue;
      assertClose(`${label} reference ${key} vs ${importer}`, ref[key], expected, referenceTolerance);
      const d = assertClose(`${label} GPU ${key} vs ${importer}`, got[key], expected, F32_TOLERANCE);
      record(d);
      note(importer, d);
    }
    record(assertClose(`${label} GPU output vs reference`, got.output, ref.output, F32_TOLERANCE));
    record(assertClose(`${label} GPU hN vs reference`, got.hN, ref.hN, F32_TOLERANCE));
    return got;
  } finally {
    gru.destroy();
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEqualJSON(label: string, actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${label}: ${a}\n  expected ${e}`);
}

/** Every importer's failure must be a GRUError; a success must be a configuration GRU accepts. */
async function mustFailCleanlyOrValidate(label: string, run: () => ImportedGRU | ImportedGRU[]): Promise<'error' | 'ok'> {
  let result: ImportedGRU | ImportedGRU[];
  try {
    result = run();
  } catch (e) {
    if (e instanceof GRUError) return 'error';
    throw new Error(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a GRUError`);
  }
  for (const g of Array.isArray(result) ? result : [result]) {
    const o = g.options;
    const D = o.direction === 'bidirectional' ? 2 : 1;
    const L = o.numLayers ?? 1;
    // one step of one batch row on the reference: throws if options and weights disagree
    gruReference(o, g.weights, new Float32Array(o.inputSize), {
      steps: 1,
      batch: 1,
      ...(g.initialH && g.initialH.length === L * D * o.hiddenSize ? { h0: g.initialH } : {}),
    });
  }
  return 'ok';
}

/** Seeded positions for truncation and corruption tests, plus the structurally interesting ones. */
function positions(length: number, seed: number, count: number, extra: number[] = []): number[] {
  const random = rng(seed);
  const out = new Set<number>(extra.filter((p) => p >= 0 && p < length));
  while (out.size < Math.min(length, count + extra.length)) out.add(Math.floor(random() * length));
  return [...out].sort((a, b) => a - b);
}

function flipped(data: Uint8Array, at: number, mask: number): Uint8Array {
  const copy = data.slice();
  copy[at] = copy[at]! ^ mask;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// safetensors writer for crafted files

export type RawTensor = { name: string; dtype: string; shape: number[]; data: Uint8Array };

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function writeSafetensors(tensors: RawTensor[], edit?: (header: Record<string, unknown>) => void): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  edit?.(header);
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** The torch fixture's state_dict as raw F32 tensors (so that tests can edit it). */
function torchTensors(): RawTensor[] {
  const parsed = parseSafetensors(bytes('torch-gru-in-model.safetensors'));
  return [...parsed].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, data: f32Bytes(t.data) }));
}

// ---------------------------------------------------------------------------------------------
// PyTorch

interface TorchModelFixture {
  prefix: string;
  keys: string[];
  options: GRUOptions;
  steps: number;
  batch: number;
  input: number[];
  h0: number[];
  expected: Record<'F32' | 'F16' | 'BF16', { output: number[]; hN: number[] }>;
}

const TORCH_FILES: [string, 'F32' | 'F16' | 'BF16'][] = [
  ['torch-gru-in-model.safetensors', 'F32'],
  ['torch-gru-in-model-f16.safetensors', 'F16'],
  ['torch-gru-in-model-bf16.safetensors', 'BF16'],
  ['torch-gru-in-model-f64.safetensors', 'F32'],
];

const pytorchCases: Case[] = [
  {
    name: 'import safetensors: every dtype decodes to the values numpy wrote, metadata included',
    async run() {
      const f = json<{ metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: number[] }> }>(
        'safetensors-dtypes.json',
      );
      const file = bytes('safetensors-dtypes.safetensors');
      const parsed = parseSafetensors(file);
      assertEqualJSON('metadata', safetensorsMetadata(file), f.metadata);
      assertEqualJSON('names', [...parsed.keys()].sort(), Object.keys(f.tensors).sort());
      for (const [name, want] of Object.entries(f.tensors)) {
        const t = parsed.get(name)!;
        assert(t.dtype === want.dtype, `${name}: dtype ${t.dtype}, expected ${want.dtype}`);
        assertEqualJSON(`${name} shape`, t.shape, want.shape);
        assert(t.data instanceof Float32Array, `${name}: not a Float32Array`);
        want.values.forEach((v, i) => {
          assert(Object.is(t.data[i], Math.fround(v)) || (v === 0 && t.data[i] === 0), `${name}[${i}] = ${t.data[i]}, expected ${v}`);
        });
      }
    },
  },
  {
    name: 'import PyTorch: safetensors of a model with a GRU inside (F32, F16, BF16, F64) vs PyTorch, GPU and reference',
    timeoutMs: 240_000,
    async run(device) {
      const f = json<TorchModelFixture>('torch-gru-in-model.json');
      for (const [file, variant] of TORCH_FILES) {
        const g = fromSafetensors(bytes(file), { batchFirst: true });
        assert(g.name === 'rnn', `${file}: name ${g.name}`);
        assertEqualJSON(`${file} options`, g.options, { ...f.options, activations: ['sigmoid', 'tanh'] });
        assert(g.initialH === undefined && g.seqLengths === undefined, `${file}: unexpected initialH/seqLengths`);
        await runImported(
          device,
          file,
          'PyTorch (safetensors)',
          g,
          Float32Array.from(f.input),
          { steps: f.steps, batch: f.batch, h0: Float32Array.from(f.h0) },
          f.expected[variant],
        );
      }
    },
  },
  {
    name: 'import PyTorch: fromPyTorch on parseSafetensors, on shapeless Float32Arrays and with an explicit prefix agree',
    async run() {
      const file = bytes('torch-gru-in-model.safetensors');
      const direct = fromSafetensors(file, { batchFirst: true });
      const parsed = parseSafetensors(file);
      const viaMap = fromPyTorch(parsed, { batchFirst: true });
      const record: Record<string, Float32Array> = {};
      for (const [name, t] of parsed) record[name] = t.data;
      const shapeless = fromPyTorch(record, { prefix: 'rnn', batchFirst: true });
      for (const g of [viaMap, shapeless]) {
        assertEqualJSON('options', g.options, direct.options);
        g.weights.forEach((w, i) => {
          for (const key of ['weightIh', 'weightHh', 'biasIh', 'biasHh'] as const) {
            assertEqualJSON(`weights[${i}].${key}`, Array.from(w[key]!), Array.from(direct.weights[i]![key]!));
          }
        });
      }
      // the importer copies: editing the parsed tensors must not change an imported GRU
      parsed.get('rnn.weight_ih_l0')!.data.fill(0);
      assert(
        viaMap.weights[0]!.weightIh.some((v) => v !== 0),
        'the imported weights alias the input',
      );
    },
  },
  {
    name: 'import PyTorch: nn.GRUCell state_dict (golden torch-grucell) and bias=False',
    async run() {
      const golden = Object.values(
        import.meta.glob<Record<string, unknown>>('../fixtures/torch-grucell.json', { import: 'default', eager: true }),
      )[0] as {
        options: GRUOptions;
        weights: Record<string, number[]>[];
        steps: number;
        batch: number;
        input: number[];
        h0: number[];
        hN: number[];
      };
      const w = golden.weights[0]!;
      const g = fromPyTorch(
        new Map<string, Float32Array>([
          ['cell.weight_ih', Float32Array.from(w.weightIh!)],
          ['cell.weight_hh', Float32Array.from(w.weightHh!)],
          ['cell.bias_ih', Float32Array.from(w.biasIh!)],
          ['cell.bias_hh', Float32Array.from(w.biasHh!)],
        ]),
      );
      assert(g.name === 'cell' && g.options.numLayers === 1 && g.options.direction === 'forward', `GRUCell: ${JSON.stringify(g.options)}`);
      const ref = gruReference(g.options, g.weights, Float32Array.from(golden.input), {
        steps: golden.steps,
        batch: golden.batch,
        h0: Float32Array.from(golden.h0),
      });
      assertClose('GRUCell hN vs PyTorch', ref.hN, golden.hN, REFERENCE_TOLERANCE);
      // bias=False: no bias keys at all
      const noBias = fromPyTorch({ weight_ih_l0: new Float32Array(3 * 2 * 5), weight_hh_l0: new Float32Array(3 * 2 * 2) });
      assert(noBias.weights[0]!.biasIh === undefined && noBias.options.inputSize === 5 && noBias.name === '', 'bias=False');
    },
  },
];

// ---------------------------------------------------------------------------------------------
// ONNX

interface TorchONNXFixture {
  files: Record<string, 'h0' | 'zeros'>;
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  input: number[];
  h0: number[];
  expected: Record<'h0' | 'zeros', { output: number[]; hN: number[] }>;
}

interface ONNXNodeFixture {
  node: string;
  options: GRUOptions;
  input: number[];
  output: number[];
  hN: number[];
  seqLengths: number[] | null;
  h0: number[] | null;
}

const onnxCases: Case[] = [
  {
    name: 'import ONNX: torch.onnx.export of a 2-layer bidirectional nn.GRU (opsets 7, 14, 17) vs PyTorch, chained layer by layer',
    timeoutMs: 240_000,
    async run(device) {
      const f = json<TorchONNXFixture>('torch-gru-2layer-bidir-onnx.json');
      const { steps, batch, hiddenSize: H } = f;
      const state = H * batch * 2; // one layer's [D, B, H]
      for (const [file, which] of Object.entries(f.files)) {
        const layers = fromONNX(bytes(file));
        assert(layers.length === 2, `${file}: ${layers.length} GRU nodes, expected 2`);
        layers.forEach((g, l) => {
          assertEqualJSON(`${file} layer ${l} options`, g.options, {
            inputSize: l === 0 ? f.inputSize : 2 * H,
            hiddenSize: H,
            numLayers: 1,
            direction: 'bidirectional',
            batchFirst: false,
            resetAfter: true,
            gateOrder: 'zrn',
            activations: ['sigmoid', 'tanh'],
          });
          // torch exports h0 as a graph input sliced per layer; without h0, an Expand of zeros
          assert((g.onnx?.initialHFrom !== undefined) === (which === 'h0'), `${file} layer ${l}: initialHFrom ${g.onnx?.initialHFrom}`);
          assert(g.initialH === undefined, `${file}: a run-time h0 must not become initialH`);
        });
        const want = f.expected[which];
        const h0 = which === 'h0' ? Float32Array.from(f.h0) : undefined;
        let x: Float32Array = Float32Array.from(f.input);
        const hN: number[] = [];
        for (let l = 0; l < 2; l++) {
          const args: RunArgs = { steps, batch };
          if (h0) args.h0 = h0.slice(l * state, (l + 1) * state);
          const last = l === 1;
          const got = await runImported(device, `${file} layer ${l}`, 'ONNX (torch.onnx.export)', layers[l]!, x, args, {
            output: last ? want.output : null,
            hN: want.hN.slice(l * state, (l + 1) * state),
          });
          x = got.output;
          hN.push(...got.hN);
        }
        note('ONNX (torch.onnx.export)', assertClose(`${file} hN`, Float32Array.from(hN), want.hN, F32_TOLERANCE));
      }
    },
  },
  {
    name: 'import ONNX: handwritten models with every attribute, activation and storage form vs the spec (and onnxruntime)',
    timeoutMs: 240_000,
    async run(device) {
      const f = json<{ steps: number; batch: number; models: Record<string, ONNXNodeFixture[]> }>('onnx-gru-attrs.json');
      for (const [file, nodes] of Object.entries(f.models)) {
        const imported = fromONNX(bytes(file));
        assertEqualJSON(
          `${file} node names`,
          imported.map((g) => g.name),
          nodes.map((n) => n.node),
        );
        for (const [i, n] of nodes.entries()) {
          const g = imported[i]!;
          assertEqualJSON(`${n.node} options`, g.options, n.options);
          assertEqualJSON(`${n.node} seqLengths`, g.seqLengths ? Array.from(g.seqLengths) : null, n.seqLengths);
          if (n.h0) assertClose(`${n.node} initialH`, g.initialH!, n.h0, { rtol: 0, atol: 0 });
          else assert(g.initialH === undefined, `${n.node}: unexpected initialH`);
          const args: RunArgs = { steps: f.steps, batch: f.batch };
          if (g.initialH) args.h0 = g.initialH;
          if (g.seqLengths) args.seqLengths = g.seqLengths;
          await runImported(device, n.node, 'ONNX (handwritten, every attribute)', g, Float32Array.from(n.input), args, n);
        }
      }
    },
  },
  {
    name: 'import ONNX: backend-test-shaped models (W, R, B graph inputs from TensorProto .pb files)',
    async run(device) {
      const f = json<{ cases: Record<string, { steps: number; batch: number; input: number[]; hN: number[]; tensors: string[] }> }>(
        'onnx-backend-gru.json',
      );
      for (const [name, c] of Object.entries(f.cases)) {
        const model = bytes(`${name}.onnx`);
        await expectGRUError(
          () => fromONNX(model),
          /input W \("W"\) is not constant: it is a graph input; pass its value in options\.tensors\["W"\]/,
        );
        const tensors = Object.fromEntries(
          c.tensors.map((t) => {
            const parsed = parseONNXTensor(bytes(`${name}.${t}.pb`));
            assert(parsed.name === t && parsed.dataType === 'FLOAT', `${t}.pb: ${parsed.name} ${parsed.dataType}`);
            return [t, parsed as { shape: number[]; data: Float32Array }];
          }),
        );
        const [g] = fromONNX(model, { tensors });
        await runImported(
          device,
          name,
          'ONNX (backend tests)',
          g!,
          Float32Array.from(c.input),
          { steps: c.steps, batch: c.batch },
          { hN: c.hN },
        );
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Keras / TensorFlow.js

interface KerasLayerFixture {
  name: string;
  input?: number[];
  output: number[] | null;
  hN?: number[];
  outputWithTfjsHardSigmoid?: number[];
}

export function loadTFJS(stem: string): { model: Record<string, unknown>; shards: Uint8Array[] } {
  const model = json<Record<string, unknown>>(`${stem}.model.json`);
  const manifest = model.weightsManifest as { paths: string[] }[];
  return { model, shards: manifest.flatMap((g) => g.paths).map((p) => bytes(p)) };
}

/** [B, T, F] with the time axis reversed. */
function reverseTime(a: ArrayLike<number>, B: number, T: number): Float32Array {
  const F = a.length / (B * T);
  const out = new Float32Array(a.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) for (let k = 0; k < F; k++) out[(b * T + t) * F + k] = a[(b * T + (T - 1 - t)) * F + k]!;
  return out;
}

const kerasCases: Case[] = [
  {
    name: 'import TF.js: a tfjs-layers model (GRU, Bidirectional, go_backwards, use_bias=false, 2 shards) vs tfjs predict()',
    timeoutMs: 240_000,
    async run(device) {
      const f = json<{ batch: number; steps: number; input: number[]; layers: (KerasLayerFixture & { className: string })[] }>(
        'tfjs-gru.expected.json',
      );
      const { model, shards } = loadTFJS('tfjs-gru');
      const imported = fromTFJSLayersModel(model, shards);
      assertEqualJSON(
        'layers',
        imported.map((g) => g.name),
        ['gru_a', 'bidi', 'gru_c', 'gru_d'],
      );
      // the concatenated shards read the same
      const whole = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
      let at = 0;
      for (const s of shards) {
        whole.set(s, at);
        at += s.length;
      }
      assertEqualJSON(
        'one buffer = shards',
        fromTFJSLayersModel(JSON.stringify(model), whole.buffer).map((g) => Array.from(g.weights[0]!.weightIh)),
        imported.map((g) => Array.from(g.weights[0]!.weightIh)),
      );
      const [a, bidi, c, d] = imported as [ImportedGRU, ImportedGRU, ImportedGRU, ImportedGRU];
      const hard: Activation = { name: 'hardSigmoid', alpha: 0.2, beta: 0.5 };
      assertEqualJSON('gru_a activations', a.options.activations, [hard, 'tanh']);
      assert(a.options.batchFirst === true && a.options.resetAfter === false && a.options.gateOrder === 'zrn', 'gru_a options');
      assert(bidi.options.direction === 'bidirectional' && bidi.weights.length === 2, 'bidi');
      assert(c.options.direction === 'reverse' && c.keras?.goBackwards === true && c.weights[0]!.biasIh === undefined, 'gru_c');
      assert(d.keras?.returnSequences === false, 'gru_d returns its last state');
      const { batch: B, steps: T } = f;
      const args = { steps: T, batch: B };
      const out = f.layers.map((l) => Float32Array.from(l.output!));
      // each layer is fed tfjs' own input to it, so that a failure points at one layer
      await runImported(
        device,
        'gru_a',
        'TF.js (tfjs-layers predict)',
        a,
        Float32Array.from(f.input),
        args,
        { output: out[0] },
        TFJS_REFERENCE_TOLERANCE,
      );
      await runImported(device, 'bidi', 'TF.js (tfjs-layers predict)', bidi, out[0]!, args, { output: out[1] }, TFJS_REFERENCE_TOLERANCE);
      // go_backwards: Keras returns the sequence in processing order, i.e. ours reversed in time
      await runImported(
        device,
        'gru_c',
        'TF.js (tfjs-layers predict)',
        c,
        out[1]!,
        args,
        { output: reverseTime(out[2]!, B, T) },
        TFJS_REFERENCE_TOLERANCE,
      );
      await runImported(device, 'gru_d', 'TF.js (tfjs-layers predict)', d, out[2]!, args, { hN: out[3] }, TFJS_REFERENCE_TOLERANCE);
    },
  },
  {
    name: 'import Keras: reset_after=True (bias (2, 3H)), Bidirectional, float16/uint8-quantized weights, Keras 3 hard_sigmoid',
    timeoutMs: 240_000,
    async run(device) {
      const f = json<{ batch: number; steps: number; layers: KerasLayerFixture[] }>('keras-gru-reset-after.expected.json');
      const { model, shards } = loadTFJS('keras-gru-reset-after');
      const imported = fromTFJSLayersModel(model, shards);
      assertEqualJSON(
        'layers',
        imported.map((g) => g.name),
        f.layers.map((l) => l.name),
      );
      const args = { steps: f.steps, batch: f.batch };
      for (const [i, l] of f.layers.entries()) {
        const g = imported[i]!;
        assert(g.options.resetAfter === true, `${l.name}: resetAfter`);
        await runImported(device, l.name, 'Keras (reset_after, numpy)', g, Float32Array.from(l.input!), args, {
          output: l.output,
          hN: l.hN,
        });
      }
      const k3 = json<{ batch: number; steps: number; layers: KerasLayerFixture[] }>('keras3-gru-hard-sigmoid.expected.json');
      const keras3 = loadTFJS('keras3-gru-hard-sigmoid');
      const [g3] = fromTFJSLayersModel(keras3.model, keras3.shards);
      const l3 = k3.layers[0]!;
      assertEqualJSON('Keras 3 hard_sigmoid', g3!.options.activations![0], { name: 'hardSigmoid', alpha: 1 / 6, beta: 0.5 });
      const args3 = { steps: k3.steps, batch: k3.batch };
      await runImported(device, 'keras3', 'Keras (reset_after, numpy)', g3!, Float32Array.from(l3.input!), args3, {
        output: l3.output,
        hN: l3.hN,
      });
      // the override picks tfjs' definition
      const [tfjsStyle] = fromTFJSLayersModel(keras3.model, keras3.shards, { hardSigmoid: 'tfjs' });
      const ref = gruReference(tfjsStyle!.options, tfjsStyle!.weights, Float32Array.from(l3.input!), args3);
      assertClose('hardSigmoid: tfjs override', ref.output, l3.outputWithTfjsHardSigmoid!, REFERENCE_TOLERANCE);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// WebNN

/** Packs per-direction GRUWeights into WebNN's [D, 3H, K] / [D, 3H] arrays. */
function toWebNN(weights: GRUWeights[]): {
  weight: Float32Array;
  recurrentWeight: Float32Array;
  bias: Float32Array;
  recurrentBias: Float32Array;
} {
  const cat = (key: keyof GRUWeights) => {
    const parts = weights.map((w) => w[key]!);
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return { weight: cat('weightIh'), recurrentWeight: cat('weightHh'), bias: cat('biasIh'), recurrentBias: cat('biasHh') };
}

const webnnCases: Case[] = [
  {
    name: 'import WebNN: zrn arrays (from the torch ONNX export) and rzn arrays (from the PyTorch safetensors) vs PyTorch',
    timeoutMs: 240_000,
    async run(device) {
      const f = json<TorchONNXFixture>('torch-gru-2layer-bidir-onnx.json');
      const layers = fromONNX(bytes('torch-gru-2layer-bidir-opset14.onnx'));
      let x: Float32Array = Float32Array.from(f.input);
      for (const [l, g] of layers.entries()) {
        const w = fromWebNN({ ...toWebNN(g.weights), hiddenSize: f.hiddenSize, inputSize: g.options.inputSize, direction: 'both' });
        assertEqualJSON('WebNN zrn options', w.options, { ...g.options, batchFirst: false });
        const got = await runImported(
          device,
          `webnn zrn layer ${l}`,
          'WebNN arrays',
          w,
          x,
          { steps: f.steps, batch: f.batch },
          {
            output: l === 1 ? f.expected.zeros.output : null,
          },
        );
        x = got.output;
      }
      // rzn, one layer of the safetensors model run forward only ('forward' with numDirections 1)
      const torch = json<TorchModelFixture>('torch-gru-in-model.json');
      const st = fromSafetensors(bytes('torch-gru-in-model.safetensors'));
      const both = fromWebNN({ ...toWebNN(st.weights.slice(0, 2)), hiddenSize: 4, inputSize: 3, numDirections: 2, layout: 'rzn' });
      assert(both.options.direction === 'bidirectional' && both.options.gateOrder === 'rzn', 'numDirections 2 → both');
      const single = fromWebNN({
        ...toWebNN(st.weights.slice(1, 2)),
        hiddenSize: 4,
        inputSize: 3,
        layout: 'rzn',
        direction: 'backward',
        resetAfter: true,
      });
      assert(single.options.direction === 'reverse', "'backward' → 'reverse'");
      const input = Float32Array.from(torch.input);
      const args = { steps: torch.steps, batch: torch.batch };
      const whole = gruReference({ ...st.options, batchFirst: true, numLayers: 1 }, st.weights.slice(0, 2), input, args);
      await runImported(device, 'webnn rzn', 'WebNN arrays', { ...both, options: { ...both.options, batchFirst: true } }, input, args, {
        output: whole.output,
      });
      const rev = gruReference({ ...single.options, batchFirst: true }, single.weights, input, args);
      assertClose('webnn backward = the reverse half', rev.hN, whole.hN.slice(whole.hN.length / 2), REFERENCE_TOLERANCE);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// corrupted, truncated and mismatched input

const corruptionCases: Case[] = [
  {
    name: 'import errors: truncated, bit-flipped and malformed safetensors are GRUErrors naming the tensor or offset',
    async run() {
      const file = bytes('torch-gru-in-model.safetensors');
      const headerEnd = 8 + new DataView(file.buffer, file.byteOffset).getUint32(0, true);
      for (const at of positions(file.length, 1, 40, [0, 1, 7, 8, 9, headerEnd - 1, headerEnd, headerEnd + 1, file.length - 1])) {
        await expectGRUError(() => fromSafetensors(file.subarray(0, at)), /^safetensors: /);
        await expectGRUError(() => parseSafetensors(file.subarray(0, at)), /^safetensors: /);
      }
      await expectGRUError(
        () => parseSafetensors(file.subarray(0, 5)),
        /^safetensors: the file has 5 bytes, fewer than the 8 of its header length$/,
      );
      await expectGRUError(
        () => parseSafetensors(file.subarray(0, headerEnd + 100)),
        /^safetensors: tensor "[^"]+": data_offsets \[\d+, \d+\] run past the end of the data \(100 bytes\): the file is truncated$/,
      );
      await expectGRUError(
        () => parseSafetensors(file.subarray(0, 300)),
        /^safetensors: the header length at byte 0 is \d+, but only 292 bytes follow it/,
      );
      // the length's high bytes
      await expectGRUError(() => parseSafetensors(flipped(file, 5, 0x01)), /^safetensors: the header length at byte 0 is \d+, but only/);
      // trailing bytes
      const longer = new Uint8Array(file.length + 4);
      longer.set(file);
      await expectGRUError(() => parseSafetensors(longer), /cover \d+ data bytes but the file holds \d+ after its header/);
      // every byte of the header, flipped: a GRUError or, where JSON allows it (spaces), the same tensors
      let errors = 0;
      for (let at = 0; at < headerEnd; at++) {
        if ((await mustFailCleanlyOrValidate(`header byte ${at}`, () => fromSafetensors(flipped(file, at, 0x20)))) === 'error') errors++;
      }
      assert(errors > headerEnd * 0.8, `only ${errors} of ${headerEnd} header corruptions were detected`);
      // the data carries no checksum: flips there change weights (or give a non-finite one, an error)
      for (const at of positions(file.length - headerEnd, 2, 60).map((p) => p + headerEnd)) {
        await mustFailCleanlyOrValidate(`data byte ${at}`, () => fromSafetensors(flipped(file, at, 0x7f)));
      }
      const nan = file.slice();
      nan.set([0, 0, 0xc0, 0x7f], headerEnd); // the first tensor's first float becomes NaN
      await expectGRUError(() => fromSafetensors(nan), /element 0 is NaN; a weight must be finite/);
      // malformed headers
      const tensors = torchTensors();
      const cases: [(h: Record<string, unknown>) => void, RegExp][] = [
        [(h) => ((h['rnn.weight_ih_l0'] as { dtype: string }).dtype = 'F33'), /tensor "rnn\.weight_ih_l0": unsupported dtype "F33"/],
        [
          (h) => ((h['rnn.weight_ih_l0'] as { shape: unknown }).shape = [12, -3]),
          /tensor "rnn\.weight_ih_l0": expected shape as an array of non-negative integers, got \[12,-3\]/,
        ],
        [
          (h) => ((h['rnn.weight_ih_l0'] as { shape: number[] }).shape = [12, 4]),
          /tensor "rnn\.weight_ih_l0": F32 \[12, 4\] needs 192 bytes, but data_offsets \[0, 144\] hold 144/,
        ],
        [
          (h) => ((h['rnn.weight_ih_l0'] as { data_offsets: number[] }).data_offsets = [4, 148]),
          /tensor "rnn\.weight_ih_l0" starts at data offset 4, which leaves a gap/,
        ],
        [
          (h) => ((h['rnn.weight_hh_l0'] as { data_offsets: number[] }).data_offsets = [100, 292]),
          /starts at data offset 100, which overlaps the tensor before it/,
        ],
        [
          (h) => ((h['rnn.weight_hh_l0'] as { data_offsets: unknown }).data_offsets = [292, 100]),
          /expected data_offsets \[begin, end\] with 0 ≤ begin ≤ end, got \[292,100\]/,
        ],
        [(h) => (h.__metadata__ = { n: 3 }), /expected __metadata__ to map strings to strings/],
        [(h) => (h['rnn.weight_ih_l0'] = 'F32'), /tensor "rnn\.weight_ih_l0": expected \{ dtype, shape, data_offsets \}, got "F32"/],
      ];
      for (const [edit, pattern] of cases) await expectGRUError(() => parseSafetensors(writeSafetensors(tensors, edit)), pattern);
      const notJSON = writeSafetensors(tensors);
      notJSON[8] = 0x5b; // '{' → '['
      await expectGRUError(() => parseSafetensors(notJSON), /^safetensors: the header \(bytes 8 to \d+\) is not valid JSON/);
      await expectGRUError(() => parseSafetensors(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe])), /is not valid UTF-8/);
      await expectGRUError(
        () => parseSafetensors(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x5b, 0x5d])),
        /expected the header to be a JSON object, got array\(0\)/,
      );
      await expectGRUError(
        () => parseSafetensors('file.safetensors' as unknown as Uint8Array),
        /^bytes: expected the file's bytes as a Uint8Array or ArrayBuffer, got "file\.safetensors"$/,
      );
    },
  },
  {
    name: 'import errors: PyTorch tensors of the wrong shape or dtype, missing ones, ambiguous or non-GRU dicts',
    async run() {
      const tensors = torchTensors();
      const edit = (fn: (t: RawTensor[]) => RawTensor[]) => writeSafetensors(fn(tensors.map((t) => ({ ...t }))));
      const set = (name: string, change: Partial<RawTensor>) => edit((ts) => ts.map((t) => (t.name === name ? { ...t, ...change } : t)));
      const drop = (name: string) => edit((ts) => ts.filter((t) => t.name !== name));
      await expectGRUError(
        () => fromSafetensors(set('rnn.weight_hh_l1', { shape: [16, 3] })),
        /^rnn\.weight_hh_l1: expected shape \[12, 4\] \(3H, H with H = 4\), got \[16, 3\]$/,
      );
      await expectGRUError(
        () => fromSafetensors(set('rnn.weight_ih_l1_reverse', { shape: [12, 2, 4] })),
        /^rnn\.weight_ih_l1_reverse: expected shape \[12, 8\] \(3H, D·H with H = 4, D = 2\), got \[12, 2, 4\]$/,
      );
      await expectGRUError(
        () => fromSafetensors(set('rnn.weight_ih_l0_reverse', { shape: [12, 2], data: new Uint8Array(96) })),
        /^rnn\.weight_ih_l0_reverse: expected shape \[12, 3\] \(3H, I as in rnn\.weight_ih_l0\), got \[12, 2\]$/,
      );
      await expectGRUError(
        () => fromSafetensors(set('rnn.bias_hh_l0', { shape: [3, 4] })),
        /^rnn\.bias_hh_l0: expected shape \[12\] \(3H with H = 4\), got \[3, 4\]$/,
      );
      await expectGRUError(
        () => fromSafetensors(set('rnn.weight_hh_l0', { shape: [4, 12] })),
        /^tensors: no GRU found; "rnn\.weight_hh_l0" has shape \[4, 12\], which is not \[3H, H\]/,
      );
      await expectGRUError(
        () => fromSafetensors(set('rnn.weight_hh_l0', { shape: [4, 12] }), { prefix: 'rnn.' }),
        /^rnn\.weight_hh_l0: expected shape \[3H, H\], got \[4, 12\]$/,
      );
      await expectGRUError(
        () => fromSafetensors(set('rnn.bias_ih_l1', { dtype: 'I32' })),
        /^tensor "rnn\.bias_ih_l1": expected a floating-point dtype \(F64, F32, F16, BF16, F8_E4M3, F8_E5M2\), got I32$/,
      );
      await expectGRUError(
        () => fromSafetensors(drop('rnn.bias_hh_l1_reverse')),
        /^rnn\.bias_hh_l1_reverse is missing \(rnn\.bias_ih_l0 is present/,
      );
      await expectGRUError(
        () => fromSafetensors(drop('rnn.weight_hh_l1')),
        /^rnn\.weight_hh_l1 is missing \(the GRU has 2 layers, bidirectional\)$/,
      );
      await expectGRUError(
        () => fromSafetensors(drop('rnn.weight_ih_l1')),
        /^rnn\.weight_hh_l1 is present but rnn\.weight_ih_l1 is missing: layers must be numbered/,
      );
      await expectGRUError(() => fromSafetensors(drop('rnn.weight_ih_l0_reverse')), /is present but rnn\.weight_ih_l0_reverse is missing$/);
      await expectGRUError(
        () => fromSafetensors(bytes('torch-gru-in-model.safetensors'), { prefix: 'encoder' }),
        /^options\.prefix: no tensor named "encoderweight_ih_l0" .*prefixes in the dict: "rnn\."$/,
      );
      await expectGRUError(
        () => fromSafetensors(bytes('torch-gru-in-model.safetensors'), { batchfirst: true } as never),
        /^options: unknown option "batchfirst"/,
      );
      // plain records
      const H = 2;
      const gru = (p: string) => ({ [`${p}weight_ih_l0`]: new Float32Array(3 * H * 3), [`${p}weight_hh_l0`]: new Float32Array(3 * H * H) });
      await expectGRUError(
        () => fromPyTorch({ ...gru('enc.'), ...gru('dec.') }),
        /^tensors: 2 GRUs found \(prefixes "enc\.", "dec\."\); pass options\.prefix to choose one$/,
      );
      assert(fromPyTorch({ ...gru('enc.'), ...gru('dec.') }, { prefix: 'dec' }).name === 'dec', 'prefix picks one of two');
      const lstm = {
        'lstm.weight_ih_l0': { shape: [16, 3], data: new Float32Array(48) },
        'lstm.weight_hh_l0': { shape: [16, 4], data: new Float32Array(64) },
      };
      await expectGRUError(
        () => fromPyTorch(lstm),
        /^tensors: no GRU found; "lstm\.weight_hh_l0" has shape \[16, 4\], which is not \[3H, H\] \(an LSTM has 4 gate blocks/,
      );
      assert(fromPyTorch({ ...lstm, ...gru('rnn.') }).name === 'rnn', 'the GRU beside an LSTM is found');
      await expectGRUError(
        () => fromPyTorch({ 'head.weight': new Float32Array(4) }),
        /^tensors: no GRU found: no key ends in "weight_ih_l0" or "weight_ih" \(keys: "head\.weight"\)$/,
      );
      await expectGRUError(
        () => fromPyTorch({ weight_ih_l0: new Float32Array(18), weight_hh_l0: new Float32Array(11) }),
        /no GRU found; "weight_hh_l0" has 11 values/,
      );
      await expectGRUError(
        () => fromPyTorch({ weight_ih_l0: new Float32Array(17), weight_hh_l0: new Float32Array(12) }),
        /^weight_ih_l0: expected \[3H, I\] = 6·I values \(H = 2\), got 17$/,
      );
      await expectGRUError(
        () => fromPyTorch({ weight_ih_l0: new Int32Array(18), weight_hh_l0: new Float32Array(12) } as never),
        /^tensor "weight_ih_l0": expected a Float32Array or \{ shape, data: Float32Array \}, got Int32Array\(18\)$/,
      );
      await expectGRUError(
        () =>
          fromPyTorch({ weight_ih_l0: { shape: [6, 3], data: new Float32Array(18), dtype: 'I64' }, weight_hh_l0: new Float32Array(12) }),
        /^tensor "weight_ih_l0": expected a floating-point dtype \(F32, F16, BF16, F64\), got "I64"$/,
      );
      await expectGRUError(
        () => fromPyTorch({ weight_ih_l0: { shape: [6, 4], data: new Float32Array(18) }, weight_hh_l0: new Float32Array(12) }),
        /shape \[6, 4\] holds 24 values, data has 18/,
      );
      await expectGRUError(
        () => fromPyTorch({ ...gru(''), weight_hr_l0: new Float32Array(4) }),
        /^weight_hr_l0: a projection weight \(proj_size\) belongs to an LSTM, not a GRU$/,
      );
      await expectGRUError(
        () => fromPyTorch(new Float32Array(3) as never),
        /^tensors: expected a Map or a record of named tensors, got Float32Array\(3\)$/,
      );
    },
  },
  {
    name: 'import errors: truncated and bit-flipped ONNX files, non-constant, mis-shaped and mistyped GRU inputs',
    async run() {
      for (const file of ['torch-gru-2layer-bidir-opset14.onnx', 'onnx-gru-attrs.onnx']) {
        const model = bytes(file);
        // every truncation must be detected (torch writes the graph before opset_import)
        for (const at of positions(model.length, 3, 80, [0, 1, 2, 10, model.length - 1])) {
          await expectGRUError(() => fromONNX(model.subarray(0, at)), /^(ModelProto|ONNX)|truncated|claims \d+ bytes/);
        }
        let errors = 0;
        const flips = positions(model.length, 4, 150);
        for (const at of flips) {
          for (const mask of [0x80, 0x04]) {
            if ((await mustFailCleanlyOrValidate(`${file} byte ${at}`, () => fromONNX(flipped(model, at, mask)))) === 'error') errors++;
          }
        }
        assert(errors > 0, `${file}: no corruption detected`);
      }
      await expectGRUError(
        () => fromONNX(new Uint8Array([0x08, 0x80])),
        /^ModelProto: truncated varint at byte 1 \(the data ends at byte 2\)$/,
      );
      await expectGRUError(
        () => fromONNX(new Uint8Array([0x3a, 0x05, 0x0a])),
        /^ModelProto: field 7 at byte 0 claims 5 bytes, but only 1 remain/,
      );
      await expectGRUError(
        () => fromONNX(new Uint8Array([0x0b, 0x00])),
        /^ModelProto: field 1 at byte 0 has wire type group start, which ONNX does not use/,
      );
      await expectGRUError(() => fromONNX(new Uint8Array([0x08, 0x07])), /^ModelProto: no graph/);
      await expectGRUError(() => fromONNX(new Uint8Array([0x3a, 0x00])), /^ModelProto: no opset_import for the default ONNX domain/);
      await expectGRUError(
        () => fromONNX(new Uint8Array([0x3a, 0x00, 0x42, 0x02, 0x10, 0x06])),
        /^ModelProto: opset 6; fromONNX reads the GRU of opsets 7 to 22/,
      );
      await expectGRUError(
        () => fromONNX(new Uint8Array([0x3a, 0x02, 0x0a, 0x01])),
        /^ModelProto\.graph\.node\[0\]: truncated varint|ModelProto\.graph: field 1 at byte 2 claims 1 bytes/,
      );
      await expectGRUError(() => fromONNX(new TextEncoder().encode('{"format": "layers-model"}')), /ModelProto/);

      // W, R, B of the wrong shape or type, through options.tensors (which replaces initializers)
      const model = bytes('torch-gru-2layer-bidir-opset14.onnx');
      const [layer0] = fromONNX(model);
      const [, Wname, Rname, Bname] = layer0!.onnx!.inputs as [string, string, string, string];
      const label = /ONNX GRU node "\/GRU" input/.source;
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Wname]: { shape: [2, 12, 4], data: new Float32Array(96) } } }),
        new RegExp(
          `^${label} W \\("onnx::GRU_\\d+"\\): expected shape \\[2, 12, 3\\] \\(num_directions, 3·hidden_size, input_size with hidden_size = 4, input_size = 3 from X's declared shape \\[5, 2, 3\\]\\), got \\[2, 12, 4\\]$`,
        ),
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Wname]: { shape: [1, 12, 3], data: new Float32Array(36) } } }),
        new RegExp(`^${label} W \\("onnx::GRU_\\d+"\\): expected shape \\[2, 12, input_size\\] .*, got \\[1, 12, 3\\]$`),
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Rname]: { shape: [2, 12, 5], data: new Float32Array(120) } } }),
        new RegExp(`^${label} R \\("onnx::GRU_\\d+"\\): expected shape \\[2, 12, 4\\] .*, got \\[2, 12, 5\\]$`),
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Bname]: { shape: [2, 12], data: new Float32Array(24) } } }),
        new RegExp(`^${label} B \\("onnx::GRU_\\d+"\\): expected shape \\[2, 24\\] .*, got \\[2, 12\\]$`),
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Wname]: { shape: [2, 12, 3], data: new Int32Array(72) } } }),
        new RegExp(`^${label} W \\("onnx::GRU_\\d+"\\): expected a float tensor \\(FLOAT, FLOAT16, DOUBLE, BFLOAT16\\), got INT32$`),
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Wname]: { shape: [2, 12, 3], data: new Float32Array(72).fill(Infinity) } } }),
        /element 0 is Infinity; a weight must be finite/,
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Wname]: { shape: [2, 12, 3], data: new Float32Array(7) } } }),
        /shape \[2, 12, 3\] holds 72 values, data has 7/,
      );
      await expectGRUError(
        () => fromONNX(model, { tensors: { [Wname]: new Float32Array(72) as never } }),
        /expected \{ shape, data \}, got Float32Array\(72\)/,
      );
      await expectGRUError(() => fromONNX(model, { tensor: {} } as never), /^options: unknown option "tensor"; expected tensors$/);
      await expectGRUError(
        () => parseONNXTensor(bytes('onnx-backend-gru-defaults.W.pb').subarray(0, 60)),
        /^TensorProto: field \d+ at byte \d+ claims \d+ bytes|^TensorProto.*truncated/,
      );
      const w = bytes('onnx-backend-gru-defaults.R.pb');
      await expectGRUError(() => parseONNXTensor(w.subarray(0, w.length - 6)), /^TensorProto/);
      // a graph whose W is an unsupported computation names it
      const backend = bytes('onnx-backend-gru-defaults.onnx');
      await expectGRUError(
        () => fromONNX(backend, { tensors: { W: parseONNXTensor(bytes('onnx-backend-gru-defaults.W.pb')) } }),
        /input R \("R"\) is not constant: it is a graph input; pass its value in options\.tensors\["R"\]/,
      );
    },
  },
  {
    name: 'import errors: TF.js model.json and weight shards truncated, missing, mis-shaped, mistyped or unsupported',
    async run() {
      const { model, shards } = loadTFJS('tfjs-gru');
      const text = JSON.stringify(model);
      for (const at of positions(text.length, 5, 20, [0, 1, text.length - 1])) {
        await expectGRUError(
          () => fromTFJSLayersModel(text.slice(0, at), shards),
          /^modelJson: (not valid JSON|expected the parsed model\.json object)/,
        );
      }
      await expectGRUError(
        () => fromTFJSLayersModel(model, [shards[0]!]),
        /^weightData: holds 1040 bytes, but the weightsManifest describes 2064 \(a shard is missing or truncated\)$/,
      );
      await expectGRUError(
        () => fromTFJSLayersModel(model, [shards[0]!, shards[1]!.subarray(0, 1000)]),
        /^weightData: holds 2040 bytes, but the weightsManifest describes 2064/,
      );
      await expectGRUError(() => fromTFJSLayersModel(model, [...shards, new Uint8Array(8)]), /describes 2064 \(extra bytes/);
      await expectGRUError(
        () => fromTFJSLayersModel(model, ['x'] as never),
        /^weightData\[0\]: expected a weight shard as a Uint8Array or ArrayBuffer, got "x"$/,
      );
      const edited = (
        fn: (m: {
          modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
          weightsManifest: { weights: { name: string; shape: number[]; dtype: string }[] }[];
          format?: string;
        }) => void,
      ) => {
        const m = JSON.parse(text);
        fn(m);
        return m;
      };
      const spec = (m: Parameters<Parameters<typeof edited>[0]>[0], name: string) =>
        m.weightsManifest[0]!.weights.find((w) => w.name === name)!;
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (spec(m, 'gru_a/kernel').shape = [5, 9])),
            shards,
          ),
        /^layer "gru_a": weight "gru_a\/kernel": expected shape \[input_size, 15\] \(I, 3·units\), got \[5, 9\]$/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (spec(m, 'bidi/backward_gru_b/recurrent_kernel').shape = [12, 4])),
            shards,
          ),
        /^layer "bidi" \(backward layer\): weight "bidi\/backward_gru_b\/recurrent_kernel": expected shape \[4, 12\] \(units, 3·units\), got \[12, 4\]$/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (spec(m, 'gru_d/bias').dtype = 'int32')),
            shards,
          ),
        /^layer "gru_d": weight "gru_d\/bias": expected dtype float32, got int32$/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (spec(m, 'gru_a/recurrent_kernel').name = 'gru_a/other')),
            shards,
          ),
        /^layer "gru_a": no recurrent_kernel in weightsManifest \(weights named after the layer: "gru_a\/kernel", "gru_a\/other", "gru_a\/bias"\)$/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.modelTopology.config.layers[0]!.config.reset_after = true)),
            shards,
          ),
        /^layer "gru_a": weight "gru_a\/bias": expected shape \[2, 15\] \(reset_after true\), got \[15\]$/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.modelTopology.config.layers[2]!.config.use_bias = true)),
            shards,
          ),
        /^layer "gru_c": use_bias is true but weightsManifest has no bias for it/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.modelTopology.config.layers[1]!.config.merge_mode = 'sum')),
            shards,
          ),
        /^layer "bidi": Bidirectional merge_mode "sum" is not supported; webgpu-gru concatenates the directions/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.modelTopology.config.layers[3]!.config.recurrent_activation = 'swish')),
            shards,
          ),
        /^layer "gru_d": config\.recurrent_activation: activation "swish" is not supported/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.format = 'graph-model')),
            shards,
          ),
        /^modelJson\.format: expected 'layers-model', got "graph-model" \(a graph model has no Keras layers/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.weightsManifest = 3 as never)),
            shards,
          ),
        /^modelJson\.weightsManifest: expected an array/,
      );
      await expectGRUError(
        () =>
          fromTFJSLayersModel(
            edited((m) => (m.modelTopology = null as never)),
            shards,
          ),
        /^modelJson\.modelTopology: expected an object, got null$/,
      );
      await expectGRUError(
        () => fromTFJSLayersModel(model, shards, { hardSigmoid: 'keras2' } as never),
        /^options\.hardSigmoid: expected 'tfjs' or 'keras3', got "keras2"$/,
      );
      const nan = shards.map((s) => s.slice());
      new DataView(nan[0]!.buffer).setFloat32(0, NaN, true);
      await expectGRUError(() => fromTFJSLayersModel(model, nan), /^weight "gru_a\/kernel": element 0 is NaN/);
      // random flips in the weight data change values only; in model.json they give clean errors or a valid model
      for (const at of positions(text.length, 6, 40)) {
        const broken = text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 0x01) + text.slice(at + 1);
        await mustFailCleanlyOrValidate(`model.json char ${at}`, () => fromTFJSLayersModel(broken, shards));
      }
    },
  },
  {
    name: 'import errors: WebNN arrays of the wrong length, type or layout',
    async run() {
      const H = 2;
      const I = 3;
      const base = {
        weight: new Float32Array(2 * 3 * H * I),
        recurrentWeight: new Float32Array(2 * 3 * H * H),
        hiddenSize: H,
        inputSize: I,
        direction: 'both' as const,
      };
      assert(fromWebNN(base).weights.length === 2, 'valid');
      await expectGRUError(
        () => fromWebNN({ ...base, weight: new Float32Array(18) }),
        /^input\.weight: expected shape \[2, 6, 3\] = 36 values, got 18$/,
      );
      await expectGRUError(
        () => fromWebNN({ ...base, recurrentWeight: new Float64Array(24) as never }),
        /^input\.recurrentWeight: expected a Float32Array of shape \[2, 6, 2\] = 24 values, got Float64Array\(24\)$/,
      );
      await expectGRUError(
        () => fromWebNN({ ...base, bias: new Float32Array(6) }),
        /^input\.bias: expected shape \[2, 6\] = 12 values, got 6$/,
      );
      await expectGRUError(
        () => fromWebNN({ ...base, numDirections: 1 }),
        /^input\.numDirections: expected 2 \(direction 'both'\), got 1$/,
      );
      await expectGRUError(() => fromWebNN({ ...base, layout: 'nrz' as never }), /^input\.layout: expected 'zrn' or 'rzn', got "nrz"$/);
      await expectGRUError(
        () => fromWebNN({ ...base, activations: ['sigmoid', 'gelu'] as never }),
        /^input\.activations: expected two of 'sigmoid', 'tanh', 'relu'/,
      );
      await expectGRUError(() => fromWebNN({ ...base, hiddenSize: 0 }), /^input\.hiddenSize: expected a positive integer, got 0$/);
      await expectGRUError(
        () => fromWebNN({ ...base, initialHiddenState: new Float32Array(5) }),
        /^input\.initialHiddenState: expected a Float32Array of shape \[2, batch, 2\]/,
      );
      await expectGRUError(() => fromWebNN({ ...base, steps: 3 } as never), /^input: unknown key "steps"/);
      const lone = fromWebNN({ ...base, recurrentBias: new Float32Array(12).fill(1) });
      assert(lone.weights[1]!.biasIh!.every((v) => v === 0) && lone.weights[1]!.biasHh![0] === 1, 'a lone recurrentBias pairs with zeros');
    },
  },
  {
    name: 'import: largest differences from the authorities',
    async run() {
      // The GPU cases above fill `measured`; in the browser each case runs in the same page, so this
      // sees them too. Printed for the issue's note.
      const lines = [...measured].map(([k, v]) => `  ${k}: max |GPU − authority| = ${v.toExponential(2)}`);
      if (lines.length > 0) console.log(`import differences:\n${lines.join('\n')}`);
    },
  },
];

export const importCases: Case[] = [...pytorchCases, ...onnxCases, ...kerasCases, ...webnnCases, ...corruptionCases];
