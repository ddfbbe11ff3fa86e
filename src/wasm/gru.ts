/**
 * `WasmGRU`: the CPU backend. The same options, weights, arguments, results and `GRUError`s as the
 * WebGPU `GRU`, computed by the WebAssembly SIMD kernels of assembly/gru.ts in a memory of its own:
 * per layer, the input projection of every timestep (both directions) is one matrix product, then
 * each direction's recurrence runs all its steps in one kernel call with h in linear memory. Usable
 * where WebGPU is not: a browser or runtime without it, a worker, an AudioWorklet (`stepSync`
 * allocates nothing), or a machine whose only adapter emulates a GPU on the CPU.
 *
 * With `threads` > 1 (where shared memory is usable: Node, a cross-origin-isolated page) a forward
 * spreads the projection's rows and the batch rows of the recurrence over a worker pool
 * (src/wasm/pool.ts); the single-thread path needs nothing.
 */
import { checkFloatArray, checkKeys, checkPositiveInteger, checkRunArgs, checkStateInit, type RunArgs } from '../args.js';
import { GRUError, describe, fail } from '../errors.js';
import { F32 } from '../gpu.js';
import { resolveOptions, type GRUOptions, type ResolvedOptions } from '../options.js';
import type { GRUResult } from '../reference.js';
import { layerInputSize, validateWeights, type GRUWeights } from '../weights.js';
import { Heap } from './heap.js';
import {
  instantiate,
  kernelModule,
  kernelModuleAsync,
  resolveSimd,
  SHARED_MAX_PAGES,
  wasmSupport,
  type KernelExports,
  type WasmSimd,
} from './kernels.js';
import { CFG_BYTES, layerFloats, optionFields, packLayerWasm, panelHidden, writeCfg } from './layout.js';
import { WorkerPool, type PoolJob } from './pool.js';

/** Multiply-adds of one step of one sequence through the whole stack. */
export function stepMacs(o: ResolvedOptions): number {
  let macs = 0;
  for (let l = 0; l < o.numLayers; l++) macs += o.numDirections * 3 * o.hiddenSize * (layerInputSize(o, l) + o.hiddenSize);
  return macs;
}

/**
 * Multiply-adds of a forward under which a GRU with a worker pool still runs it on the calling
 * thread: each layer costs the pool two message round trips (about 0.1 ms each, bench/NOTES.md),
 * so below ~2^23 multiply-adds (~0.2 ms of one core) splitting would cost more than it saves.
 */
export const POOL_MIN_MACS = 1 << 23;

/** The WebAssembly backend's own options: the third argument of `WasmGRU.create` and `createSync`. */
export interface WasmBackendOptions {
  /**
   * Threads a forward may use, an integer in [1, 64] (default 1): the calling thread plus
   * `threads − 1` workers, started by the first forward of at least `poolThreshold` multiply-adds.
   * Over 1 needs shared WebAssembly memory (Node, or a cross-origin-isolated page): a GRUError
   * where it is not usable.
   */
  threads?: number;
  /**
   * With threads > 1: forwards of fewer multiply-adds (steps × batch × the stack's multiply-adds
   * per step) than this run on the calling thread alone (default {@link POOL_MIN_MACS}; 0: every
   * forward uses the pool).
   */
  poolThreshold?: number;
  /**
   * The SIMD build: default 'auto', relaxed SIMD where the engine validates it, else SIMD128.
   * 'relaxed' where the engine lacks it is a GRUError.
   */
  simd?: WasmSimd | 'auto';
  /**
   * The compiled kernels to instantiate, e.g. from {@link compileWasmKernels} on another thread and
   * passed to an AudioWorklet; default: the embedded build of `simd`, compiled here (once per
   * thread). {@link compileWasmKernels} gives the single-thread build: pass it with `threads: 1`.
   */
  module?: WebAssembly.Module;
}

const BACKEND_KEYS = new Set(['threads', 'poolThreshold', 'simd', 'module']);

interface Resolved {
  threads: number;
  poolThreshold: number;
  simd: WasmSimd;
}

