/**
 * The demo's character-level text generator around a GRU: embedding → GRU stack → linear head →
 * argmax, as PyTorch's `nn.Embedding` → `nn.GRU` → `nn.Linear` (see scripts/demo/train.py). It is
 * the demo's application code, not part of the package: it is built from the package's GRU, layers
 * and importer (../src/index.ts), and its vocabulary, prompts, sampling and timing are the demo's.
 *
 * `CharModel` runs every step on the GPU, recorded into one command encoder and one submit: the
 * token id buffer feeds the embedding, `GRU.encodeStep` advances the hidden state (which never
 * leaves the GPU), the head writes logits and the argmax writes the next id back into the same id
 * buffer, so the next step needs nothing from the CPU. Greedy decoding reads back only that id
 * (4 bytes) per step, to report it.
 *
 * Sampling with a temperature is done on the CPU from read-back logits (V floats per step) with a
 * seeded generator (mulberry32, test/suite/random.ts), by `sampleLogits` below: for a vocabulary
 * of ~100 the read-back costs the same round trip as the id, and the same function then samples
 * the CPU models, so all of them draw the same tokens from the same seed. The chosen id goes back
 * with a 4-byte queue write.
 *
 * `CharModelWasm` runs the same model on the WebAssembly backend: the embedding is a view of the
 * token's row, the GRU step is `WasmGRU.stepSync` (float32, SIMD, allocation-free) and the head and
 * the argmax are the package's layer twins (src/layers/reference.ts) in JavaScript. For the demo's
 * model (V × H = 91 × 256, two layers) in headless Chromium the twin's head took 22 µs beside the
 * GRU step's 54 µs (best of 40 × 500 calls); an unrolled Float32 loop with four accumulators took
 * 19 µs, 4% of a character, not worth a second copy of the head. `createCharModel` builds whichever of
 * `CharModel` and `CharModelWasm` `createGRU` chooses for the device, and says why.
 *
 * `CharModelReference` is the CPU twin of the whole model (the layer twins and `gruReference`,
 * float64 accumulation), with the same interface: the ground truth of the tests, too slow to serve.
 */
import {
  Argmax,
  argmaxReference,
  createGRU,
  Embedding,
  embeddingReference,
  fromSafetensors,
  GRU,
  GRUError,
  gruReference,
  Linear,
  linearReference,
  parseSafetensors,
  type CreateGRUOptions,
  type GRUOptions,
  type GRUState,
  type GRUWeights,
  type WasmGRU,
  type WasmGRUState,
} from '../src/index.js';
// Not in the package's API: the library's own argument checks and error wording (so that the
// model's messages read like the library's), its WebGPU flag values (no WebGPU globals in Node) and
// the layer pipeline cache (to compile the layer kernels while the GRU compiles its own). The demo
// lives in this repository and takes them from their homes.
import { checkDevice, checkObject } from '../src/args.js';
import { describe, fail } from '../src/errors.js';
import { F32, MAP_READ_MODE, Usage } from '../src/gpu.js';
import { buildGuarded, checkKeys, checkWeights } from '../src/layers/common.js';
import { layerPipeline } from '../src/layers/pipelines.js';
import { resolveOptions } from '../src/options.js';
// The repository's one seeded generator, shared with the suite and the benchmark.
import { seededRandom } from '../test/suite/random.js';

/** The weights of a character model. `gru` may be what an importer returns (an `ImportedGRU`). */
export interface CharModelWeights {
  /** [V, E] row-major (`nn.Embedding.weight`); E must equal the GRU's inputSize. */
  embedding: Float32Array;
  /** A forward GRU stack: options and weights, e.g. `fromSafetensors(bytes)` or `fromPyTorch(dict)`. */
  gru: { options: GRUOptions; weights: GRUWeights[] };
  /** The output head: weight [V, H] row-major and bias [V] (`nn.Linear`); H is the GRU's hiddenSize. */
  head: { weight: Float32Array; bias?: Float32Array };
  /** The character of every token id (index = id). When given, prompts may be strings and results carry text. */
  vocab?: readonly string[];
}

export interface GenerateOptions {
  /** 0 (default): greedy, on the GPU. > 0: sample from softmax(logits / temperature) on the CPU. */
  temperature?: number;
  /** Seed of the sampling generator (mulberry32), default 0. Unused when greedy. */
  seed?: number;
  /** Called after every generated token, with its id, its character (when the model has a vocab) and its index. */
  onToken?: (token: number, char: string | undefined, index: number) => void;
  /** Stops the generation before the next step; the result then holds what was generated and `aborted: true`. */
  signal?: AbortSignal;
}

