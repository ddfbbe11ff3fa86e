/**
 * The example's GRU, built by hand so that what comes out of the speakers can be predicted: with
 * every recurrent weight zero, the candidate n = tanh(drive · x) and the update gate a constant z =
 * `memory`, one step is
 *
 *   h_t[j] = (1 − memory) · tanh(drive · x_t[j]) + memory · h_{t−1}[j]
 *
 * a tanh soft clipper (distortion) on each sample, plus a faint copy of the output one block
 * (128 samples) earlier. Any trained GRU of inputSize = hiddenSize = 128 drops in instead (the
 * importers give options and weights in this shape); the processor does not know the difference.
 */
import type { GRUOptions, GRUWeights } from '../../src/index.js';
import { BLOCK } from './protocol.js';

export function softClipper(drive: number, memory: number): { options: GRUOptions; weights: GRUWeights[] } {
  if (!(drive > 0)) throw new Error(`drive: expected a positive gain, got ${drive}`);
  if (!(memory > 0 && memory < 1)) throw new Error(`memory: expected a fraction in (0, 1), got ${memory}`);
  const H = BLOCK;
  // Gate blocks in the default order r, z, n, H rows each.
  const weightIh = new Float32Array(3 * H * H);
  for (let j = 0; j < H; j++) weightIh[(2 * H + j) * H + j] = drive;
  const biasIh = new Float32Array(3 * H);
  biasIh.fill(Math.log(memory / (1 - memory)), H, 2 * H);
  return {
    options: { inputSize: H, hiddenSize: H },
    weights: [{ weightIh, weightHh: new Float32Array(3 * H * H), biasIh, biasHh: new Float32Array(3 * H) }],
  };
}