function resolveBackend(options: unknown): Resolved & { module?: WebAssembly.Module } {
  if (options === undefined) return { threads: 1, poolThreshold: POOL_MIN_MACS, simd: resolveSimd('auto') };
  if (typeof options !== 'object' || options === null) fail('wasmOptions', '{ threads?, poolThreshold?, simd?, module? }', options);
  checkKeys('wasmOptions', options, BACKEND_KEYS);
  const b = options as WasmBackendOptions;
  let threads = 1;
  if (b.threads !== undefined) {
    if (typeof b.threads !== 'number' || !Number.isInteger(b.threads) || b.threads < 1 || b.threads > 64) {
      fail('wasmOptions.threads', 'an integer in [1, 64]', b.threads);
    }
    threads = b.threads;
  }
  const poolThreshold = b.poolThreshold ?? POOL_MIN_MACS;
  if (typeof poolThreshold !== 'number' || !(poolThreshold >= 0)) fail('wasmOptions.poolThreshold', 'a number ≥ 0', b.poolThreshold);
  if (b.simd !== undefined && b.simd !== 'auto' && b.simd !== 'relaxed' && b.simd !== 'simd128') {
    fail('wasmOptions.simd', "'auto', 'relaxed' or 'simd128'", b.simd);
  }
  if (b.module !== undefined && !(b.module instanceof WebAssembly.Module)) fail('wasmOptions.module', 'a WebAssembly.Module', b.module);
  if (threads > 1 && !wasmSupport().threads) {
    throw new GRUError(
      `wasmOptions.threads: ${threads} threads need shared WebAssembly memory, which is not usable here ` +
        '(a page must be cross-origin isolated: COOP/COEP headers); use threads: 1',
    );
  }
  return { threads, poolThreshold, simd: resolveSimd(b.simd ?? 'auto'), module: b.module };
}

interface LayerWeights {
  /** Byte offsets. */
  proj: number;
  bias: number;
  rec: number[];
  bhn: number[];
}

/** One forward's buffers for a (steps, batch) shape; kept for the next call of the same shape. */
interface Workspace {
  steps: number;
  batch: number;
  blocks: number[];
  input: number;
  gates: number;
  output: number;
  inter: number[];
  h: number[];
  hg: number[];
  rh: number[];
  /** Int32 [B]: each row's length (`steps` when the forward gives none). */
  lengths: number;
  /** Per layer: its projection, and its `recur` structs for one thread and for the pool. */
  layers: { project: PoolJob; single: number[]; pooled: number[] }[];
}

/**
 * A GRU on the CPU, in WebAssembly SIMD: the same options, weights, arguments, results and
 * {@link GRUError}s as the WebGPU {@link GRU}, plus synchronous `createSync`, `forwardSync` and
 * `stepSync` for workers, worklets and Node. Made by `create`, `createSync` or {@link createGRU};
 * `destroy` frees its memory and workers.
 */
export class WasmGRU {
  /** Which backend this is: the WebGPU `GRU` says 'webgpu'. */
  readonly backend = 'wasm' as const;
  /** Why this backend was chosen, in words (set by `createGRU`; otherwise says it was asked for). */
  reason = 'WasmGRU.create was called';
  /** The options as given, with every default filled in. */
  readonly options: ResolvedOptions;
  /** The SIMD build in use ('auto' resolved). */
  readonly simd: WasmSimd;
  /** Threads a forward may use: the calling thread and `threads − 1` workers. */
  readonly threads: number;
  private readonly poolThreshold: number;
  private readonly heap: Heap;
  private readonly kernels: KernelExports;
  private readonly layerWeights: LayerWeights[];
  private readonly weightBlocks: number[];
  private workspace?: Workspace;
  private readonly states = new Set<WasmGRUState>();
  /** Started by the first forward that is worth splitting (none for threads = 1). */
  private pool?: WorkerPool;
  private readonly module: WebAssembly.Module;
  private destroyed = false;
  /** A pooled forward is between phases (its workspace is in use). */
  private busy = false;
  /** Serialises forwards that use the worker pool (one shared workspace). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Forwards in `queue`, not yet settled. */
  private queued = 0;