export interface Generation {
  /** The generated ids (the prompt not included). */
  tokens: number[];
  /** Their characters, when the model has a vocab. */
  text?: string;
  /** Milliseconds of each generated token's step: from its start to its id being known on the CPU. */
  stepMs: number[];
  /** Milliseconds to run the prompt (all but its last token, which is the first timed step). */
  prefillMs: number;
  aborted: boolean;
}

/** What `CharModel` (GPU) and `CharModelReference` (CPU) both offer. */
export interface CharGenerator {
  readonly vocabSize: number;
  readonly embeddingSize: number;
  readonly hiddenSize: number;
  readonly vocab?: readonly string[];
  /** Zeros the hidden state; the next step needs an explicit token. */
  reset(): void;
  /** Feeds `token` (default: the model's own last choice) and returns the greedy next token. */
  step(token?: number): Promise<number>;
  /** Feeds `token` (default: the model's own last choice) and returns the logits [V] of the next token. */
  stepLogits(token?: number): Promise<Float32Array>;
  /** Resets, runs the prompt and generates `n` tokens. */
  generate(prompt: string | ArrayLike<number>, n: number, options?: GenerateOptions): Promise<Generation>;
  destroy(): void;
}

interface Resolved {
  V: number;
  E: number;
  H: number;
  embedding: Float32Array;
  gruOptions: GRUOptions;
  gruWeights: GRUWeights[];
  headWeight: Float32Array;
  headBias: Float32Array | undefined;
  vocab: readonly string[] | undefined;
}

/** Validates a model's weights against each other; every mismatch names both sides. */
function resolveWeights(weights: unknown): Resolved {
  const w = checkObject('weights', weights, '{ embedding, gru, head, vocab? }');
  checkKeys('weights', w, ['embedding', 'gru', 'head', 'vocab']);
  const gru = checkObject('weights.gru', w.gru, '{ options, weights } (an ImportedGRU)');
  const o = resolveOptions(gru.options as GRUOptions);
  if (o.direction !== 'forward') {
    throw new GRUError(
      `weights.gru.options.direction: expected 'forward' (a generator runs forward in time), got ${describe(o.direction)}`,
    );
  }
  if (!Array.isArray(gru.weights)) fail('weights.gru.weights', 'an array of GRUWeights', gru.weights);
  const E = o.inputSize;
  const H = o.hiddenSize;
  const head = checkObject('weights.head', w.head, '{ weight, bias? }');
  checkKeys('weights.head', head, ['weight', 'bias']);
  if (!(head.weight instanceof Float32Array)) fail('weights.head.weight', `a Float32Array [V, H] (H = ${H})`, head.weight);
  let vocab: readonly string[] | undefined;
  if (w.vocab !== undefined) {
    if (!Array.isArray(w.vocab) || !w.vocab.every((c) => typeof c === 'string' && c.length > 0)) {
      fail('weights.vocab', 'an array of non-empty strings (the character of each token id)', w.vocab);
    }
    vocab = [...(w.vocab as string[])];
    if (new Set(vocab).size !== vocab.length) throw new GRUError('weights.vocab: expected distinct characters, got a repeated one');
  }
  if (head.weight.length % H !== 0) {
    throw new GRUError(`weights.head.weight: expected [V, H] = V·${H} values (H = the GRU's hiddenSize), got ${head.weight.length}`);
  }
  const V = vocab?.length ?? head.weight.length / H;
  const embedding = checkWeights(
    'weights.embedding',
    w.embedding,
    V * E,
    `[V, E] = [${V}, ${E}]: V from ${vocab ? 'vocab' : 'head.weight'}, E = the GRU's inputSize`,
  );
  const headWeight = checkWeights('weights.head.weight', head.weight, V * H, `[V, H] = [${V}, ${H}]`);
  const headBias = head.bias === undefined ? undefined : checkWeights('weights.head.bias', head.bias, V, `[V] = [${V}]`);
  return {
    V,
    E,
    H,
    embedding,
    gruOptions: gru.options as GRUOptions,
    gruWeights: gru.weights as GRUWeights[],
    headWeight,
    headBias,
    vocab,
  };
}

