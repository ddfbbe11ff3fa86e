/**
 * The worker pool of a `WasmGRU` with threads > 1: `n` workers, each with its own instance of the
 * kernels on the GRU's shared memory. A forward hands them one phase at a time — a layer's
 * projection split by rows, then its recurrences split by (direction, block of batch rows), which
 * are independent — and the calling thread takes the first share itself. Phases are message
 * round trips (about 0.1 ms), so the pool pays off on large work only (bench/NOTES.md).
 *
 * Workers are made from a self-contained script (no imports): a Blob URL in browsers (allowed on
 * the cross-origin-isolated pages where shared memory exists at all), `worker_threads` with
 * `eval` in Node. A worker that dies rejects the phase in flight with a GRUError; the GRU then
 * reruns that forward on the calling thread (src/wasm/gru.ts).
 */
import { GRUError } from '../errors.js';
import type { KernelExports } from './kernels.js';

export interface PoolJob {
  x: number;
  ldx: number;
  m: number;
  k: number;
  w: number;
  panels: number;
  bias: number;
  y: number;
  ldy: number;
}

type Task = { gemm: [number, number, number, number, number, number, number, number, number] } | { recur: number };

const WORKER_SOURCE = `
let kernels;
const post = typeof self === 'object' && typeof self.postMessage === 'function' ? (m) => self.postMessage(m) : null;
function onMessage(data, reply) {
  if (data.module) {
    kernels = new WebAssembly.Instance(data.module, { env: { memory: data.memory } }).exports;
    reply({ ready: true });
    return;
  }
  try {
    for (const task of data.tasks) {
      if (task.gemm) kernels.gemm(...task.gemm);
      else kernels.recur(task.recur);
    }
    reply({ id: data.id });
  } catch (error) {
    reply({ id: data.id, error: String(error) });
  }
}
if (post) {
  self.onmessage = (event) => onMessage(event.data, post);
} else {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  parentPort.on('message', (data) => onMessage(data, (m) => parentPort.postMessage(m)));
}
`;

/** The part of a Worker (browser) or worker_threads Worker (Node) the pool uses. */
interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
  /** Node: whether the worker keeps the process alive. */
  ref?(): void;
  unref?(): void;
}

interface NodeWorkerThreads {
  Worker: new (
    code: string,
    options: { eval: true },
  ) => AnyWorker & {
    on(event: 'message' | 'error' | 'exit', listener: (value: unknown) => void): void;
    ref(): void;
    unref(): void;
  };
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: unknown } }).process;
  return typeof p?.versions?.node === 'string' && typeof p.getBuiltinModule === 'function';
}

type Listener = (message: { ready?: true; id?: number; error?: string } | null, failure?: string) => void;

function spawn(onEvent: Listener): AnyWorker {
  if (isNode()) {
    const p = (globalThis as unknown as { process: { getBuiltinModule(name: string): unknown } }).process;
    const { Worker } = p.getBuiltinModule('node:worker_threads') as NodeWorkerThreads;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m) => onEvent(m as { id?: number }));
    worker.on('error', (e) => onEvent(null, String(e)));
    worker.on('exit', (code) => onEvent(null, `exited with code ${String(code)}`));
    return worker;
  }
  if (typeof Worker !== 'function' || typeof Blob !== 'function' || typeof URL?.createObjectURL !== 'function') {
    throw new GRUError(
      'wasmOptions.threads: expected a context that can start Web Workers, got one without Worker/Blob URLs; use threads: 1',
    );
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  try {
    const worker = new Worker(url);
    worker.onmessage = (event) => onEvent(event.data as { id?: number });
    worker.onerror = (event) => {
      event.preventDefault();
      onEvent(null, event.message || 'a worker error');
    };
    return worker;
  } finally {
    URL.revokeObjectURL(url);
  }
}

let live = 0;

/** Threads this machine runs at once (navigator.hardwareConcurrency; Node: os.availableParallelism()). */
export function hardwareThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (typeof nav?.hardwareConcurrency === 'number' && nav.hardwareConcurrency > 0) return nav.hardwareConcurrency;
  if (isNode()) {
    const p = (globalThis as unknown as { process: { getBuiltinModule(name: string): unknown } }).process;
    return (p.getBuiltinModule('node:os') as { availableParallelism(): number }).availableParallelism();
  }
  return 1;
}

/** Workers started by pools and not yet ended, in this thread (for leak tests). */
export function liveWorkers(): number {
  return live;
}

