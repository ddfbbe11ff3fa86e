// A consumer of the built package: imports it by name through the "exports" map, as an npm user
// would, runs a small GRU on the Node device and on the embedded WebAssembly kernels (one thread
// and a worker pool: the workers must start from the bundle too), and prints the largest
// difference from the reference.
import { createGRU, GRU, GRUError, gruReference, WasmGRU } from 'webgpu-gru';
import { requestDevice } from 'webgpu-gru/node';

const device = await requestDevice({ quiet: true });
const options = { inputSize: 3, hiddenSize: 5, direction: 'bidirectional' };
const random = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const weights = [0, 1].map(() => ({ weightIh: random(45), weightHh: random(75), biasIh: random(15), biasHh: random(15) }));
const input = random(4 * 2 * 3);
const gru = await GRU.create(device, options, weights);
const got = await gru.forward(input, { steps: 4, batch: 2 });
const want = gruReference(options, weights, input, { steps: 4, batch: 2 });
gru.destroy();
let maxDiff = 0;
const compare = (output) => {
  output.forEach((v, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - want.output[i]));
  });
};
compare(got.output);
for (const threads of [1, 2]) {
  const wasm = await WasmGRU.create(options, weights, { threads });
  compare((await wasm.forward(input, { steps: 4, batch: 2 })).output);
  wasm.destroy();
}
const auto = await createGRU(options, weights);
compare((await auto.forward(input, { steps: 4, batch: 2 })).output);
auto.destroy();
let rejected = false;
try {
  await GRU.create(device, { ...options, hiddenSize: 0 }, weights);
} catch (error) {
  rejected = error instanceof GRUError;
}
device.destroy();
console.log(JSON.stringify({ maxDiff, rejected, length: got.output.length, auto: auto.backend }));