/**
 * Sampling from softmax(logits / temperature) by inverse CDF at `u` ∈ [0, 1): the smallest index
 * whose cumulative probability exceeds u. Float64 throughout; the GPU and the CPU models all
 * sample with this function, from their own logits.
 */
export function sampleLogits(logits: ArrayLike<number>, temperature: number, u: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const weights = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    weights[i] = Math.exp((logits[i] - max) / temperature);
    sum += weights[i];
  }
  const target = u * sum;
  let acc = 0;
  for (let i = 0; i < logits.length; i++) {
    acc += weights[i];
    if (acc > target) return i;
  }
  return logits.length - 1;
}

/** The prompt as ids: a string needs the model's vocab; ids must be integers in [0, V). */
function promptIds(prompt: unknown, V: number, vocab: readonly string[] | undefined): number[] {
  let ids: number[];
  if (typeof prompt === 'string') {
    if (!vocab) throw new GRUError('prompt: expected token ids (this model has no vocab to read a string with), got a string');
    const index = new Map(vocab.map((c, i) => [c, i]));
    ids = Array.from(prompt, (c, i) => {
      const id = index.get(c);
      if (id === undefined) throw new GRUError(`prompt[${i}]: expected a character of the model's vocabulary, got ${JSON.stringify(c)}`);
      return id;
    });
  } else if (typeof prompt === 'object' && prompt !== null && typeof (prompt as ArrayLike<number>).length === 'number') {
    ids = Array.from(prompt as ArrayLike<number>);
    ids.forEach((id, i) => {
      checkToken(`prompt[${i}]`, id, V);
    });
  } else {
    fail('prompt', 'a string or an array of token ids', prompt);
  }
  if (ids.length === 0) throw new GRUError('prompt: expected at least one token (the model has no start token), got an empty prompt');
  return ids;
}

function checkToken(argument: string, token: unknown, V: number): number {
  if (typeof token !== 'number' || !Number.isInteger(token) || token < 0 || token >= V) {
    fail(argument, `a token id in [0, ${V})`, token);
  }
  return token;
}

function checkGenerate(
  n: unknown,
  options: unknown,
): { n: number; temperature: number; seed: number; onToken?: GenerateOptions['onToken']; signal?: AbortSignal } {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) fail('n', 'a non-negative integer (tokens to generate)', n);
  const o = checkObject('options', options ?? {}, '{ temperature?, seed?, onToken?, signal? }');
  checkKeys('options', o, ['temperature', 'seed', 'onToken', 'signal']);
  const temperature = o.temperature ?? 0;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    fail('options.temperature', 'a finite number ≥ 0 (0: greedy)', o.temperature);
  }
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) fail('options.seed', 'an integer', o.seed);
  if (o.onToken !== undefined && typeof o.onToken !== 'function') fail('options.onToken', 'a function', o.onToken);
  if (
    o.signal !== undefined &&
    (typeof o.signal !== 'object' || o.signal === null || typeof (o.signal as AbortSignal).aborted !== 'boolean')
  ) {
    fail('options.signal', 'an AbortSignal', o.signal);
  }
  return { n, temperature, seed, onToken: o.onToken as GenerateOptions['onToken'], signal: o.signal as AbortSignal | undefined };
}

/** The generation loop both models share: the prompt, then n timed steps. */
async function runGeneration(
  model: CharGenerator & { feed(token: number): void; settle(): Promise<void> },
  ids: number[],
  args: ReturnType<typeof checkGenerate>,
): Promise<Generation> {
  const { n, temperature, seed, onToken, signal } = args;
  const vocab = model.vocab;
  const random = seededRandom(seed);
  model.reset();
  const t0 = performance.now();
  for (const id of ids.slice(0, -1)) model.feed(id);
  await model.settle();
  const prefillMs = performance.now() - t0;
  const tokens: number[] = [];
  const stepMs: number[] = [];
  let feed: number | undefined = ids[ids.length - 1];
  let aborted = false;
  for (let i = 0; i < n; i++) {
    if (signal?.aborted) {
      aborted = true;
      break;
    }
    const start = performance.now();
    let token: number;
    if (temperature > 0) {
      token = sampleLogits(await model.stepLogits(feed), temperature, random());
      feed = token;
    } else {
      token = await model.step(feed);
      feed = undefined; // the model's own choice is already in place
    }
    stepMs.push(performance.now() - start);
    tokens.push(token);
    onToken?.(token, vocab?.[token], i);
  }
  const result: Generation = { tokens, stepMs, prefillMs, aborted };
  if (vocab) result.text = tokens.map((t) => vocab[t]).join('');
  return result;
}

