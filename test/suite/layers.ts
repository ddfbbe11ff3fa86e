/**
 * The layers around the GRU (src/layers/) against their CPU twins, on seeded data of odd sizes,
 * and the demo's character model built from them (demo/char-model.ts: application code that lives
 * with the demo, tested here so that it runs in Node and in Chromium like the layers):
 * - embedding: bit-exact (the kernel copies rows; an id outside the vocabulary gives zeros);
 * - linear head: |gpu − twin| ≤ 1e-5 + 1e-5·|twin| (float32 dot products of up to 256 terms
 *   against float64 ones: the error seen is below 2e-6);
 * - argmax: exact, ties to the first maximum;
 * - CharModel (the GPU loop: ids → embedding → GRU step → head → argmax → ids, one submit per
 *   step) against CharModelReference (gruReference and the twins): the same greedy tokens, and
 *   logits within 1e-4 + 1e-4·|twin| after 40 steps of recurrence (seen: below 1e-5); the twin's
 *   own top-1/top-2 margin is asserted ≥ 0.05 along the path so that the comparison is meaningful;
 * - CharModelWasm (createCharModel on the wasm backend: WasmGRU.stepSync, then the head and argmax
 *   twins in float64) against the same twin on the same path, under both SIMD builds: the same
 *   greedy and sampled tokens, logits within 1e-5 + 1e-5·|twin| (only the GRU step is float32
 *   there; seen: below 1e-6, so 10× that);
 * - bad arguments (GRUError naming the argument) and GPU memory hygiene (destroy frees all).
 */
import {
  Argmax,
  Embedding,
  GRUError,
  Linear,
  argmaxReference,
  embeddingReference,
  fromPyTorch,
  linearReference,
  type GRUOptions,
} from '../../src/index.js';
import {
  CharModel,
  CharModelReference,
  CharModelWasm,
  charModelFromSafetensors,
  createCharModel,
  type CharModelWeights,
} from '../../demo/char-model.js';
import type { Case } from './registry.js';
import { assertClose, countingBuffers, expectGRUError, randomWeights, record, rng, uniform, type Tolerance } from './util.js';

const EXACT: Tolerance = { rtol: 0, atol: 0 };
const LINEAR_TOLERANCE: Tolerance = { rtol: 1e-5, atol: 1e-5 };
const MODEL_LOGITS_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-4 };
const WASM_MODEL_LOGITS_TOLERANCE: Tolerance = { rtol: 1e-5, atol: 1e-5 };
const MIN_MARGIN = 0.05;

