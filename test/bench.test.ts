/**
 * The benchmark's hand-written ONNX encoder (bench/lib/onnx.ts), checked three ways:
 *   1. known bytes: the protobuf documentation's examples and a negative int64;
 *   2. an independent decoder (below, written from the wire-format spec, sharing no code with the
 *      encoder) reads the model back: op types, attributes, initializer shapes and bytes;
 *   3. onnxruntime-web's wasm backend in Node runs the model, and its output matches gruReference
 *      on the same weights (so the ONNX gate order z, r, h and linear_before_reset are right).
 * And the pure pieces the driver and the reports lean on: runner names (bench/lib/names.mjs), the
 * peak microbenchmark's module (bench/lib/peak.mjs: it does the chain steps its FLOP count
 * claims), and the baselines and peak fractions of bench/report.mjs.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { gruReference } from '../src/index.js';
import { gruOptions, makeData, maxAbsDiff, onnxModel, type BenchConfig } from '../bench/lib/configs.js';
import { isOptional, isOurVariant, parseRunnerId, selected, withThreads } from '../bench/lib/names.mjs';
import { ProtoWriter } from '../bench/lib/onnx.js';
import { peakModuleBytes, peakOps, UNROLL } from '../bench/lib/peak.mjs';
import { baselineCell, baselineName, derived, peakFraction, ratioOf } from '../bench/report.mjs';

type Field = { wire: number; value: bigint | Uint8Array };
type Fields = Map<number, Field[]>;

/** Decodes one message level: field number → values (varints as bigint, the rest as bytes). */
function decode(bytes: Uint8Array): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= bytes.length) throw new Error('truncated varint');
      const b = bytes[at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: bigint | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const n = Number(varint());
      value = bytes.subarray(at, at + n);
      at += n;
    } else if (wire === 5) {
      value = bytes.subarray(at, at + 4);
      at += 4;
    } else if (wire === 1) {
      value = bytes.subarray(at, at + 8);
      at += 8;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (at > bytes.length) throw new Error('truncated field');
    if (!fields.has(field)) fields.set(field, []);
    fields.get(field)!.push({ wire, value });
  }
  return fields;
}

const text = (f: Field | undefined) => new TextDecoder().decode(f!.value as Uint8Array);
const all = (m: Fields, n: number) => m.get(n) ?? [];
const one = (m: Fields, n: number) => all(m, n)[0];
const int = (f: Field | undefined) => BigInt.asIntN(64, f!.value as bigint);
function packed(f: Field): bigint[] {
  const bytes = f.value as Uint8Array;
  const out: bigint[] = [];
  let at = 0;
  while (at < bytes.length) {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    out.push(BigInt.asIntN(64, v));
  }
  return out;
}

const F: BenchConfig = {
  id: 'F',
  batch: 3,
  steps: 5,
  inputSize: 7,
  hiddenSize: 6,
  numLayers: 2,
  direction: 'bidirectional',
  streaming: false,
  fullOnly: false,
  what: 'test',
};

function model(c: BenchConfig) {
  const data = makeData(c, 7);
  return { data, bytes: onnxModel(c, data.weights) };
}