/** What the GPU model and its CPU twin both report about their sizes. */
abstract class CharModelSizes {
  protected constructor(protected readonly r: Resolved) {}

  get vocabSize(): number {
    return this.r.V;
  }
  get embeddingSize(): number {
    return this.r.E;
  }
  get hiddenSize(): number {
    return this.r.H;
  }
  get vocab(): readonly string[] | undefined {
    return this.r.vocab;
  }
}

/** The GPU model; see the module comment. Create with `CharModel.create`. */
export class CharModel extends CharModelSizes implements CharGenerator {
  private destroyed = false;
  private busy = false;
  /** Whether the id buffer holds the model's own choice (after a step), which a step may feed. */
  private hasChoice = false;

  private constructor(
    readonly device: GPUDevice,
    r: Resolved,
    /** The GRU stack, owned by this model. */
    readonly gru: GRU,
    private readonly state: GRUState,
    private readonly embedding: Embedding,
    private readonly head: Linear,
    private readonly argmax: Argmax,
    private readonly buffers: { ids: GPUBuffer; x: GPUBuffer; logits: GPUBuffer; idRead: GPUBuffer; logitsRead: GPUBuffer },
  ) {
    super(r);
  }

  /** Validates the weights, uploads them and compiles every kernel (cached per device). */
  static async create(device: GPUDevice, weights: CharModelWeights): Promise<CharModel> {
    checkDevice(device);
    const r = resolveWeights(weights);
    // Compile the layer kernels while the GRU uploads and compiles its own.
    const warm = [
      layerPipeline(device, 'embed', { E: r.E, V: r.V, WG: 64 }),
      layerPipeline(device, 'linear', { IN: r.H, OUT: r.V, WG: 64 }),
      layerPipeline(device, 'argmax', { N: r.V }),
    ];
    for (const p of warm) p.catch(() => {});
    return CharModel.around(device, r, await GRU.create(device, r.gruOptions, r.gruWeights));
  }

  /**
   * @internal The layers and buffers around a GRU made for this model (by `create`, or by
   * `createGRU` in `createCharModel`); the model owns the GRU from here, and a failure destroys it.
   */
  static async around(device: GPUDevice, r: Resolved, gru: GRU): Promise<CharModel> {
    // One part at a time: each create holds its own error scopes across its awaits.
    const parts: { destroy(): void }[] = [gru];
    const owned: GPUBuffer[] = [];
    const cleanup = () => {
      for (const p of parts) p.destroy();
      for (const b of owned) b.destroy();
    };
    try {
      // A state keeps the schedule it is made with: the one 'auto' picks once all have compiled.
      await gru.ready;
      const state = gru.createState(1);
      const embedding = await Embedding.create(device, { weight: r.embedding, vocabSize: r.V, embeddingSize: r.E });
      parts.push(embedding);
      const head = await Linear.create(device, { weight: r.headWeight, bias: r.headBias, inFeatures: r.H, outFeatures: r.V });
      parts.push(head);
      const argmax = await Argmax.create(device, { size: r.V });
      parts.push(argmax);
      const buffers = await buildGuarded(
        device,
        'CharModel.create',
        async () => {
          const make = (label: string, size: number, usage: number) => {
            const b = device.createBuffer({ label: `webgpu-gru char model ${label}`, size: Math.max(16, size), usage });
            owned.push(b);
            return b;
          };
          return {
            ids: make('token id', 4, Usage.STORAGE | Usage.COPY_DST | Usage.COPY_SRC),
            x: make('embedded token [1, E]', r.E * F32, Usage.STORAGE),
            logits: make('logits [1, V]', r.V * F32, Usage.STORAGE | Usage.COPY_SRC),
            idRead: make('token id read-back', 4, Usage.MAP_READ | Usage.COPY_DST),
            logitsRead: make('logits read-back', r.V * F32, Usage.MAP_READ | Usage.COPY_DST),
          };
        },
        () => {},
      );
      return new CharModel(device, r, gru, state, embedding, head, argmax, buffers);
    } catch (error) {
      cleanup();
      throw error;
    }
  }

  /** Which backend runs the model: always 'webgpu' (`CharModelWasm` says 'wasm'). */
  get backend(): 'webgpu' {
    return this.gru.backend;
  }

