// A Node ESM app that installed the npm tarball (test/package.test.ts copies it into a scratch app
// with `"type": "module"`, next to case.json). Plain `node`, no flags: what a user runs. It imports
// both entry points by name, runs the case on the embedded WebAssembly kernels (one thread, and a
// worker pool that every forward uses: its workers must start from the installed bundle too), lets
// createGRU choose (no navigator.gpu in Node: wasm), and checks that without the optional peer
// `webgpu` the Node entry fails with a GRUError that says what to install. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { createGRU, GRUError, gruReference, WasmGRU } from 'webgpu-gru';
import * as nodeEntry from 'webgpu-gru/node';

const c = JSON.parse(readFileSync(new URL('./case.json', import.meta.url), 'utf8'));
const weights = c.weights.map((w) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Float32Array.from(v)])));
const input = Float32Array.from(c.input);
const want = gruReference(c.options, weights, input, c.args);

let maxDiff = 0;
const compare = ({ output, hN }) => {
  if (output.length !== want.output.length || hN.length !== want.hN.length) throw new Error('result of the wrong size');
  output.forEach((v, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - want.output[i]));
  });
  hN.forEach((v, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - want.hN[i]));
  });
};

const forwards = [];
for (const threads of [1, 2]) {
  const gru = await WasmGRU.create(c.options, weights, { threads, poolThreshold: 0 });
  compare(await gru.forward(input, c.args));
  forwards.push(`WasmGRU threads ${threads}`);
  gru.destroy();
}
const auto = await createGRU(c.options, weights);
compare(await auto.forward(input, c.args));
forwards.push(`createGRU -> ${auto.backend}`);
auto.destroy();

let withoutPeer = 'resolved';
try {
  (await nodeEntry.requestDevice({ quiet: true })).destroy();
} catch (error) {
  withoutPeer = `${error instanceof GRUError ? 'GRUError' : 'other'}: ${error.message}`;
}

console.log(
  JSON.stringify({
    maxDiff,
    outputLength: want.output.length,
    forwards,
    auto: { backend: auto.backend, reason: auto.reason },
    nodeExports: Object.keys(nodeEntry).sort(),
    withoutPeer,
  }),
);
