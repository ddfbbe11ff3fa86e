/**
 * Golden fixtures from outside authorities (test/fixtures, written by scripts/fixtures/gen_golden.py):
 * PyTorch nn.GRU / nn.GRUCell in float64, and the ONNX GRU operator definition for both values of
 * linear_before_reset, with sequence_lens.
 * Tolerances: the reference (float64 accumulation, float32 result) within 2e-7 absolute + 2e-7
 * relative — about 3 float32 rounding steps; the GPU within F32_TOLERANCE (1e-5 + 1e-5·|e|).
 */
import { GRU, gruReference, type GRUOptions, type GRUWeights, type RunArgs } from '../../src/index.js';
import type { Case } from './registry.js';
import { assertClose, F32_TOLERANCE, record, type Tolerance } from './util.js';

interface Fixture {
  name: string;
  source: string;
  options: GRUOptions;
  weights: Record<string, number[]>[];
  steps: number;
  batch: number;
  input: number[];
  h0: number[] | null;
  seqLengths: number[] | null;
  output: number[];
  hN: number[];
}

const REFERENCE_TOLERANCE: Tolerance = { rtol: 2e-7, atol: 2e-7 };

/** The largest |GPU − fixture| seen, for the run's summary. */
export const goldenWorst = { maxAbs: 0 };

const files = import.meta.glob<Fixture>('../fixtures/*.json', { eager: true, import: 'default' });

function load(f: Fixture): { weights: GRUWeights[]; input: Float32Array; args: RunArgs } {
  const weights = f.weights.map((w) => {
    const out: GRUWeights = { weightIh: Float32Array.from(w.weightIh), weightHh: Float32Array.from(w.weightHh) };
    if (w.biasIh) out.biasIh = Float32Array.from(w.biasIh);
    if (w.biasHh) out.biasHh = Float32Array.from(w.biasHh);
    return out;
  });
  const args: RunArgs = { steps: f.steps, batch: f.batch };
  if (f.h0) args.h0 = Float32Array.from(f.h0);
  if (f.seqLengths) args.seqLengths = Int32Array.from(f.seqLengths);
  return { weights, input: Float32Array.from(f.input), args };
}

export const fixtures: Fixture[] = Object.values(files).sort((a, b) => a.name.localeCompare(b.name));

export const goldenCases: Case[] = fixtures.flatMap((f): Case[] => [
  {
    name: `golden ${f.name}: reference vs ${f.source.split(' (')[0]}`,
    async run() {
      const { weights, input, args } = load(f);
      const got = gruReference(f.options, weights, input, args);
      assertClose(`${f.name} output`, got.output, f.output, REFERENCE_TOLERANCE);
      assertClose(`${f.name} hN`, got.hN, f.hN, REFERENCE_TOLERANCE);
    },
  },
  {
    name: `golden ${f.name}: GPU`,
    async run(device) {
      const { weights, input, args } = load(f);
      const gru = await GRU.create(device, f.options, weights);
      try {
        const got = await gru.forward(input, args);
        for (const d of [
          assertClose(`${f.name} output`, got.output, f.output, F32_TOLERANCE),
          assertClose(`${f.name} hN`, got.hN, f.hN, F32_TOLERANCE),
        ]) {
          record(d);
          goldenWorst.maxAbs = Math.max(goldenWorst.maxAbs, d.maxAbs);
        }
      } finally {
        gru.destroy();
      }
    },
  },
]);

/** At least one fixture of each authority and variant must be present, or the glob broke. */
export const fixtureInventoryCase: Case = {
  name: 'golden fixtures: PyTorch and ONNX (both reset variants, seqLengths) are all present',
  async run() {
    const need = [
      (f: Fixture) => f.source.includes('torch') && f.options.resetAfter === true,
      (f: Fixture) => f.source.includes('ONNX') && f.options.resetAfter === false && f.seqLengths !== null,
      (f: Fixture) => f.source.includes('ONNX') && f.options.resetAfter === true,
      (f: Fixture) => f.options.direction === 'reverse',
      (f: Fixture) => f.options.batchFirst === true && (f.options.numLayers ?? 1) > 1,
    ];
    if (fixtures.length < 12) throw new Error(`expected 12 golden fixtures, found ${fixtures.length}`);
    need.forEach((test, i) => {
      if (!fixtures.some(test)) throw new Error(`no golden fixture for requirement ${i}`);
    });
  },
};