  /** Why this backend runs it: `createGRU`'s reason when `createCharModel` built the model. */
  get reason(): string {
    return this.gru.reason;
  }

  private checkAlive(): void {
    if (this.destroyed) throw new GRUError('this CharModel: expected a live CharModel, got one that was destroyed (destroy() was called)');
  }

  reset(): void {
    this.checkAlive();
    this.state.reset();
    this.hasChoice = false;
  }

  /** Puts `token` in the id buffer, or checks that the model's own choice is there. */
  private place(token: number | undefined): void {
    if (token === undefined) {
      if (!this.hasChoice)
        throw new GRUError('token: expected a token id (no step has chosen one since the model was created or reset), got undefined');
      return;
    }
    checkToken('token', token, this.r.V);
    this.device.queue.writeBuffer(this.buffers.ids, 0, new Uint32Array([token]));
  }

  /** One step into one encoder: embedding, the GRU, and (withHead) the head and the argmax. */
  private record(withHead: boolean): GPUCommandEncoder {
    const { ids, x, logits } = this.buffers;
    const encoder = this.device.createCommandEncoder({ label: 'webgpu-gru char model step' });
    const first = encoder.beginComputePass({ label: 'webgpu-gru char model embed' });
    this.embedding.encode(first, ids, x, 1);
    first.end();
    const h = this.gru.encodeStep(encoder, x, this.state);
    if (withHead) {
      const pass = encoder.beginComputePass({ label: 'webgpu-gru char model head' });
      this.head.encode(pass, h, logits, 1);
      this.argmax.encode(pass, logits, ids, 1);
      pass.end();
    }
    return encoder;
  }

  /** Advances the state by `token` without computing the head: one submit, nothing read back. */
  feed(token: number): void {
    this.checkAlive();
    checkToken('token', token, this.r.V);
    this.place(token);
    this.device.queue.submit([this.record(false).finish()]);
    this.hasChoice = false;
  }

  /** Resolves when the work submitted so far has finished. */
  async settle(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }

  private async readBack(withLogits: boolean): Promise<Uint8Array> {
    const { ids, logits, idRead, logitsRead } = this.buffers;
    if (this.busy) throw new GRUError('step: expected the previous step to have finished (await it), got a step still running');
    this.busy = true;
    try {
      const encoder = this.record(true);
      const [source, target, bytes] = withLogits ? [logits, logitsRead, this.r.V * F32] : [ids, idRead, 4];
      encoder.copyBufferToBuffer(source, 0, target, 0, bytes);
      this.device.queue.submit([encoder.finish()]);
      this.hasChoice = true;
      await target.mapAsync(MAP_READ_MODE, 0, bytes);
      const data = new Uint8Array(target.getMappedRange(0, bytes).slice(0));
      target.unmap();
      return data;
    } finally {
      this.busy = false;
    }
  }

  async step(token?: number): Promise<number> {
    this.checkAlive();
    this.place(token);
    return new Uint32Array((await this.readBack(false)).buffer)[0]!;
  }

  async stepLogits(token?: number): Promise<Float32Array> {
    this.checkAlive();
    this.place(token);
    return new Float32Array((await this.readBack(true)).buffer);
  }

  async generate(prompt: string | ArrayLike<number>, n: number, options: GenerateOptions = {}): Promise<Generation> {
    this.checkAlive();
    const ids = promptIds(prompt, this.r.V, this.r.vocab);
    return runGeneration(this, ids, checkGenerate(n, options));
  }

  /**
   * Frees every GPU buffer of the model (its GRU included). The device stays, unless `createGRU`
   * requested it for this model (`createCharModel` without `init.device`). Idempotent.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.embedding.destroy();
    this.head.destroy();
    this.argmax.destroy();
    for (const b of Object.values(this.buffers)) b.destroy();
    // Last: a GRU from `createGRU` may own the device, and takes it along.
    this.gru.destroy();
  }
}

/**
 * What the models that step on the CPU share: the token bookkeeping (a step without a token feeds
 * the model's own last choice), the head and the argmax (the layer twins). Each advances its own
 * GRU state from a token.
 */
abstract class CharModelOnCpu extends CharModelSizes implements CharGenerator {
  private choice: number | undefined;
  private destroyed = false;