function upload(device: GPUDevice, data: Float32Array | Uint32Array, usage = GPUBufferUsage.STORAGE): GPUBuffer {
  const buffer = device.createBuffer({
    label: 'layers test input',
    size: Math.max(16, data.byteLength),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
  return buffer;
}

function storageBuffer(device: GPUDevice, bytes: number): GPUBuffer {
  return device.createBuffer({
    label: 'layers test output',
    size: Math.max(16, bytes),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
}

async function read(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = device.createBuffer({
    label: 'layers test read-back',
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const data = staging.getMappedRange().slice(0);
  staging.destroy();
  return data;
}

/** Records one kernel into its own pass and submits it. */
function run(device: GPUDevice, record: (pass: GPUComputePassEncoder) => void): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  record(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** A random character model: V tokens, E-wide embedding, a 2-layer GRU of H units, a head scaled so logits spread. */
function randomModel(V: number, E: number, H: number, seed: number): CharModelWeights {
  const random = rng(seed);
  const options: GRUOptions = { inputSize: E, hiddenSize: H, numLayers: 2 };
  return {
    embedding: uniform(random, V * E, 1),
    gru: { options, weights: randomWeights(options, seed + 1, 0.5) },
    head: { weight: uniform(random, V * H, 1), bias: uniform(random, V, 0.5) },
    vocab: Array.from({ length: V }, (_, i) => String.fromCharCode(97 + i)),
  };
}

/** The same model as a PyTorch state_dict (nn.Embedding → nn.GRU → nn.Linear), for the importer path. */
function asStateDict(w: CharModelWeights): Record<string, Float32Array> {
  const dict: Record<string, Float32Array> = { 'embed.weight': w.embedding, 'head.weight': w.head.weight, 'head.bias': w.head.bias! };
  w.gru.weights.forEach((l, i) => {
    dict[`rnn.weight_ih_l${i}`] = l.weightIh;
    dict[`rnn.weight_hh_l${i}`] = l.weightHh;
    dict[`rnn.bias_ih_l${i}`] = l.biasIh!;
    dict[`rnn.bias_hh_l${i}`] = l.biasHh!;
  });
  return dict;
}

/** A .safetensors file of `dict` (F32), written as scripts/demo/train.py writes one. */
function safetensorsOf(dict: Record<string, Float32Array>, shapes: Record<string, number[]>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  const names = Object.keys(dict).sort();
  for (const name of names) {
    header[name] = { dtype: 'F32', shape: shapes[name], data_offsets: [offset, offset + dict[name]!.byteLength] };
    offset += dict[name]!.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + text.length + offset);
  new DataView(bytes.buffer).setUint32(0, text.length, true);
  bytes.set(text, 8);
  let at = 8 + text.length;
  for (const name of names) {
    bytes.set(new Uint8Array(dict[name]!.buffer, dict[name]!.byteOffset, dict[name]!.byteLength), at);
    at += dict[name]!.byteLength;
  }
  return bytes;
}

function topMargin(logits: Float32Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (const v of logits) {
    if (v > a) [a, b] = [v, a];
    else if (v > b) b = v;
  }
  return a - b;
}

/** The token id of a character of `randomModel`'s vocabulary ('a' + id). */
const idOf = (c: string) => c.charCodeAt(0) - 97;

/**
 * The twin's greedy path from `prompt` (its last character is the first step's token): the
 * logits of each of the `n` steps and the token each chooses. Throws where the path has a near-tie
 * (a top-1/top-2 margin under MIN_MARGIN), which would make a float32 model's tokens a coin toss.
 */
async function twinPath(
  cpu: CharModelReference,
  prompt: string,
  n: number,
  seed: number,
): Promise<{ logits: Float32Array[]; path: number[] }> {
  cpu.reset();
  for (const c of prompt.slice(0, -1)) await cpu.stepLogits(idOf(c));
  let feed: number | undefined = idOf(prompt[prompt.length - 1]!);
  const path: number[] = [];
  const logits: Float32Array[] = [];
  let minMargin = Infinity;
  for (let i = 0; i < n; i++) {
    const step = await cpu.stepLogits(feed);
    minMargin = Math.min(minMargin, topMargin(step));
    path.push(argmaxReference(step, cpu.vocabSize, 1)[0]!);
    logits.push(step);
    feed = undefined;
  }
  if (minMargin < MIN_MARGIN) throw new Error(`seed ${seed} gives a near-tie (margin ${minMargin}); pick another`);
  return { logits, path };
}

export const layerCases: Case[] = [
  {
    name: 'layers: embedding lookup equals its CPU twin exactly (V=37, E=13, B=7; an id past the vocabulary gives zeros)',
    async run(device) {
      const V = 37;
      const E = 13;
      const random = rng(301);
      const weight = uniform(random, V * E, 2);
      const ids = Uint32Array.from([0, 36, 5, 37, 12, 5, 1_000_000]);
      const B = ids.length;
      const embedding = await Embedding.create(device, { weight, vocabSize: V, embeddingSize: E });
      const idBuffer = upload(device, ids);
      const out = storageBuffer(device, B * E * 4);
      try {
        run(device, (pass) => embedding.encode(pass, idBuffer, out, B));
        const got = new Float32Array(await read(device, out, B * E * 4));
        assertClose('embedding', got, embeddingReference(weight, V, E, ids), EXACT);
        if (got.subarray(3 * E, 4 * E).some((v) => v !== 0)) throw new Error('id 37 (= V) did not give a row of zeros');
        // A batch smaller than the buffers reads and writes only its own rows.
        run(device, (pass) => embedding.encode(pass, idBuffer, out, 2));
      } finally {
        embedding.destroy();
        idBuffer.destroy();
        out.destroy();
      }
    },
  },
  {
    name: 'layers: linear head within 1e-5 of its float64 twin (IN×OUT×B = 45×29×5, 256×91×1, 7×1×3 without bias, 130×333×4)',
    async run(device) {
      const shapes: [number, number, number, boolean][] = [
        [45, 29, 5, true],
        [256, 91, 1, true],
        [7, 1, 3, false],
        [130, 333, 4, true],
      ];
      for (const [IN, OUT, B, withBias] of shapes) {
        const random = rng(400 + IN);
        const weight = uniform(random, OUT * IN, 1 / Math.sqrt(IN));
        const bias = withBias ? uniform(random, OUT, 0.5) : undefined;
        const x = uniform(random, B * IN, 1);
        const linear = await Linear.create(
          device,
          bias ? { weight, bias, inFeatures: IN, outFeatures: OUT } : { weight, inFeatures: IN, outFeatures: OUT },
        );
        const input = upload(device, x);
        const out = storageBuffer(device, B * OUT * 4);
        try {
          run(device, (pass) => linear.encode(pass, input, out, B));
          const got = new Float32Array(await read(device, out, B * OUT * 4));
          record(assertClose(`linear ${IN}×${OUT}×${B}`, got, linearReference(weight, bias, IN, OUT, x, B), LINEAR_TOLERANCE));
        } finally {
          linear.destroy();
          input.destroy();
          out.destroy();
        }
      }
    },
  },
  {
    name: 'layers: argmax equals its twin exactly, ties to the first maximum (N×B = 101×9, 3×3, 200×5)',
    async run(device) {
      for (const [N, B] of [
        [101, 9],
        [3, 3],
        [200, 5],
      ] as const) {
        const random = rng(500 + N);
        const logits = uniform(random, N * B, 3);
        // Row 0: a tie between two maxima; row 1: all equal; the last row: the maximum at the end.
        const top = 10;
        logits[Math.floor(N / 2)] = top;
        logits[N - 1] = top;
        logits[1] = top;
        logits.fill(-1.5, N, 2 * N);
        logits[(B - 1) * N + N - 1] = 20;
        const argmax = await Argmax.create(device, { size: N });
        const input = upload(device, logits);
        const ids = storageBuffer(device, B * 4);
        try {
          run(device, (pass) => argmax.encode(pass, input, ids, B));
          const got = new Uint32Array(await read(device, ids, B * 4));
          const want = argmaxReference(logits, N, B);
          if (want[0] !== 1 || want[1] !== 0 || want[B - 1] !== N - 1) throw new Error(`the twin's ties are wrong: ${Array.from(want)}`);
          if (got.join() !== want.join()) throw new Error(`argmax N=${N}: got ${Array.from(got)}, expected ${Array.from(want)}`);
        } finally {
          argmax.destroy();
          input.destroy();
          ids.destroy();
        }
      }
    },
  },
  {
    name: 'char model: the GPU loop (one submit per step, 4-byte read-back) generates what its CPU twin does (V=23, E=7, H=33, 2 layers)',
    timeoutMs: 60_000,
    async run(device) {
      const w = randomModel(23, 7, 33, 602);
      // Through the PyTorch importer, as the demo loads its model.
      const imported = fromPyTorch(asStateDict(w), { prefix: 'rnn' });
      const weights: CharModelWeights = { ...w, gru: imported };
      const gpu = await CharModel.create(device, weights);
      const cpu = new CharModelReference(weights);
      try {
        const prompt = 'abcabw';
        const n = 40;
        // The twin's margins first: a near-tie would make the comparison a coin toss.
        const { logits: cpuLogits, path } = await twinPath(cpu, prompt, n, 602);

        const want = await cpu.generate(prompt, n);
        if (want.tokens.join() !== path.join()) throw new Error('CharModelReference.generate differs from its own steps');
        const seen: number[] = [];
        const got = await gpu.generate(prompt, n, { onToken: (t, c, i) => seen.push(t, c!.charCodeAt(0) - 97, i) });
        if (got.tokens.join() !== want.tokens.join()) {
          throw new Error(`GPU tokens differ from the CPU twin's:\n  gpu ${got.text}\n  cpu ${want.text}`);
        }
        if (got.text !== want.text || got.stepMs.length !== n || got.aborted) throw new Error('the GPU generation result is incomplete');
        const expectedSeen = want.tokens.flatMap((t, i) => [t, t, i]);
        if (seen.join() !== expectedSeen.join()) throw new Error('onToken was not called once per token, in order, with its character');

        // The logits along the same path, step by step.
        gpu.reset();
        for (const c of prompt.slice(0, -1)) gpu.feed(idOf(c));
        let feed = idOf(prompt[prompt.length - 1]!);
        for (let i = 0; i < n; i++) {
          const logits = await gpu.stepLogits(feed);
          record(assertClose(`logits at step ${i}`, logits, cpuLogits[i]!, MODEL_LOGITS_TOLERANCE));
          feed = path[i]!;
        }

        // Sampling: the same seed draws the same tokens on both, another seed other ones.
        const a = await gpu.generate(prompt, 30, { temperature: 0.8, seed: 7 });
        const b = await cpu.generate(prompt, 30, { temperature: 0.8, seed: 7 });
        const c = await gpu.generate(prompt, 30, { temperature: 0.8, seed: 8 });
        if (a.text !== b.text) throw new Error(`sampling with seed 7 differs: gpu ${a.text}, cpu ${b.text}`);
        if (a.text === c.text) throw new Error('seeds 7 and 8 sampled the same text');
        // step() continues from the model's own choice, which never left the GPU.
        gpu.reset();
        const first = await gpu.step(0);
        const second = await gpu.step();
        cpu.reset();
        if (first !== (await cpu.step(0)) || second !== (await cpu.step()))
          throw new Error('step() after step(token) differs from the twin');
      } finally {
        gpu.destroy();
        cpu.destroy();
      }
    },
  },
  {
    name: "char model on wasm: createCharModel's CharModelWasm (SIMD128 and relaxed SIMD) generates what its CPU twin does (V=23, E=7, H=33, 2 layers)",
    timeoutMs: 60_000,
    async run(device) {
      // The GPU case's model and prompt (its path has no near-tie), straight from the weights.
      const w = randomModel(23, 7, 33, 602);
      const cpu = new CharModelReference(w);
      const prompt = 'abcabw';
      const n = 40;
      try {
        const { logits: cpuLogits, path } = await twinPath(cpu, prompt, n, 602);
        const want = await cpu.generate(prompt, n);
        if (want.tokens.join() !== path.join()) throw new Error('CharModelReference.generate differs from its own steps');
        const sampled = await cpu.generate(prompt, 30, { temperature: 0.8, seed: 7 });
        for (const simd of ['simd128', 'relaxed'] as const) {
          const model = await createCharModel(w, { backend: 'wasm', simd, threads: 1 });
          try {
            if (!(model instanceof CharModelWasm)) throw new Error(`createCharModel with backend 'wasm' gave a ${model.constructor.name}`);
            if (model.backend !== 'wasm' || model.reason !== "backend 'wasm' was asked for") {
              throw new Error(`${simd}: backend ${model.backend}, reason ${JSON.stringify(model.reason)}`);
            }
            if (model.gru.simd !== simd) throw new Error(`asked for ${simd}, runs ${model.gru.simd}`);
            if (model.vocabSize !== 23 || model.embeddingSize !== 7 || model.hiddenSize !== 33) throw new Error('the sizes are wrong');

            const seen: number[] = [];
            const got = await model.generate(prompt, n, { onToken: (t, c, i) => seen.push(t, idOf(c!), i) });
            if (got.tokens.join() !== want.tokens.join())
              throw new Error(`${simd} tokens differ from the CPU twin's:\n  wasm ${got.text}\n  cpu  ${want.text}`);
            if (got.text !== want.text || got.stepMs.length !== n || got.aborted)
              throw new Error(`${simd}: the generation result is incomplete`);
            if (seen.join() !== want.tokens.flatMap((t, i) => [t, t, i]).join())
              throw new Error('onToken was not called once per token, in order, with its character');

            // The logits along the twin's path, step by step (feed, then stepLogits).
            model.reset();
            for (const c of prompt.slice(0, -1)) model.feed(idOf(c));
            let feed = idOf(prompt[prompt.length - 1]!);
            for (let i = 0; i < n; i++) {
              assertClose(`${simd} logits at step ${i}`, await model.stepLogits(feed), cpuLogits[i]!, WASM_MODEL_LOGITS_TOLERANCE);
              feed = path[i]!;
            }

            // Sampling draws what the twin draws from the same seed.
            const drawn = await model.generate(prompt, 30, { temperature: 0.8, seed: 7 });
            if (drawn.text !== sampled.text) throw new Error(`${simd}: sampling with seed 7 gives ${drawn.text}, the twin ${sampled.text}`);
            // step() continues from the model's own choice.
            model.reset();
            const first = await model.step(0);
            const second = await model.step();
            cpu.reset();
            if (first !== (await cpu.step(0)) || second !== (await cpu.step()))
              throw new Error(`${simd}: step() after step(token) differs from the twin`);
            await expectGRUError(() => model.step(23), /^token: expected a token id in \[0, 23\), got 23$/);
          } finally {
            model.destroy();
            model.destroy();
          }
          if (model.gru.memoryBytes !== 0)
            throw new Error(`${simd}: ${model.gru.memoryBytes} bytes of wasm memory still allocated after destroy()`);
          await expectGRUError(() => model.generate('a', 1), /^this CharModelWasm: expected a live model, got one that was destroyed/);
        }

        // 'auto' with the suite's device: wasm on a CPU adapter, and on a hardware one because the
        // step (10494 multiply-adds) is under SMALL_MODEL_MACS.
        const auto = await createCharModel(w, { device, threads: 1 });
        try {
          if (auto.backend !== 'wasm' || !/runs on the CPU|^the model's step \(10494 multiply-adds\) is under/.test(auto.reason)) {
            throw new Error(`'auto' chose ${auto.backend} for a small model: ${auto.reason}`);
          }
          if ((await auto.generate(prompt, n)).text !== want.text) throw new Error("'auto' generates other text than the twin");
        } finally {
          auto.destroy();
        }
        // Forced onto WebGPU: a CharModel on the suite's device, which stays alive after destroy().
        const gpu = await createCharModel(w, { device, backend: 'webgpu' });
        try {
          if (!(gpu instanceof CharModel) || gpu.device !== device)
            throw new Error("createCharModel with backend 'webgpu' gave no CharModel on the given device");
          if (gpu.reason !== "backend 'webgpu' was asked for, on the given device")
            throw new Error(`webgpu reason ${JSON.stringify(gpu.reason)}`);
          if ((await gpu.generate(prompt, 12)).text !== want.text!.slice(0, 12))
            throw new Error("createCharModel's CharModel generates other text than the twin");
        } finally {
          gpu.destroy();
        }
      } finally {
        cpu.destroy();
      }
    },
  },
  {
    name: 'char model: loads from a .safetensors state_dict (embed.weight, rnn.*, head.*) and runs',
    async run(device) {
      const w = randomModel(11, 5, 9, 611);
      const dict = asStateDict(w);
      const shapes: Record<string, number[]> = { 'embed.weight': [11, 5], 'head.weight': [11, 9], 'head.bias': [11] };
      for (let l = 0; l < 2; l++) {
        shapes[`rnn.weight_ih_l${l}`] = [27, l === 0 ? 5 : 9];
        shapes[`rnn.weight_hh_l${l}`] = [27, 9];
        shapes[`rnn.bias_ih_l${l}`] = [27];
        shapes[`rnn.bias_hh_l${l}`] = [27];
      }
      const bytes = safetensorsOf(dict, shapes);
      const loaded = charModelFromSafetensors(bytes, { vocab: w.vocab });
      assertClose('embedding', loaded.embedding, w.embedding, EXACT);
      assertClose('head', loaded.head.weight, w.head.weight, EXACT);
      const gpu = await CharModel.create(device, loaded);
      try {
        const want = await new CharModelReference(w).generate('abc', 12);
        const got = await gpu.generate('abc', 12);
        if (got.text !== want.text) throw new Error(`safetensors model: gpu ${got.text}, cpu ${want.text}`);
      } finally {
        gpu.destroy();
      }
      await expectGRUError(
        () => charModelFromSafetensors(bytes, { head: 'out' }),
        /^safetensors: no tensor named "out\.weight"; the file holds /,
      );
      await expectGRUError(() => charModelFromSafetensors(bytes, { vocab: ['a'] }), /^names\.vocab: expected 11 characters/);
      await expectGRUError(() => charModelFromSafetensors(bytes.subarray(0, 100)), /^safetensors: /);
    },
  },
  {
    name: 'char model and layers: bad arguments throw a GRUError naming the argument',
    async run(device) {
      const w = randomModel(5, 3, 4, 621);
      await expectGRUError(() => CharModel.create({} as GPUDevice, w), /^device: expected a GPUDevice/);
      await expectGRUError(
        () => CharModel.create(device, { ...w, embedding: new Float32Array(14) }),
        /^weights\.embedding: expected 15 values \(\[V, E\] = \[5, 3\]/,
      );
      await expectGRUError(
        () => CharModel.create(device, { ...w, head: { weight: new Float32Array(19) } }),
        /^weights\.head\.weight: expected \[V, H\] = V·4 values/,
      );
      await expectGRUError(
        () => CharModel.create(device, { ...w, head: { weight: w.head.weight, bias: new Float32Array(4) } }),
        /^weights\.head\.bias: expected 5 values/,
      );
      await expectGRUError(() => CharModel.create(device, { ...w, vocab: ['a', 'b'] }), /^weights\.embedding: expected 6 values/);
      await expectGRUError(
        () => CharModel.create(device, { ...w, gru: { ...w.gru, options: { ...w.gru.options, direction: 'bidirectional' } } }),
        /^weights\.gru\.options\.direction: expected 'forward'/,
      );
      await expectGRUError(
        () => CharModel.create(device, { ...w, extra: 1 } as unknown as CharModelWeights),
        /^weights: unknown key "extra"/,
      );
      const nan = Float32Array.from(w.embedding);
      nan[4] = NaN;
      await expectGRUError(() => CharModel.create(device, { ...w, embedding: nan }), /^weights\.embedding: element 4 is NaN/);
      await expectGRUError(
        () => Embedding.create(device, { weight: new Float32Array(6), vocabSize: 2, embeddingSize: 2.5 }),
        /^weights\.embeddingSize: expected a positive integer, got 2\.5$/,
      );
      await expectGRUError(
        () => Linear.create(device, { weight: new Float32Array(6), inFeatures: 2, outFeatures: 2 }),
        /^weights\.weight: expected 4 values/,
      );
      await expectGRUError(() => Argmax.create(device, { size: 0 }), /^options\.size: expected a positive integer, got 0$/);

      const model = await CharModel.create(device, w);
      const linear = await Linear.create(device, { weight: new Float32Array(6), inFeatures: 3, outFeatures: 2 });
      const small = device.createBuffer({ size: 8, usage: GPUBufferUsage.STORAGE });
      const uniformBuffer = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM });
      try {
        await expectGRUError(() => model.generate('abz', 3), /^prompt\[2\]: expected a character of the model's vocabulary, got "z"$/);
        await expectGRUError(() => model.generate([0, 5], 3), /^prompt\[1\]: expected a token id in \[0, 5\), got 5$/);
        await expectGRUError(() => model.generate('', 3), /^prompt: expected at least one token/);
        await expectGRUError(() => model.generate('ab', -1), /^n: expected a non-negative integer/);
        await expectGRUError(() => model.generate('ab', 2, { temperature: -1 }), /^options\.temperature: expected a finite number ≥ 0/);
        await expectGRUError(() => model.generate('ab', 2, { top: 3 } as object), /^options: unknown key "top"/);
        model.reset();
        await expectGRUError(() => model.step(), /^token: expected a token id \(no step has chosen one/);
        await expectGRUError(() => model.step(1.5), /^token: expected a token id in \[0, 5\), got 1\.5$/);
        const running = model.step(1);
        await expectGRUError(() => model.step(), /^step: expected the previous step to have finished/);
        await running;
        const empty = await model.generate('a', 0);
        if (empty.tokens.length !== 0) throw new Error('n = 0 generated tokens');
        const controller = new AbortController();
        const stopped = await model.generate('a', 10, { signal: controller.signal, onToken: (_, __, i) => i === 2 && controller.abort() });
        if (!stopped.aborted || stopped.tokens.length !== 3)
          throw new Error(`abort after 3 tokens gave ${stopped.tokens.length} (aborted ${stopped.aborted})`);

        const pass = device.createCommandEncoder().beginComputePass();
        await expectGRUError(() => linear.encode(pass, small, small, 1), /^input: expected a GPUBuffer of at least 12 bytes/);
        await expectGRUError(() => linear.encode(pass, uniformBuffer, small, 1), /^input: expected a GPUBuffer with STORAGE usage/);
        await expectGRUError(() => linear.encode(pass, small, small, 0), /^batch: expected a positive integer, got 0$/);
        pass.end();
      } finally {
        model.destroy();
        linear.destroy();
        small.destroy();
        uniformBuffer.destroy();
      }
      await expectGRUError(() => model.generate('a', 1), /^this CharModel: expected a live CharModel, got one that was destroyed/);
      await expectGRUError(() => model.reset(), /destroyed/);
      if (!(new GRUError('x') instanceof Error)) throw new Error('GRUError is not an Error');
    },
  },
  {
    name: 'char model: 20 create/generate/destroy cycles (and failing creates) leave no live buffer',
    timeoutMs: 60_000,
    async run(device) {
      const w = randomModel(13, 6, 10, 631);
      await countingBuffers(device, async (live) => {
        const start = live();
        for (let i = 0; i < 20; i++) {
          const model = await CharModel.create(device, w);
          await model.generate('abc', 3, i % 2 ? { temperature: 1, seed: i } : {});
          model.destroy();
          model.destroy();
        }
        // A create that fails leaves nothing behind.
        const broken = { ...w, head: { weight: w.head.weight, bias: new Float32Array(13).fill(NaN) } };
        await expectGRUError(() => CharModel.create(device, broken), /^weights\.head\.bias: element 0 is NaN/);
        if (live() !== start) throw new Error(`expected ${start} live buffers after the cycles, found ${live()}`);
      });
    },
  },
];
