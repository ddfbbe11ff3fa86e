/**
 * Every activation of the ONNX set, as the gate activation f and as the candidate activation g
 * (each appears in both roles), with non-default alpha/beta, plus clip with both reset variants.
 * GPU vs reference at F32_TOLERANCE. The reference's formulas are pinned to hand-computed values.
 */
import type { Activation, GRUOptions } from '../../src/index.js';
import { activate } from '../../src/reference.js';
import { resolveOptions } from '../../src/options.js';
import type { Case } from './registry.js';
import { checkAgainstReference, randomWeights, rng, uniform, type CaseData } from './util.js';

const ACTIVATIONS: Activation[] = [
  'sigmoid',
  'tanh',
  'relu',
  { name: 'hardSigmoid', alpha: 0.3, beta: 0.45 },
  { name: 'leakyRelu', alpha: 0.2 },
  { name: 'elu', alpha: 0.7 },
  { name: 'softsign' },
  { name: 'softplus' },
  { name: 'scaledTanh', alpha: 0.9, beta: 1.3 },
  { name: 'affine', alpha: 0.5, beta: 0.1 },
  { name: 'thresholdedRelu', alpha: 0.25 },
];

/** Gate activations whose values stay within [−1, 1]. */
const BOUNDED = new Set(['sigmoid', 'tanh', 'hardSigmoid', 'softsign']);

const label = (a: Activation) => (typeof a === 'string' ? a : a.name);

interface ActivationConfig {
  name: string;
  data(): CaseData;
}

function activationConfig(f: Activation, g: Activation, index: number, clip?: number, resetAfter = index % 2 === 0): ActivationConfig {
  const o: GRUOptions = {
    inputSize: 5,
    hiddenSize: 17,
    direction: index % 3 === 0 ? 'bidirectional' : 'forward',
    resetAfter,
    gateOrder: index % 2 ? 'zrn' : 'rzn',
    activations: [f, g],
    ...(clip !== undefined ? { clip } : {}),
  };
  return {
    name: `activations f=${label(f)} g=${label(g)}${clip !== undefined ? ` clip=${clip}` : ''} ${resetAfter ? 'resetAfter' : 'resetFirst'}`,
    data() {
      const steps = 7;
      const batch = 3;
      const random = rng(500 + index);
      // Inputs at scale 2 push pre-activations past ±1, into every branch of the activations.
      // An unbounded gate activation lets z leave [0, 1] and h grow geometrically, so those
      // cases get smaller weights to stay finite over the 7 steps.
      const input = uniform(random, steps * batch * o.inputSize, 2);
      const scale = BOUNDED.has(label(f)) ? 0.8 : 0.25;
      return { options: o, weights: randomWeights(o, 600 + index, scale), input, args: { steps, batch } };
    },
  };
}

/** Every activation in both roles, and clip with both reset variants (also run by test/suite/wasm.ts). */
export const ACTIVATION_CONFIGS: ActivationConfig[] = [
  ...ACTIVATIONS.map((f, i) => activationConfig(f, ACTIVATIONS[(i + 5) % ACTIVATIONS.length], i)),
  activationConfig('sigmoid', 'tanh', 20, 0.5, true),
  activationConfig('sigmoid', 'tanh', 21, 0.5, false),
  activationConfig({ name: 'hardSigmoid' }, 'relu', 22, 1.5, false),
];

export const activationCases: Case[] = [
  ...ACTIVATION_CONFIGS.map(
    (c): Case => ({
      name: c.name,
      async run(device) {
        const d = c.data();
        await checkAgainstReference(device, d.options, d.weights, d.input, d.args);
      },
    }),
  ),
  {
    name: 'activations: reference formulas, ONNX defaults, and every name camelCase or as ONNX spells it',
    async run() {
      const expect = (a: Activation, x: number, want: number) => {
        const resolved = resolveOptions({ inputSize: 1, hiddenSize: 1, activations: [a, 'tanh'] }).activations[0];
        const got = activate(resolved, x);
        if (Math.abs(got - want) > 1e-12) throw new Error(`${JSON.stringify(a)}(${x}) = ${got}, expected ${want}`);
      };
      expect('sigmoid', 0, 0.5);
      expect('tanh', 0.5, Math.tanh(0.5));
      expect('relu', -2, 0);
      expect({ name: 'hardSigmoid' }, 1, 0.7); // ONNX default alpha 0.2, beta 0.5
      expect({ name: 'hardSigmoid' }, 4, 1);
      expect({ name: 'leakyRelu' }, -2, -0.02); // alpha 0.01
      expect({ name: 'elu' }, -1, Math.exp(-1) - 1); // alpha 1
      expect({ name: 'softsign' }, 3, 0.75);
      expect({ name: 'softplus' }, 0, Math.log(2));
      expect({ name: 'softplus' }, 100, 100);
      expect({ name: 'scaledTanh', alpha: 2, beta: 0.5 }, 1, 2 * Math.tanh(0.5));
      expect({ name: 'affine', alpha: 3, beta: -1 }, 2, 5);
      expect({ name: 'thresholdedRelu' }, 1, 0); // alpha 1: x > alpha only
      expect({ name: 'thresholdedRelu' }, 1.5, 1.5);
      // Every activation by name, camelCase or as ONNX spells it, resolves as { name } with ONNX's defaults.
      const onnx = [
        'Sigmoid',
        'Tanh',
        'Relu',
        'HardSigmoid',
        'LeakyRelu',
        'Elu',
        'Softsign',
        'Softplus',
        'ScaledTanh',
        'Affine',
        'ThresholdedRelu',
      ] as const;
      for (const name of onnx) {
        const camel = (name.charAt(0).toLowerCase() + name.slice(1)) as Exclude<Activation, object>;
        const resolve = (a: Activation) => JSON.stringify(resolveOptions({ inputSize: 1, hiddenSize: 1, activations: [a, a] }).activations);
        const want = resolve({ name: camel } as Activation);
        for (const spelling of [camel, name]) {
          if (resolve(spelling) !== want)
            throw new Error(`activation ${JSON.stringify(spelling)} resolves to ${resolve(spelling)}, expected ${want}`);
        }
      }
    },
  },
];
