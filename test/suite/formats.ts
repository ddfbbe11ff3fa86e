/**
 * Packed recurrent weights (weightFormat 'f16' and 'int8') against the float64 reference run on
 * the unquantised float32 weights, under every schedule and both reset variants, with odd sizes
 * (packs that straddle the end of H). Tolerances, |a − e| ≤ atol + rtol·|e|: f16 2e-4 + 1e-3·|e|,
 * int8 2e-3 + 1e-2·|e| — about 4× the largest absolute errors measured here (2.5e-5 and 5.8e-4),
 * which come from the rounding of the weights (2^-11 relative, and 1/254 of a row's range), not
 * from the arithmetic, which is f32 throughout.
 */
import { GRU, type GRUOptions, type WeightFormat } from '../../src/index.js';
import { toHalf } from '../../src/half.js';
import type { Case } from './registry.js';
import { checkAgainstReference, randomWeights, rng, uniform, type Tolerance } from './util.js';

export const TOLERANCE: Record<'f16' | 'int8', Tolerance> = {
  f16: { rtol: 1e-3, atol: 2e-4 },
  int8: { rtol: 1e-2, atol: 2e-3 },
};

export const SHAPES: { o: GRUOptions; steps: number; batch: number }[] = [
  { o: { inputSize: 3, hiddenSize: 17, numLayers: 2 }, steps: 20, batch: 3 },
  { o: { inputSize: 5, hiddenSize: 65, direction: 'bidirectional', resetAfter: false, gateOrder: 'zrn' }, steps: 9, batch: 5 },
  { o: { inputSize: 7, hiddenSize: 1, direction: 'reverse' }, steps: 7, batch: 2 },
];

export const formatCases: Case[] = [
  ...(['f16', 'int8'] as const).flatMap((format) =>
    SHAPES.flatMap(({ o, steps, batch }, index) =>
      GRU.schedules
        .filter((schedule) => schedule !== 'wavefront' || o.direction !== 'bidirectional')
        .map(
          (schedule): Case => ({
            name: `weightFormat ${format} ${schedule} H=${o.hiddenSize} ${o.direction ?? 'forward'} ${o.resetAfter === false ? 'resetFirst' : 'resetAfter'}`,
            async run(device) {
              const options = { ...o, weightFormat: format as WeightFormat, schedule };
              const random = rng(700 + index);
              const input = uniform(random, steps * batch * o.inputSize, 1);
              await checkAgainstReference(device, options, randomWeights(o, 710 + index), input, { steps, batch }, TOLERANCE[format]);
            },
          }),
        ),
    ),
  ),
  {
    name: 'weightFormat: float32 → float16 rounding matches IEEE binary16',
    async run() {
      const cases: [number, number][] = [
        [0, 0x0000],
        [-0, 0x8000],
        [1, 0x3c00],
        [-2, 0xc000],
        [65504, 0x7bff], // largest finite
        [65520, 0x7c00], // rounds up to infinity
        [2 ** -24, 0x0001], // smallest subnormal
        [2 ** -25, 0x0000], // ties to even: 0
        [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal ulps: even
        [1 + 2 ** -11, 0x3c00], // tie: stays at even 1.0
        [1 + 3 * 2 ** -11, 0x3c02], // tie: rounds up to even
        [0.1, 0x2e66],
        [Infinity, 0x7c00],
      ];
      for (const [x, bits] of cases) {
        const got = toHalf(x);
        if (got !== bits) throw new Error(`toHalf(${x}) = 0x${got.toString(16)}, expected 0x${bits.toString(16)}`);
      }
      if ((toHalf(NaN) & 0x7c00) !== 0x7c00 || (toHalf(NaN) & 0x3ff) === 0) throw new Error('toHalf(NaN) is not a NaN');
    },
  },
];
