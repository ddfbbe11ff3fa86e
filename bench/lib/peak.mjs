// @ts-check
/**
 * The peak f32 SIMD throughput this CPU gives WebAssembly: the denominator of the benchmark's
 * "fraction of peak" for the wasm runners (ours and the peers' CPU builds). A GFLOP/s figure alone
 * does not say how far a CPU kernel is from what the machine can do; this does.
 *
 * The kernel is a WebAssembly module assembled here from bytes (no compiler, so the page and Node
 * run the very same code): a loop of `chains` independent f32x4 chains, acc = acc·m + m, either as
 * f32x4.mul then f32x4.add ('mul-add', plain SIMD128) or as one f32x4.relaxed_madd ('relaxed-madd',
 * where the engine validates relaxed SIMD; a fused multiply-add on x86 with FMA). With enough
 * independent chains the loop is bound by the multiply/add ports, not by their latency; the number
 * needed depends on the core (latency × ports), and too many spill registers, so several chain
 * counts are tried and the best kept. Every lane-operation counts 2 FLOPs (a multiply and an add),
 * as the GRU FLOP counts do. m = 0.999 keeps the accumulators finite and normal (they tend to 999).
 *
 * The threads > 1 figure runs the same loop in that many workers at once (Web Workers from a Blob
 * URL in a page, worker_threads in Node) and sums their rates; it is what several cores really give
 * (two hyperthreads of one core would give about one core's worth).
 *
 * Plain JS with JSDoc types: imported by bench/run.mjs and bench/peak.mjs in Node and by the page.
 */

/** @typedef {'mul-add' | 'relaxed-madd'} PeakOp */
/**
 * @typedef {{ gflops: number, chains: number }} OpPeak
 * @typedef {{ threads: number, gflops: number, op: PeakOp, ops: { 'mul-add': OpPeak | null, 'relaxed-madd': OpPeak | null }, roundMs: number }} Peak
 */

/**
 * Chain counts tried: 8 hide a 4-cycle latency on 2 ports; mul-add chains (two dependent ops) need
 * about twice that; past ~14, x86-64's 16 vector registers (V8 keeps one or two) make V8 spill.
 */
const CHAIN_COUNTS = Object.freeze([8, 12, 14, 16]);
/** Chain steps per loop iteration, per chain (the loop's own counter and branch are then negligible). */
export const UNROLL = 4;
/** Timed rounds per measurement; the fastest counts (noise only ever slows a round down). */
const ROUNDS = 5;
/** Target length of one round. */
const ROUND_MS = 40;

/** @param {number} n @returns {number[]} */
function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** @param {number} id @param {number[]} body */
const section = (id, body) => [id, ...uleb(body.length), ...body];

/** @param {number} x */
function f32const(x) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [0x43, ...b];
}

const SIMD = 0xfd;
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_EXTRACT_LANE0 = [SIMD, 0x1f, 0];
const F32X4_ADD = [SIMD, ...uleb(228)];
const F32X4_MUL = [SIMD, ...uleb(230)];
const F32X4_RELAXED_MADD = [SIMD, ...uleb(0x105)];