  private constructor(o: ResolvedOptions, weights: readonly GRUWeights[], backend: Resolved, module: WebAssembly.Module) {
    this.options = o;
    this.simd = backend.simd;
    this.threads = backend.threads;
    this.poolThreshold = backend.poolThreshold;
    const shared = backend.threads > 1;
    const memory = shared
      ? new WebAssembly.Memory({ initial: 2, maximum: SHARED_MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: 2 });
    this.heap = new Heap(memory, shared ? SHARED_MAX_PAGES : undefined);
    this.kernels = instantiate(module, memory);
    this.weightBlocks = [];
    this.layerWeights = [];
    const D = o.numDirections;
    for (let l = 0; l < o.numLayers; l++) {
      const sizes = layerFloats(o, l);
      const proj = this.alloc(sizes.proj * F32, `layer ${l}'s input weights`, this.weightBlocks);
      const rec = Array.from({ length: D }, (_, d) =>
        this.alloc(sizes.rec * F32, `layer ${l} direction ${d}'s recurrent weights`, this.weightBlocks),
      );
      const Hp = panelHidden(o.hiddenSize);
      const N = D * 3 * Hp;
      packLayerWasm(
        o,
        weights,
        l,
        this.heap.f32(),
        proj / F32,
        rec.map((r) => r / F32),
      );
      this.layerWeights.push({
        proj,
        bias: proj + layerInputSize(o, l) * N * F32,
        rec,
        bhn: rec.map((r) => r + 3 * Hp * o.hiddenSize * F32),
      });
    }
    this.module = module;
  }

  /**
   * Validates and packs the weights; synchronous where the engine allows compiling the module
   * synchronously (workers, worklets, Node; a page's main thread may refuse: use `create`, or pass
   * a compiled `module`).
   *
   * @param options - the network, as for `GRU.create`.
   * @param weights - one entry per (layer, direction), at index `layer · D + direction`; copied.
   * @param wasmOptions - threads, SIMD build and module; default: one thread, 'auto'.
   * @throws a {@link GRUError} on bad options, weights or `wasmOptions`, an engine without
   *   WebAssembly SIMD128 (or without the relaxed SIMD or shared memory asked for), or weights
   *   that do not fit in a WebAssembly memory.
   */
  static createSync(options: GRUOptions, weights: readonly GRUWeights[], wasmOptions?: WasmBackendOptions): WasmGRU {
    const o = resolveOptions(options);
    const w = validateWeights(o, weights);
    const b = resolveBackend(wasmOptions);
    return new WasmGRU(o, w, b, b.module ?? kernelModule(b.simd, b.threads > 1));
  }

  /**
   * Validates and packs the weights; the module is compiled asynchronously (once per page).
   * Arguments and errors as {@link WasmGRU.createSync}.
   */
  static async create(options: GRUOptions, weights: readonly GRUWeights[], wasmOptions?: WasmBackendOptions): Promise<WasmGRU> {
    const o = resolveOptions(options);
    const w = validateWeights(o, weights);
    const b = resolveBackend(wasmOptions);
    const module = b.module ?? (await kernelModuleAsync(b.simd, b.threads > 1));
    return new WasmGRU(o, w, b, module);
  }

  /** Bytes of WebAssembly memory this GRU has allocated (weights, workspace, states). */
  get memoryBytes(): number {
    return this.heap.live;
  }

  private alloc(bytes: number, what: string, into: number[]): number {
    const at = this.heap.alloc(bytes, what);
    into.push(at);
    return at;
  }

  private checkAlive(): void {
    if (this.destroyed) throw new GRUError('this GRU: expected a live GRU, got one that was destroyed (destroy() was called)');
  }