export class WorkerPool {
  private readonly workers: AnyWorker[] = [];
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: GRUError) => void }>();
  private nextId = 0;
  private dead: string | null = null;
  /** Resolves once every worker has instantiated the kernels; rejects once the pool fails or is ended. */
  readonly ready: Promise<void>;
  /** Rejects each worker's start: a browser's Worker.terminate() fires no event, so nothing else would. */
  private readonly failStarts: ((error: GRUError) => void)[] = [];

  constructor(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory) {
    const readies: Promise<void>[] = [];
    try {
      for (let i = 0; i < count; i++) {
        let markReady!: () => void;
        let failReady!: (error: GRUError) => void;
        readies.push(
          new Promise<void>((resolve, reject) => {
            markReady = resolve;
            failReady = reject;
          }),
        );
        this.failStarts.push(failReady);
        const worker = spawn((message, failure) => {
          if (failure !== undefined) {
            this.fail(`wasm backend: worker ${i} of the pool died (${failure})`);
            failReady(new GRUError(`wasm backend: worker ${i} of the pool could not start (${failure})`));
            return;
          }
          if (message?.ready) markReady();
          else if (message?.id !== undefined) {
            const p = this.pending.get(message.id);
            this.pending.delete(message.id);
            if (message.error) p?.reject(new GRUError(`wasm backend: a kernel failed in worker ${i} (${message.error})`));
            else p?.resolve();
          }
        });
        worker.postMessage({ module, memory });
        this.workers.push(worker);
        live++;
      }
    } catch (error) {
      this.fail('wasm backend: the worker pool could not start');
      throw error;
    }
    // In Node a worker keeps the process alive only while the pool waits on it (start, phases):
    // an idle pool must not hold a finished program open.
    this.ready = Promise.all(readies).then(() => this.idle());
    // A failed start is reported through `ready` (awaited by WasmGRU.create) or the first run.
    this.ready.catch(() => undefined);
  }

  private idle(): void {
    for (const w of this.workers) w.unref?.();
  }

  /** Why the pool stopped working (a worker died, or it was ended), or null. */
  get failure(): string | null {
    return this.dead;
  }

  /** Number of threads of a phase: the workers and the calling thread. */
  get size(): number {
    return this.workers.length + 1;
  }

  private fail(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    for (const p of this.pending.values()) p.reject(new GRUError(reason));
    this.pending.clear();
    for (const failStart of this.failStarts) failStart(new GRUError(reason));
    for (const w of this.workers) void w.terminate();
    live -= this.workers.length;
  }

  /** Runs `tasks[i]` on thread i (0: the calling thread); resolves when all are done. */
  private async phase(kernels: KernelExports, tasks: Task[][]): Promise<void> {
    if (this.dead) throw new GRUError(this.dead);
    await this.ready;
    // Ended while this phase waited: nobody would answer its tasks.
    if (this.dead) throw new GRUError(this.dead);
    for (const w of this.workers) w.ref?.();
    const waits = tasks.slice(1).map((list, i) => {
      if (list.length === 0) return Promise.resolve();
      const id = this.nextId++;
      return new Promise<void>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.workers[i].postMessage({ id, tasks: list });
      });
    });
    try {
      for (const task of tasks[0]) {
        if ('gemm' in task) kernels.gemm(...task.gemm);
        else kernels.recur(task.recur);
      }
    } finally {
      // Even when this thread's share threw: wait for the workers' shares before the workspace is reused.
      await Promise.allSettled(waits);
      if (!this.dead) this.idle();
    }
    await Promise.all(waits);
  }

  /** One layer: the projection split by rows, then the recurrences (one per struct) spread round-robin. */
  async run(kernels: KernelExports, p: PoolJob, recur: number[]): Promise<void> {
    const n = this.size;
    const rowsPer = Math.ceil(p.m / n);
    const project: Task[][] = Array.from({ length: n }, (_, i) => {
      const m0 = Math.min(p.m, i * rowsPer);
      const m1 = Math.min(p.m, m0 + rowsPer);
      return m1 > m0 ? [{ gemm: [p.x + m0 * p.ldx * 4, p.ldx, m1 - m0, p.k, p.w, p.panels, p.bias, p.y + m0 * p.ldy * 4, p.ldy] }] : [];
    });
    await this.phase(kernels, project);
    const recurTasks: Task[][] = Array.from({ length: n }, () => []);
    recur.forEach((cfg, i) => {
      recurTasks[i % n].push({ recur: cfg });
    });
    await this.phase(kernels, recurTasks);
  }

  terminate(): void {
    this.fail('wasm backend: the worker pool was ended (destroy() was called)');
  }
}