/**
 * The module: `run(n: i32) -> f32` does n iterations of UNROLL × chains chain steps and returns a
 * lane of the accumulators' sum (so that nothing is dead code).
 * @param {PeakOp} op
 * @param {number} chains
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function peakModuleBytes(op, chains) {
  const m = chains + 1; // locals: 0 = n (the parameter), 1..chains = accumulators, m = the constant
  const code = [...f32const(0.999), ...F32X4_SPLAT, 0x21, m];
  for (let i = 0; i < chains; i++) code.push(...f32const(1 + i / 64), ...F32X4_SPLAT, 0x21, 1 + i);
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(0x20, 0, 0x45, 0x0d, 1); // if n == 0: break
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 1; i <= chains; i++) {
      if (op === 'mul-add') code.push(0x20, i, 0x20, m, ...F32X4_MUL, 0x20, m, ...F32X4_ADD, 0x21, i);
      else code.push(0x20, i, 0x20, m, 0x20, m, ...F32X4_RELAXED_MADD, 0x21, i);
    }
  }
  code.push(0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x0c, 0, 0x0b, 0x0b); // n -= 1; continue; end loop, block
  code.push(0x20, 1);
  for (let i = 2; i <= chains; i++) code.push(0x20, i, ...F32X4_ADD);
  code.push(...F32X4_EXTRACT_LANE0, 0x0b);
  const body = [1, ...uleb(chains + 1), 0x7b, ...code]; // one group of locals: chains + 1 v128
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // type 0: (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, 3, ...new TextEncoder().encode('run'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** FLOPs of run(n). @param {number} chains @param {number} n */
const flopsOf = (chains, n) => n * UNROLL * chains * 4 * 2;

/** Which ops this engine validates. @returns {PeakOp[]} */
export function peakOps() {
  if (typeof WebAssembly !== 'object' || !WebAssembly.validate(peakModuleBytes('mul-add', 8))) return [];
  return WebAssembly.validate(peakModuleBytes('relaxed-madd', 8)) ? ['mul-add', 'relaxed-madd'] : ['mul-add'];
}

/**
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @returns {(n: number) => number}
 */
function instantiate(bytes) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return /** @type {(n: number) => number} */ (instance.exports.run);
}

/**
 * Iterations of run() for one round of about ROUND_MS, after warming the function up.
 * @param {(n: number) => number} run
 */
function calibrate(run) {
  let n = 1000;
  for (;;) {
    const t0 = performance.now();
    run(n);
    const dt = performance.now() - t0;
    if (dt > ROUND_MS / 4) return Math.max(1, Math.round((n * ROUND_MS) / dt));
    n *= 4;
  }
}

/** The fastest of ROUNDS rounds, in ms. @param {(n: number) => number} run @param {number} n */
function fastestRound(run, n) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    run(n);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * Runs in each worker: instantiate, warm up, say ready; on 'go', ROUNDS rounds; answer the fastest.
 * Self-contained (a Blob URL or worker_threads eval), like the pool of src/wasm/pool.ts.
 */
const WORKER_SOURCE = `
const post = typeof self === 'object' && typeof self.postMessage === 'function' ? (m) => self.postMessage(m) : null;
let run, n;
function onMessage(data, reply) {
  try {
    if (data.bytes) {
      run = new WebAssembly.Instance(new WebAssembly.Module(data.bytes), {}).exports.run;
      n = data.n;
      run(n);
      reply({ ready: true });
      return;
    }
    let best = Infinity;
    for (let r = 0; r < data.rounds; r++) {
      const t0 = performance.now();
      run(n);
      best = Math.min(best, performance.now() - t0);
    }
    reply({ ms: best });
  } catch (error) {
    reply({ error: String(error) });
  }
}
if (post) {
  self.onmessage = (event) => onMessage(event.data, post);
} else {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  parentPort.on('message', (data) => onMessage(data, (m) => parentPort.postMessage(m)));
}
`;

/**
 * @typedef {{ post(message: unknown): void, next(): Promise<{ ready?: true, ms?: number, error?: string }>, end(): void }} PeakWorker
 */