  private workspaceFor(steps: number, batch: number): Workspace {
    const w = this.workspace;
    if (w && w.steps === steps && w.batch === batch) return w;
    this.freeWorkspace();
    const o = this.options;
    const D = o.numDirections;
    const H = o.hiddenSize;
    const Hp = panelHidden(H);
    const N = D * 3 * Hp;
    const blocks: number[] = [];
    const rows = steps * batch;
    const a = (floats: number, what: string) => this.alloc(floats * F32, `a forward of ${steps} steps × ${batch} rows: ${what}`, blocks);
    try {
      const base = {
        input: a(rows * o.inputSize, 'the input'),
        gates: a(rows * N, 'the projected gates'),
        output: a(rows * D * H, 'the output'),
        inter: o.numLayers > 1 ? [a(rows * D * H, 'a layer output'), ...(o.numLayers > 2 ? [a(rows * D * H, 'a layer output')] : [])] : [],
        h: Array.from({ length: D }, () => a(batch * Hp, 'the hidden state')),
        hg: Array.from({ length: D }, () => a(batch * 3 * Hp, 'U·h')),
        rh: Array.from({ length: D }, () => a(batch * Hp, 'r ⊙ h')),
        lengths: a(batch, 'the lengths'),
      };
      // The `recur` structs depend on the shape alone: written once here, none per forward (a
      // 26-field object per struct and forward cost 60 µs of a tiny forward).
      const fields = optionFields(o);
      const L = o.numLayers;
      const structs = (l: number, parts: number): number[] => {
        const out = l === L - 1 ? base.output : base.inter[l % 2];
        const first = l === 0 && o.batchFirst;
        const last = l === L - 1 && o.batchFirst;
        const lw = this.layerWeights[l];
        const list: number[] = [];
        for (let d = 0; d < D; d++) {
          for (let part = 0; part < parts; part++) {
            const b0 = Math.floor((part * batch) / parts);
            const b1 = Math.floor(((part + 1) * batch) / parts);
            const cfg = a(CFG_BYTES / F32, 'arguments');
            writeCfg(this.heap.memory, cfg, {
              ...fields,
              gx: base.gates + d * 3 * Hp * F32,
              gStrideT: first ? N : batch * N,
              gStrideB: first ? steps * N : N,
              u: lw.rec[d],
              bhn: lw.bhn[d],
              h: base.h[d] + b0 * Hp * F32,
              hg: base.hg[d] + b0 * 3 * Hp * F32,
              rh: base.rh[d] + b0 * Hp * F32,
              out: out + d * H * F32,
              oStrideT: last ? D * H : batch * D * H,
              oStrideB: last ? steps * D * H : D * H,
              b0,
              rows: b1 - b0,
              steps,
              lengths: base.lengths,
              reverse: o.direction === 'reverse' || d === 1 ? 1 : 0,
            });
            list.push(cfg);
          }
        }
        return list;
      };
      const next: Workspace = {
        steps,
        batch,
        blocks,
        ...base,
        layers: Array.from({ length: L }, (_, l) => {
          const K = layerInputSize(o, l);
          const x = l === 0 ? base.input : base.inter[(l - 1) % 2];
          const lw = this.layerWeights[l];
          return {
            project: { x, ldx: K, m: rows, k: K, w: lw.proj, panels: N / 8, bias: lw.bias, y: base.gates, ldy: N },
            single: structs(l, 1),
            pooled: this.threads > 1 ? structs(l, Math.min(this.threads, batch)) : [],
          };
        }),
      };
      this.workspace = next;
      return next;
    } catch (error) {
      for (const b of blocks) this.heap.release(b);
      throw error;
    }
  }

  private freeWorkspace(): void {
    for (const b of this.workspace?.blocks ?? []) this.heap.release(b);
    this.workspace = undefined;
  }

  /**
   * Runs the whole stack over a sequence, as `GRU.forward` does; on the worker pool when
   * `threads` > 1 and the forward reaches `poolThreshold` (forwards of one GRU on the pool run one
   * after another).
   *
   * @param input - `[T, B, I]` (`[B, T, I]` if batchFirst).
   * @param args - `steps` T and `batch` B, and optionally `h0` and `seqLengths`.
   * @returns output `[T, B, D·H]` (`[B, T, D·H]`) and hN `[L·D, B, H]`, new arrays.
   * @throws a {@link GRUError} on a bad input or arguments, or a destroyed GRU.
   */
  async forward(input: Float32Array, args: RunArgs): Promise<GRUResult> {
    this.checkAlive();
    const a = checkRunArgs(this.options, input, args);
    const here = this.threads === 1 || this.pool?.failure || a.steps * a.batch * stepMacs(this.options) < this.poolThreshold;
    const onThisThread = () => this.run(input, a.steps, a.batch, a.h0, a.seqLengths, false);
    // A forward on this thread runs at once, unless pooled ones are queued: they share the workspace.
    if (here && this.queued === 0) return onThisThread();
    this.queued++;
    const run = this.queue.then(async () => {
      this.checkAlive();
      if (here) return onThisThread();
      this.pool ??= new WorkerPool(this.threads - 1, this.module, this.heap.memory);
      const pool = this.pool;
      this.busy = true;
      try {
        return await this.run(input, a.steps, a.batch, a.h0, a.seqLengths, true);
      } catch (error) {
        // A worker died mid-forward: the caller's work is redone on this thread, from its input.
        if (pool.failure === null || this.destroyed) throw error;
        return onThisThread();
      } finally {
        this.busy = false;
      }
    });
    this.queue = run.catch(() => undefined).finally(() => this.queued--);
    return run;
  }