  /** The class's name, for errors (minifiers rename classes). */
  protected abstract readonly name: string;
  /** Zeros the GRU state. */
  protected abstract clear(): void;
  /** Advances the GRU state by token `id`; returns the last layer's output [1, H]. */
  protected abstract advanceGRU(id: number): Float32Array;
  /** Frees what the subclass holds. */
  protected abstract release(): void;

  private checkAlive(): void {
    if (this.destroyed) throw new GRUError(`this ${this.name}: expected a live model, got one that was destroyed (destroy() was called)`);
  }

  reset(): void {
    this.checkAlive();
    this.clear();
    this.choice = undefined;
  }

  private advance(token: number | undefined): Float32Array {
    this.checkAlive();
    let id: number;
    if (token === undefined) {
      if (this.choice === undefined)
        throw new GRUError('token: expected a token id (no step has chosen one since the model was created or reset), got undefined');
      id = this.choice;
    } else {
      id = checkToken('token', token, this.r.V);
    }
    return this.advanceGRU(id);
  }

  private logits(h: Float32Array): Float32Array {
    return linearReference(this.r.headWeight, this.r.headBias, this.r.H, this.r.V, h, 1);
  }

  feed(token: number): void {
    this.advance(token);
    this.choice = undefined;
  }

  async settle(): Promise<void> {}

  async step(token?: number): Promise<number> {
    const choice = argmaxReference(this.logits(this.advance(token)), this.r.V, 1)[0]!;
    this.choice = choice;
    return choice;
  }

  async stepLogits(token?: number): Promise<Float32Array> {
    const logits = this.logits(this.advance(token));
    this.choice = argmaxReference(logits, this.r.V, 1)[0]!;
    return logits;
  }

  async generate(prompt: string | ArrayLike<number>, n: number, options: GenerateOptions = {}): Promise<Generation> {
    this.checkAlive();
    const ids = promptIds(prompt, this.r.V, this.r.vocab);
    return runGeneration(this, ids, checkGenerate(n, options));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.release();
  }
}

/** The CPU twin of `CharModel`: the same steps with `gruReference` and the layer twins. */
export class CharModelReference extends CharModelOnCpu {
  protected readonly name = 'CharModelReference';
  private h: Float32Array;

  constructor(weights: CharModelWeights) {
    super(resolveWeights(weights));
    // gruReference validates on every call; check once here so a bad GRU fails at construction.
    gruReference(this.r.gruOptions, this.r.gruWeights, new Float32Array(this.r.E), { steps: 1, batch: 1 });
    this.h = new Float32Array(this.layers * this.r.H);
  }

  private get layers(): number {
    return this.r.gruOptions.numLayers ?? 1;
  }

  protected clear(): void {
    this.h = new Float32Array(this.layers * this.r.H);
  }

  protected advanceGRU(id: number): Float32Array {
    const x = embeddingReference(this.r.embedding, this.r.V, this.r.E, [id]);
    const { output, hN } = gruReference(this.r.gruOptions, this.r.gruWeights, x, { steps: 1, batch: 1, h0: this.h });
    this.h = hN;
    return output;
  }

  protected release(): void {}
}

/** The model on the WebAssembly backend; see the module comment. Create with `createCharModel`. */
export class CharModelWasm extends CharModelOnCpu {
  protected readonly name = 'CharModelWasm';
  private readonly state: WasmGRUState;

  /** @internal `createCharModel` builds it around the `WasmGRU` that `createGRU` made; the model owns the GRU. */
  constructor(
    r: Resolved,
    /** The GRU stack, owned by this model. */
    readonly gru: WasmGRU,
  ) {
    super(r);
    this.state = gru.createState(1);
  }

  /** Which backend runs the model: always 'wasm' (`CharModel` says 'webgpu'). */
  get backend(): 'wasm' {
    return this.gru.backend;
  }

  /** Why this backend runs it: `createGRU`'s reason. */
  get reason(): string {
    return this.gru.reason;
  }

  protected clear(): void {
    this.state.reset();
  }

  protected advanceGRU(id: number): Float32Array {
    const E = this.r.E;
    // The embedding is the token's row itself; stepSync copies it into the GRU's memory.
    return this.gru.stepSync(this.r.embedding.subarray(id * E, (id + 1) * E), this.state);
  }