describe('bench/lib/onnx.ts protobuf encoder', () => {
  it('writes the protobuf documentation examples and negative int64 byte for byte', () => {
    // https://protobuf.dev/programming-guides/encoding/: field 1 = 150 → 08 96 01; field 2 = "testing".
    expect([...new ProtoWriter().varint(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().string(2, 'testing').finish()]).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    // int64 −1: ten bytes of two's complement.
    expect([...new ProtoWriter().varint(3, -1).finish()]).toEqual([0x18, ...Array(9).fill(0xff), 0x01]);
    // A float (wire type 5) and a packed repeated field.
    expect([...new ProtoWriter().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect([...new ProtoWriter().packedVarints(4, [3, 270, 86942]).finish()]).toEqual([0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
  });

  it('encodes a 2-layer bidirectional GRU model that an independent decoder reads back', () => {
    const { data, bytes } = model(F);
    const m = decode(bytes);
    expect(int(one(m, 1))).toBe(8n); // ir_version
    const opset = decode(one(m, 8)!.value as Uint8Array);
    expect(text(one(opset, 1))).toBe('');
    expect(int(one(opset, 2))).toBe(17n);
    const g = decode(one(m, 7)!.value as Uint8Array);
    const nodes = all(g, 1).map((f) => decode(f.value as Uint8Array));
    expect(nodes.map((n) => text(one(n, 4)))).toEqual(['GRU', 'Transpose', 'Reshape', 'GRU', 'Transpose', 'Reshape']);
    const gru = nodes[0]!;
    expect(all(gru, 1).map(text)).toEqual(['X', 'W0', 'R0', 'B0']);
    const attrs = new Map(
      all(gru, 5).map((f) => {
        const a = decode(f.value as Uint8Array);
        const type = Number(int(one(a, 20)));
        return [text(one(a, 1)), type === 2 ? int(one(a, 3)) : type === 3 ? text(one(a, 4)) : null] as const;
      }),
    );
    expect(attrs).toEqual(
      new Map<string, unknown>([
        ['hidden_size', 6n],
        ['direction', 'bidirectional'],
        ['linear_before_reset', 1n],
      ]),
    );
    const perm = decode(one(nodes[1]!, 5)!.value as Uint8Array);
    expect(int(one(perm, 20))).toBe(7n);
    expect(packed(one(perm, 8)!)).toEqual([0n, 2n, 1n, 3n]);

    const inits = new Map(
      all(g, 5).map((f) => {
        const t = decode(f.value as Uint8Array);
        return [
          text(one(t, 8)),
          { dims: packed(one(t, 1)!).map(Number), type: Number(int(one(t, 2))), raw: one(t, 9)!.value as Uint8Array },
        ];
      }),
    );
    expect(inits.get('shape_TBDH')!.type).toBe(7);
    expect([...new BigInt64Array(inits.get('shape_TBDH')!.raw.slice().buffer)]).toEqual([-1n, 3n, 12n]);
    expect(inits.get('W1')!.dims).toEqual([2, 18, 12]);
    expect(inits.get('R0')!.dims).toEqual([2, 18, 6]);
    expect(inits.get('B0')!.dims).toEqual([2, 36]);
    // W0 direction 1, first row of block z = our block z (rows H..2H) of weights[1].weightIh.
    const W0 = new Float32Array(inits.get('W0')!.raw.slice().buffer);
    const H = 6;
    const K = 7;
    const ours = data.weights[1]!.weightIh;
    expect(W0.subarray(3 * H * K, 3 * H * K + K)).toEqual(ours.subarray(H * K, H * K + K));
    expect(W0.subarray(3 * H * K + H * K, 3 * H * K + H * K + K)).toEqual(ours.subarray(0, K));

    const input = decode(one(g, 11)!.value as Uint8Array);
    expect(text(one(input, 1))).toBe('X');
    const shape = decode(one(decode(one(decode(one(input, 2)!.value as Uint8Array), 1)!.value as Uint8Array), 2)!.value as Uint8Array);
    expect(all(shape, 1).map((d) => int(one(decode(d.value as Uint8Array), 1)))).toEqual([5n, 3n, 7n]);
  });

  it('runs on onnxruntime-web (wasm, in Node) and matches gruReference', async () => {
    ort.env.wasm.numThreads = 1;
    for (const c of [F, { ...F, numLayers: 1, direction: 'forward' as const }]) {
      const { data, bytes } = model(c);
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      try {
        const x = new ort.Tensor('float32', data.input, [c.steps, c.batch, c.inputSize]);
        const { Y } = await session.run({ X: x });
        const D = c.direction === 'bidirectional' ? 2 : 1;
        expect(Y!.dims).toEqual([c.steps, c.batch, D * c.hiddenSize]);
        const want = gruReference(gruOptions(c), data.weights, data.input, { steps: c.steps, batch: c.batch }).output;
        expect(maxAbsDiff(Y!.data as Float32Array, want)).toBeLessThan(1e-5);
      } finally {
        await session.release();
      }
    }
  }, 20_000);
});

describe('bench/lib/names.mjs runner names', () => {
  it('names thread variants and parses them back', () => {
    expect(withThreads('ours-wasm', 1)).toBe('ours-wasm');
    expect(withThreads('ort-wasm', 2)).toBe('ort-wasm:threads=2');
    expect(() => withThreads('ours-wasm', 0)).toThrow(/ours-wasm.*positive integer.*got 0/);
    expect(parseRunnerId('ours-wasm-ra0:threads=16')).toEqual({ base: 'ours-wasm-ra0', variant: 'threads=16', threads: 16 });
    expect(parseRunnerId('ours-gpu:persistent-split')).toEqual({ base: 'ours-gpu', variant: 'persistent-split', threads: null });
    expect(parseRunnerId('tfjs-wasm')).toEqual({ base: 'tfjs-wasm', variant: null, threads: null });
    expect(parseRunnerId('ours-wasm:threads=0').threads).toBeNull();
  });

  it('selects a name with its variants, and never skips our wasm runners', () => {
    const ids = [
      'ours',
      'ours-gpu',
      'ours-gpu:int8',
      'ours-wasm',
      'ours-wasm:threads=2',
      'ours-wasm-ra0',
      'ours-auto',
      'ort-wasm',
      'ort-wasm:threads=2',
      'ort-webgpu',
    ];
    expect(ids.filter((id) => selected(['ours-wasm'], id))).toEqual(['ours-wasm', 'ours-wasm:threads=2', 'ours-wasm-ra0']);
    expect(ids.filter((id) => selected(['ort-wasm'], id))).toEqual(['ort-wasm', 'ort-wasm:threads=2']);
    expect(ids.filter((id) => selected(['ort-wasm:threads=2'], id))).toEqual(['ort-wasm:threads=2']);
    expect(ids.every((id) => selected(null, id))).toBe(true);
    const family = (id: string) => (id.startsWith('ours') ? 'ours' : 'peer');
    expect(ids.filter((id) => isOptional({ id, family: family(id) }))).toEqual([
      'ours-gpu:int8',
      'ort-wasm',
      'ort-wasm:threads=2',
      'ort-webgpu',
    ]);
    expect(ids.filter((id) => isOurVariant({ id, family: family(id) }))).toEqual(['ours-gpu:int8']);
    expect(isOptional({ id: 'reference', family: 'reference' })).toBe(true);
  });
});

describe('bench/lib/peak.mjs', () => {
  // acc ← acc·m + m in float32, `steps` times per chain; the module returns lane 0 of the chains' sum.
  const emulate = (chains: number, steps: number, fused: boolean) => {
    const f = Math.fround;
    const m = f(0.999);
    const accs = Array.from({ length: chains }, (_, i) => f(1 + i / 64));
    for (let s = 0; s < steps; s++) for (let i = 0; i < chains; i++) accs[i] = fused ? f(accs[i]! * m + m) : f(f(accs[i]! * m) + m);
    return accs.reduce((a, b) => f(a + b));
  };

  it('assembles valid modules that do n × UNROLL steps of every chain', () => {
    expect(peakOps()).toContain('mul-add');
    for (const chains of [8, 14]) {
      const run = new WebAssembly.Instance(new WebAssembly.Module(peakModuleBytes('mul-add', chains))).exports.run as (n: number) => number;
      expect(run(0)).toBe(emulate(chains, 0, false));
      expect(run(37)).toBe(emulate(chains, 37 * UNROLL, false));
    }
  });

  it('runs relaxed_madd where the engine validates it (this suite passes --experimental-wasm-relaxed-simd)', () => {
    expect(peakOps()).toEqual(['mul-add', 'relaxed-madd']);
    const run = new WebAssembly.Instance(new WebAssembly.Module(peakModuleBytes('relaxed-madd', 12))).exports.run as (n: number) => number;
    // Fused or not is the engine's choice: either rounding is right.
    expect([emulate(12, 50 * UNROLL, true), emulate(12, 50 * UNROLL, false)]).toContain(run(50));
  });
});

describe('bench/report.mjs baselines and peak fractions', () => {
  const runners = [
    { id: 'ours', family: 'ours', baseline: null, what: '' },
    { id: 'ours-wasm', family: 'ours', baseline: 'ours', what: '' },
    { id: 'ours-auto', family: 'ours', baseline: ['ours', 'ours-wasm'], what: '' },
    { id: 'ort-wasm', family: 'peer', baseline: 'ours-wasm', what: '' },
  ];
  const results = [
    { config: 'A', runner: 'ours', status: 'ok', medianMs: 10 },
    { config: 'A', runner: 'ours-wasm', status: 'ok', medianMs: 0.5, gflops: 9.8, threads: 1 },
    { config: 'A', runner: 'ours-auto', status: 'ok', medianMs: 0.6, gflops: 8.2, threads: 1 },
    { config: 'A', runner: 'ort-wasm', status: 'ok', medianMs: 1, gflops: 4.9, threads: 2 },
    { config: 'B', runner: 'ours', status: 'ok', medianMs: 100 },
    { config: 'B', runner: 'ours-wasm', status: 'error' },
    { config: 'B', runner: 'ours-auto', status: 'ok', medianMs: 50 },
  ];
  const byKey = new Map(results.map((r) => [`${r.config}/${r.runner}`, r]));
  const meta = { peak: { where: 'test', at: [{ threads: 1, gflops: 49, op: 'relaxed-madd', ops: {}, roundMs: 40 }] } };

  it('takes the fastest of a list that ran, and names it', () => {
    expect(baselineName(runners[2]!)).toBe('best(ours, ours-wasm)');
    expect(baselineCell(byKey, runners[2]!, 'A')?.runner).toBe('ours-wasm');
    expect(baselineCell(results, runners[2]!, 'B')?.runner).toBe('ours');
    expect(ratioOf(byKey, runners[2]!, 'A')).toBeCloseTo(1.2);
    expect(ratioOf(byKey, runners[2]!, 'B')).toBeCloseTo(0.5);
    expect(ratioOf(byKey, runners[0]!, 'A')).toBeUndefined();
    expect(ratioOf(byKey, runners[3]!, 'A')).toBeCloseTo(2);
  });

  it("divides by the peak at the cell's thread count, and only there", () => {
    expect(peakFraction(meta, results[1]!)).toBeCloseTo(0.2);
    expect(peakFraction(meta, results[3]!)).toBeUndefined(); // no peak measured at 2 threads
    expect(peakFraction(meta, results[0]!)).toBeUndefined(); // not a CPU runner
    const d = derived({ meta, configs: [{ id: 'A' }, { id: 'B' }] as never, runners, results });
    expect(d.ratios.find((r) => r.config === 'B' && r.runner === 'ours-auto')).toEqual({
      config: 'B',
      runner: 'ours-auto',
      baseline: 'ours',
      ratio: 0.5,
    });
    expect(d.ofPeak.map((x) => x.runner)).toEqual(['ours-wasm', 'ours-auto']);
  });
});