  /**
   * {@link WasmGRU.forward}, synchronously, on the calling thread alone (a GRU made with threads > 1
   * included).
   *
   * @throws a {@link GRUError} as `forward` does, and while a forward of this GRU is running on the
   *   worker pool.
   */
  forwardSync(input: Float32Array, args: RunArgs): GRUResult {
    this.checkAlive();
    const a = checkRunArgs(this.options, input, args);
    if (this.busy)
      throw new GRUError('forwardSync: expected no forward of this GRU in flight, got one on the worker pool (await it first)');
    return this.run(input, a.steps, a.batch, a.h0, a.seqLengths, false);
  }

  private run(
    input: Float32Array,
    T: number,
    B: number,
    h0: Float32Array | undefined,
    seqLengths: Int32Array | undefined,
    threaded: true,
  ): Promise<GRUResult>;
  private run(
    input: Float32Array,
    T: number,
    B: number,
    h0: Float32Array | undefined,
    seqLengths: Int32Array | undefined,
    threaded: false,
  ): GRUResult;
  private run(
    input: Float32Array,
    T: number,
    B: number,
    h0: Float32Array | undefined,
    seqLengths: Int32Array | undefined,
    threaded: boolean,
  ): GRUResult | Promise<GRUResult> {
    const o = this.options;
    const D = o.numDirections;
    const H = o.hiddenSize;
    const L = o.numLayers;
    const Hp = panelHidden(H);
    const ws = this.workspaceFor(T, B);
    this.heap.f32().set(input, ws.input / F32);
    const lengths = this.heap.i32().subarray(ws.lengths / F32, ws.lengths / F32 + B);
    if (seqLengths) lengths.set(seqLengths);
    else lengths.fill(T);
    const hN = new Float32Array(L * D * B * H);
    const pool = threaded && this.pool?.failure === null ? this.pool : undefined;

    // One layer at a time: h from h0 (or zeros), its projection, then each direction's recurrence
    // (the pool splits both).
    const layerJobs = (l: number): { project: PoolJob; recur: number[] } => {
      const f32 = this.heap.f32();
      const out = l === L - 1 ? ws.output : ws.inter[l % 2];
      // Outputs past a row's length are 0; the kernel writes only the valid steps.
      if (seqLengths) f32.fill(0, out / F32, out / F32 + T * B * D * H);
      for (let d = 0; d < D; d++) {
        const h = ws.h[d] / F32;
        for (let b = 0; b < B; b++) {
          const row = h + b * Hp;
          if (h0) f32.set(h0.subarray(((l * D + d) * B + b) * H, ((l * D + d) * B + b + 1) * H), row);
          else f32.fill(0, row, row + H);
        }
      }
      const layer = ws.layers[l];
      return { project: layer.project, recur: pool ? layer.pooled : layer.single };
    };

    const collect = (l: number): void => {
      const view = this.heap.f32();
      for (let d = 0; d < D; d++) {
        for (let b = 0; b < B; b++) {
          const from = ws.h[d] / F32 + b * Hp;
          hN.set(view.subarray(from, from + H), ((l * D + d) * B + b) * H);
        }
      }
    };
    const result = (): GRUResult => {
      // A new array filled by set(): TypedArray.slice() of a WebAssembly memory's buffer measured
      // 8× slower (386 against 50 µs for 256 KB in Node 20), a quarter of config E's forward.
      const output = new Float32Array(T * B * D * H);
      output.set(this.heap.f32().subarray(ws.output / F32, ws.output / F32 + output.length));
      return { output, hN };
    };

    if (!pool) {
      for (let l = 0; l < L; l++) {
        const { project, recur } = layerJobs(l);
        this.kernels.gemm(project.x, project.ldx, project.m, project.k, project.w, project.panels, project.bias, project.y, project.ldy);
        for (const cfg of recur) this.kernels.recur(cfg);
        collect(l);
      }
      return result();
    }
    return (async () => {
      for (let l = 0; l < L; l++) {
        const { project, recur } = layerJobs(l);
        await pool.run(this.kernels, project, recur);
        collect(l);
      }
      return result();
    })();
  }