/** @returns {PeakWorker} */
function spawn() {
  /** @type {{ ready?: true, ms?: number, error?: string }[]} */
  const inbox = [];
  /** @type {((m: { ready?: true, ms?: number, error?: string }) => void)[]} */
  const waiting = [];
  /** @param {{ ready?: true, ms?: number, error?: string }} m */
  const deliver = (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  };
  const next = () => new Promise((resolve) => (inbox.length ? resolve(/** @type {never} */ (inbox.shift())) : waiting.push(resolve)));
  const proc = /** @type {{ versions?: { node?: string }, getBuiltinModule?: (name: string) => any } | undefined} */ (
    /** @type {any} */ (globalThis).process
  );
  if (typeof proc?.versions?.node === 'string' && typeof proc.getBuiltinModule === 'function') {
    const { Worker } = proc.getBuiltinModule('node:worker_threads');
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', deliver);
    worker.on('error', (/** @type {unknown} */ e) => deliver({ error: String(e) }));
    return { post: (m) => worker.postMessage(m), next, end: () => void worker.terminate() };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  try {
    const worker = new Worker(url);
    worker.onmessage = (event) => deliver(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      deliver({ error: event.message || 'a worker error' });
    };
    return { post: (m) => worker.postMessage(m), next, end: () => worker.terminate() };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * GFLOP/s of `threads` workers running the module at once, each for ROUNDS rounds of n iterations.
 * @param {Uint8Array<ArrayBuffer>} bytes @param {number} chains @param {number} n @param {number} threads
 */
async function measureWorkers(bytes, chains, n, threads) {
  const workers = Array.from({ length: threads }, spawn);
  try {
    for (const w of workers) w.post({ bytes, n });
    for (const [i, w] of workers.entries()) {
      const m = await w.next();
      if (!m.ready) throw new Error(`peak: worker ${i} could not start (${m.error ?? 'no answer'})`);
    }
    for (const w of workers) w.post({ rounds: ROUNDS });
    let gflops = 0;
    for (const [i, w] of workers.entries()) {
      const m = await w.next();
      if (m.ms === undefined) throw new Error(`peak: worker ${i} failed (${m.error ?? 'no answer'})`);
      gflops += flopsOf(chains, n) / (m.ms * 1e6);
    }
    return gflops;
  } finally {
    for (const w of workers) w.end();
  }
}

/**
 * The peak at `threads` threads (1: on the calling thread; more: that many workers at once). Chain
 * counts are chosen on the calling thread, one op at a time. About 1–2 s per op.
 * @param {number} [threads]
 * @returns {Promise<Peak>}
 */
export async function measurePeak(threads = 1) {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`peak: threads: expected a positive integer, got ${threads}`);
  const ops = peakOps();
  if (!ops.length) throw new Error('peak: this engine does not validate WebAssembly SIMD128');
  /** @type {Peak['ops']} */
  const found = { 'mul-add': null, 'relaxed-madd': null };
  for (const op of ops) {
    let best = { gflops: 0, chains: 0, n: 0 };
    for (const chains of CHAIN_COUNTS) {
      const run = instantiate(peakModuleBytes(op, chains));
      const n = calibrate(run);
      const gflops = flopsOf(chains, n) / (fastestRound(run, n) * 1e6);
      if (gflops > best.gflops) best = { gflops, chains, n };
    }
    const gflops = threads === 1 ? best.gflops : await measureWorkers(peakModuleBytes(op, best.chains), best.chains, best.n, threads);
    found[op] = { gflops, chains: best.chains };
  }
  const op = /** @type {PeakOp} */ (ops.reduce((a, b) => ((found[b]?.gflops ?? 0) > (found[a]?.gflops ?? 0) ? b : a)));
  return { threads, gflops: /** @type {OpPeak} */ (found[op]).gflops, op, ops: found, roundMs: ROUND_MS };
}

/**
 * One line: the peak and how it was reached.
 * @param {Peak} p
 */
export function describePeak(p) {
  const parts = Object.entries(p.ops)
    .filter((e) => e[1] !== null)
    .map(([op, v]) => `${op} ${/** @type {OpPeak} */ (v).gflops.toFixed(1)} (${/** @type {OpPeak} */ (v).chains} chains)`);
  const missing = p.ops['relaxed-madd'] === null ? '; relaxed SIMD not validated by this engine' : '';
  return `${p.gflops.toFixed(1)} GFLOP/s at ${p.threads} thread${p.threads > 1 ? 's' : ''}: ${parts.join(', ')}${missing}`;
}