  /** Frees the GRU's WebAssembly memory. */
  protected release(): void {
    this.gru.destroy();
  }
}

/**
 * A character model on the backend that `createGRU` chooses for this device (`init.backend`
 * 'auto', the default) or on the one `init.backend` forces: `CharModel` on WebGPU, `CharModelWasm`
 * on the wasm backend. The model's `backend` and `reason` say which and why. `init` is
 * `createGRU`'s: a device given there stays the caller's; one `createGRU` requested goes with the model.
 */
export async function createCharModel(weights: CharModelWeights, init: CreateGRUOptions = {}): Promise<CharModel | CharModelWasm> {
  const r = resolveWeights(weights);
  const gru = await createGRU(r.gruOptions, r.gruWeights, init);
  if (gru.backend === 'webgpu') return CharModel.around(gru.device, r, gru);
  try {
    return new CharModelWasm(r, gru);
  } catch (error) {
    gru.destroy();
    throw error;
  }
}

export interface CharModelTensorNames {
  /** The embedding table [V, E]; default 'embed.weight'. */
  embedding?: string;
  /** The GRU's key prefix; default: the one GRU in the file. */
  gru?: string;
  /** The head's key prefix: `${head}.weight` [V, H] and, when present, `${head}.bias` [V]; default 'head'. */
  head?: string;
  /** The character of every token id. */
  vocab?: readonly string[];
}

/**
 * A character model's weights from a .safetensors file of its PyTorch state_dict: the GRU through
 * the PyTorch importer (`fromSafetensors`), the embedding and the head by name (`parseSafetensors`
 * decodes the whole file, the GRU's tensors a second time: 2.6 MB for the demo's model).
 */
export function charModelFromSafetensors(bytes: Uint8Array, names: CharModelTensorNames = {}): CharModelWeights {
  const n = checkObject('names', names, '{ embedding?, gru?, head?, vocab? }');
  checkKeys('names', n, ['embedding', 'gru', 'head', 'vocab']);
  for (const key of ['embedding', 'gru', 'head'] as const) {
    if (n[key] !== undefined && typeof n[key] !== 'string') fail(`names.${key}`, 'a string', n[key]);
  }
  const tensors = parseSafetensors(bytes);
  const gru = fromSafetensors(bytes, n.gru === undefined ? {} : { prefix: n.gru as string });
  const tensor = (name: string, rank: number, optional = false) => {
    const found = tensors.get(name);
    if (!found) {
      if (optional) return undefined;
      const names = [...tensors.keys()];
      const shown = names
        .slice(0, 12)
        .map((k) => JSON.stringify(k))
        .join(', ');
      throw new GRUError(`safetensors: no tensor named ${JSON.stringify(name)}; the file holds ${shown}${names.length > 12 ? ', …' : ''}`);
    }
    if (found.shape.length !== rank) {
      throw new GRUError(`${name}: expected a ${rank}-dimensional tensor, got shape [${found.shape.join(', ')}]`);
    }
    return found;
  };
  const embeddingName = (n.embedding as string | undefined) ?? 'embed.weight';
  const headName = (n.head as string | undefined) ?? 'head';
  const embedding = tensor(embeddingName, 2)!;
  const headWeight = tensor(`${headName}.weight`, 2)!;
  const headBias = tensor(`${headName}.bias`, 1, true);
  const [V, E] = embedding.shape as [number, number];
  if (E !== gru.options.inputSize) {
    throw new GRUError(`${embeddingName}: expected shape [V, ${gru.options.inputSize}] (the GRU's input size), got [${V}, ${E}]`);
  }
  const H = gru.options.hiddenSize;
  if (headWeight.shape[0] !== V || headWeight.shape[1] !== H) {
    throw new GRUError(
      `${headName}.weight: expected shape [${V}, ${H}] (V from ${embeddingName}, H = the GRU's hidden size), got [${headWeight.shape.join(', ')}]`,
    );
  }
  if (headBias && headBias.shape[0] !== V)
    throw new GRUError(`${headName}.bias: expected shape [${V}], got [${headBias.shape.join(', ')}]`);
  if (n.vocab !== undefined && (!Array.isArray(n.vocab) || n.vocab.length !== V)) {
    throw new GRUError(`names.vocab: expected ${V} characters (the rows of ${embeddingName}), got ${describe(n.vocab)}`);
  }
  const weights: CharModelWeights = {
    embedding: embedding.data,
    gru: { options: gru.options, weights: gru.weights },
    head: headBias ? { weight: headWeight.data, bias: headBias.data } : { weight: headWeight.data },
  };
  if (n.vocab !== undefined) weights.vocab = n.vocab as string[];
  return weights;
}