  /**
   * A streaming state for `batch` sequences: every layer's h in this GRU's memory between steps.
   * Only for direction 'forward' (the other directions need the future).
   *
   * @param batch - B, a positive integer.
   * @param init - `h0`: the initial state `[L, B, H]`; default zeros.
   * @throws a {@link GRUError} for a direction other than 'forward', a bad `batch` or `h0`, or a
   *   destroyed GRU.
   */
  createState(batch: number, init?: { h0?: Float32Array }): WasmGRUState {
    this.checkAlive();
    if (this.options.direction !== 'forward') {
      throw new GRUError(
        `createState: expected a GRU with direction 'forward' (streaming runs forward in time), got ${describe(this.options.direction)}`,
      );
    }
    checkPositiveInteger('batch', batch);
    checkStateInit(init);
    const o = this.options;
    const H = o.hiddenSize;
    const Hp = panelHidden(H);
    const L = o.numLayers;
    const blocks: number[] = [];
    const a = (floats: number, what: string) => this.alloc(floats * F32, `a streaming state of ${batch} rows: ${what}`, blocks);
    let state: WasmGRUState;
    try {
      const x = a(batch * o.inputSize, 'x');
      const gates = a(batch * 3 * Hp, 'the projected gates');
      const hg = a(batch * 3 * Hp, 'U·h');
      const rh = a(batch * Hp, 'r ⊙ h');
      const h = Array.from({ length: L }, () => a(batch * Hp, 'h'));
      const out = Array.from({ length: L }, () => a(batch * H, 'a layer output'));
      const cfg = Array.from({ length: L }, () => a(CFG_BYTES / F32, 'arguments'));
      const fields = optionFields(o);
      for (let l = 0; l < L; l++) {
        writeCfg(this.heap.memory, cfg[l], {
          ...fields,
          gx: gates,
          gStrideT: 0,
          gStrideB: 3 * Hp,
          u: this.layerWeights[l].rec[0],
          bhn: this.layerWeights[l].bhn[0],
          h: h[l],
          hg,
          rh,
          out: out[l],
          oStrideT: 0,
          oStrideB: H,
          b0: 0,
          rows: batch,
          steps: 1,
          lengths: 0,
          reverse: 0,
        });
      }
      const steps = Array.from({ length: L }, (_, l) => {
        const lw = this.layerWeights[l];
        const K = layerInputSize(o, l);
        return { x: l === 0 ? x : out[l - 1], k: K, w: lw.proj, bias: lw.bias, cfg: cfg[l] };
      });
      state = new WasmGRUState(this, batch, { x, h, out: out[L - 1], steps, gates, panels: (3 * Hp) / 8 }, () => {
        this.states.delete(state);
        for (const b of blocks) this.heap.release(b);
      });
    } catch (error) {
      for (const b of blocks) this.heap.release(b);
      // Only the memory can refuse a state, and only because of its size: name the argument.
      if (error instanceof GRUError)
        throw new GRUError(`batch: expected a state that fits this GRU's memory, got ${batch} rows (${error.message})`);
      throw error;
    }
    this.states.add(state);
    try {
      if (init?.h0 !== undefined) state.set(init.h0);
      else state.reset();
    } catch (error) {
      state.destroy();
      throw error;
    }
    return state;
  }

  private checkState(state: unknown): WasmGRUState {
    if (!(state instanceof WasmGRUState) || state.owner !== this) fail('state', "a WasmGRUState made by this GRU's createState", state);
    state.checkAlive();
    return state;
  }

  /**
   * One timestep, synchronously and without allocating: x_t `[B, I]` → the last layer's h_t
   * `[B, H]`, written into `out` when given, else returned as a view of this GRU's memory: the
   * state's next step overwrites it, and an allocation that grows the GRU's memory (a forward of a
   * new shape, a new state) can leave it empty, so copy what you keep. For real-time callers (an
   * AudioWorkletProcessor's `process()`).
   *
   * @param x - x_t, `[B, I]`.
   * @param state - a live state from this GRU's `createState`; advanced in place.
   * @param out - where to write h_t, `[B, H]`.
   * @returns `out`, or the view.
   * @throws a {@link GRUError} for a wrong-sized `x` or `out`, a state of another GRU or a destroyed one.
   */
  stepSync(x: Float32Array, state: WasmGRUState, out?: Float32Array): Float32Array {
    this.checkAlive();
    const s = this.checkState(state);
    const o = this.options;
    const B = s.batch;
    if (!(x instanceof Float32Array) || x.length !== B * o.inputSize)
      checkFloatArray('x', x, B * o.inputSize, `[B, I] = [${B}, ${o.inputSize}]`);
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== B * o.hiddenSize)) {
      checkFloatArray('out', out, B * o.hiddenSize, `[B, H] = [${B}, ${o.hiddenSize}]`);
    }
    const p = s.layout;
    const k = this.kernels;
    s.view(p.x, B * o.inputSize).set(x);
    for (const step of p.steps) {
      k.gemm(step.x, step.k, B, step.k, step.w, p.panels, step.bias, p.gates, p.panels * 8);
      k.recur(step.cfg);
    }
    const result = s.outputView();
    if (out) {
      out.set(result);
      return out;
    }
    return result;
  }

  /** One timestep, as `GRU.step`: {@link WasmGRU.stepSync} into a new array `[B, H]`. */
  async step(x: Float32Array, state: WasmGRUState): Promise<Float32Array> {
    const view = this.stepSync(x, state);
    const out = new Float32Array(view.length);
    out.set(view);
    return out;
  }

  /** Frees this GRU's memory and workers, and ends its states. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const state of [...this.states]) state.destroy();
    this.freeWorkspace();
    for (const b of this.weightBlocks) this.heap.release(b);
    this.weightBlocks.length = 0;
    this.pool?.terminate();
  }

  /** @internal */
  get memory(): WebAssembly.Memory {
    return this.heap.memory;
  }
}

interface StateLayout {
  x: number;
  h: number[];
  out: number;
  gates: number;
  panels: number;
  steps: { x: number; k: number; w: number; bias: number; cfg: number }[];
}

/**
 * The hidden state of a streaming {@link WasmGRU}, `[L, B, H]`, held in the GRU's memory and
 * advanced by its `step`/`stepSync`. Made by `WasmGRU.createState`; freed by `destroy` or with the GRU.
 */
export class WasmGRUState {
  private destroyed = false;
  private buffer?: ArrayBufferLike;
  private readonly views = new Map<number, Float32Array>();

  /** @internal */
  constructor(
    /** The GRU that made this state; only it can step it. */
    readonly owner: WasmGRU,
    /** B: the sequences this state holds. */
    readonly batch: number,
    /** @internal */ readonly layout: StateLayout,
    private readonly onDestroy: () => void,
  ) {}

  /** @internal */
  checkAlive(): void {
    if (this.destroyed) throw new GRUError('state: expected a live GRUState, got one that was destroyed');
  }

  /** @internal A cached view of the owner's memory (taken again only after the memory grew). */
  view(at: number, length: number): Float32Array {
    const buffer = this.owner.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.views.clear();
    }
    let v = this.views.get(at);
    if (!v) {
      v = new Float32Array(buffer, at, length);
      this.views.set(at, v);
    }
    return v;
  }

  /** @internal */
  outputView(): Float32Array {
    return this.view(this.layout.out, this.batch * this.owner.options.hiddenSize);
  }

  /** Zeros the state. */
  reset(): void {
    this.checkAlive();
    const Hp = panelHidden(this.owner.options.hiddenSize);
    for (const h of this.layout.h) this.view(h, this.batch * Hp).fill(0);
  }

  /**
   * Replaces the state with `h`, `[L, B, H]` (copied).
   *
   * @throws a {@link GRUError} for an `h` of another size, or a destroyed state.
   */
  set(h: Float32Array): void {
    this.checkAlive();
    const o = this.owner.options;
    const H = o.hiddenSize;
    const Hp = panelHidden(H);
    checkFloatArray('h', h, o.numLayers * this.batch * H, `[L, B, H] = [${o.numLayers}, ${this.batch}, ${H}]`);
    this.layout.h.forEach((at, l) => {
      const v = this.view(at, this.batch * Hp);
      for (let b = 0; b < this.batch; b++) v.set(h.subarray((l * this.batch + b) * H, (l * this.batch + b + 1) * H), b * Hp);
    });
  }

  /** The state, `[L, B, H]`, as a new array, synchronously. */
  getSync(): Float32Array {
    this.checkAlive();
    const o = this.owner.options;
    const H = o.hiddenSize;
    const Hp = panelHidden(H);
    const out = new Float32Array(o.numLayers * this.batch * H);
    this.layout.h.forEach((at, l) => {
      const v = this.view(at, this.batch * Hp);
      for (let b = 0; b < this.batch; b++) out.set(v.subarray(b * Hp, b * Hp + H), (l * this.batch + b) * H);
    });
    return out;
  }

  /** The state, `[L, B, H]`, as a new array (as `GRUState.get`). */
  async get(): Promise<Float32Array> {
    return this.getSync();
  }

  /** Frees the state's memory. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.views.clear();
    this.onDestroy();
  }
}
