#!/usr/bin/env node
// @ts-check
/**
 * `npm run soak`: the soak of test/suite/soak.ts at full length in Node, on the device of
 * `webgpu-gru/node` (hardware, else llvmpipe) — 10 000 forwards of mixed shapes and 100 000
 * streaming steps on each backend (WebGPU and wasm) — measured for leaks and slow-downs, with a
 * table and an exit code. Like the benchmark's Node form (bench/run.mjs), it loads the TypeScript
 * through Vite's ssrLoadModule: nothing needs building first.
 *
 * It fails (exit 1) when
 * - live GPU buffers differ between the start and the end (every GRU destroyed), or between the
 *   end of the warm-up and the end of the run (every GRU live, each keeping a plan of one shape);
 *   or wasm memory or workers are left after destroy();
 * - the JS heap or the resident set, after a full GC, grows by MEMORY_LIMIT (1 %) or more from the
 *   end of the warm-up (the first tenth of the forwards) to the end;
 * - a kind of call gets slower: the median of its last 1000 calls over that of its first 1000 is
 *   SLOWER (1.5) or more on the wall clock AND on the process's CPU clock. The CPU clock is there
 *   for the machine's other load, which stretches wall time but not the CPU time this process
 *   spends (Dawn's llvmpipe runs the shaders on this process's threads); a real slow-down shows on both;
 * - a checked result differs from gruReference (F32_TOLERANCE; every 500th call of each kind);
 * - the device reports an uncaptured error.
 *
 * Two things make the memory figures mean something at 1 %:
 * - A full GC every GC_INTERVAL_MS during the run. Each call leaves JS wrappers of Dawn objects
 *   (command encoders and buffers, staging buffers) whose native memory goes only when V8 collects
 *   them, and V8 does not count it when it decides to collect: without these GCs the native garbage
 *   of a whole GC cycle piles up and the allocator's high-water mark, the resident set, rose by
 *   0.7 % to 18 % over a run (more on a loaded machine). With them it stayed within 0.1 %.
 * - V8's bytecode flushing off (--no-flush-bytecode, in npm run soak): it drops the bytecode of
 *   functions not run for a while (the start-up's), which lowered the heap by 2 % over a run and
 *   would hide a growth of that size.
 *
 * Needs `node --expose-gc` (npm run soak passes it) and, in Node 20, --experimental-wasm-relaxed-simd.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const HELP = `Usage: npm run soak -- [--forwards N] [--steps N]

On one device (webgpu-gru/node: hardware, else llvmpipe): N forwards of mixed shapes (default
10000) and N streaming steps (default 100000) on the WebGPU GRU, and the same on the wasm backend.
Reports live GPU buffers, JS heap and resident set (after a GC) at the start, after the warm-up
(the first tenth of the forwards) and at the end, and the median time per call of the first and the
last 1000 calls of each kind. Exit 1 on a leak, growth of the heap or the resident set of 1 % or
more, a call kind 1.5× slower at the end (wall and CPU clock), or a result that differs from the
reference. Run it as npm run soak does: node --expose-gc --no-flush-bytecode.`;

/** Growth of the heap or the resident set from the warm-up to the end, as a fraction, that fails the soak. */
const MEMORY_LIMIT = 0.01;
/** A full GC this often during the run (see the header). */
const GC_INTERVAL_MS = 1000;
/** Last-thousand median over first-thousand median, on both clocks, that fails the soak. */
const SLOWER = 1.5;

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { forwards: 10_000, steps: 100_000, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      o.help = true;
      continue;
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name !== '--forwards' && name !== '--steps') throw new Error(`unknown option ${JSON.stringify(arg)} (see --help)`);
    const text = inline ?? argv[++i];
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(text)}`);
    o[name === '--forwards' ? 'forwards' : 'steps'] = value;
  }
  return o;
}

/**
 * heapUsed and rss after a full GC, each the least of three readings a task apart: right after a
 * run of GPU calls the heap still holds about 1 MiB that Dawn's bindings release a task later
 * (seen as 53.4 MiB on the first reading and 52.2 on the next two).
 * @param {() => void} gc
 */
async function settledMemory(gc) {
  let heapUsed = Infinity;
  let rss = Infinity;
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    gc();
    const m = process.memoryUsage();
    heapUsed = Math.min(heapUsed, m.heapUsed);
    rss = Math.min(rss, m.rss);
  }
  return { heapUsed, rss };
}

const mb = (/** @type {number} */ bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pct = (/** @type {number} */ from, /** @type {number} */ to) =>
  `${to >= from ? '+' : ''}${((100 * (to - from)) / from).toFixed(2)} %`;
const ms = (/** @type {number | undefined} */ v) => (v === undefined ? '—' : `${v.toFixed(3)} ms`);
const pad = (/** @type {string} */ s, /** @type {number} */ n) => s.padEnd(n);
const padL = (/** @type {string} */ s, /** @type {number} */ n) => s.padStart(n);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
  if (!gc) throw new Error('run with node --expose-gc (npm run soak does): the heap is measured after a full GC');

  const { createServer } = await import('vite');
  const server = await createServer({
    root: ROOT,
    logLevel: 'warn',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, ws: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  let device;
  try {
    const { adapterDescription, requestDevice } = await server.ssrLoadModule('/src/node.ts');
    const { runSoak, CALL_KINDS, WINDOW } = await server.ssrLoadModule('/test/suite/soak.ts');
    device = /** @type {GPUDevice} */ (await requestDevice({ quiet: true }));
    /** @type {string[]} */
    const deviceErrors = [];
    device.addEventListener('uncapturederror', (ev) => deviceErrors.push(/** @type {GPUUncapturedErrorEvent} */ (ev).error.message));
    console.log(
      `soak: ${opts.forwards} forwards and ${opts.steps} steps per backend (WebGPU, wasm) on ${adapterDescription(device)}, ` +
        `Node ${process.version}`,
    );

    /** @type {Record<string, { heapUsed: number, rss: number }>} */
    const memory = {};
    const t0 = performance.now();
    const collector = setInterval(gc, GC_INTERVAL_MS);
    const report = await runSoak(device, {
      forwards: opts.forwards,
      steps: opts.steps,
      async sample(/** @type {string} */ phase) {
        memory[phase] = await settledMemory(gc);
      },
      cpuMs() {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      },
      progress(/** @type {number} */ done) {
        const s = (performance.now() - t0) / 1000;
        console.log(`  ${done} / ${opts.forwards} forwards, ${Math.floor((done * opts.steps) / opts.forwards)} steps, ${s.toFixed(0)} s`);
      },
    }).finally(() => clearInterval(collector));

    /** @type {string[]} */
    const failures = [];
    const b = report.buffers;
    console.log(`\ntime: ${report.seconds.toFixed(1)} s`);
    console.log(
      `live GPU buffers: ${b.start} at the start, ${b.warm} after the warm-up, ${b.end} at the end (every GRU live), ` +
        `${b.afterDestroy} after destroy()`,
    );
    if (b.afterDestroy !== b.start) failures.push(`${b.afterDestroy - b.start} GPU buffers leaked`);
    if (b.end !== b.warm) failures.push(`live GPU buffers went from ${b.warm} to ${b.end} over the run`);
    console.log(`wasm after destroy(): ${report.wasm.bytesAfterDestroy} bytes allocated, ${report.wasm.workersLeft} workers running`);
    if (report.wasm.bytesAfterDestroy !== 0 || report.wasm.workersLeft !== 0) failures.push('wasm memory or workers left after destroy()');
    if (deviceErrors.length) failures.push(`${deviceErrors.length} uncaptured WebGPU errors: ${deviceErrors.slice(0, 3).join('; ')}`);

    console.log(
      `\n${pad('after a full GC', 16)}${['start', 'warm-up', 'end', 'warm-up → end', 'start → end'].map((h) => padL(h, 14)).join('')}`,
    );
    for (const key of /** @type {const} */ (['heapUsed', 'rss'])) {
      const [s, w, e] = [memory.start[key], memory.warm[key], memory.end[key]];
      console.log(`${pad(key, 16)}${[mb(s), mb(w), mb(e), pct(w, e), pct(s, e)].map((v) => padL(v, 14)).join('')}`);
      if ((e - w) / w >= MEMORY_LIMIT)
        failures.push(`${key} grew ${pct(w, e)} from the warm-up to the end (limit ${100 * MEMORY_LIMIT} %)`);
    }

    const checked = CALL_KINDS.map((/** @type {string} */ k) => `${k} ${report.checked[k]}`).join(', ');
    console.log(`\nchecked against gruReference: ${checked}; largest |diff| ${report.maxAbs.toExponential(2)}`);

    console.log(`\nmedian per call, first and last ${WINDOW} calls (wall clock; process CPU clock)`);
    console.log(
      `${pad('call', 15)}${padL('calls', 8)}${padL('first', 12)}${padL('last', 12)}${padL('last/first', 12)}` +
        `${padL('CPU first', 12)}${padL('CPU last', 12)}${padL('last/first', 12)}`,
    );
    for (const kind of CALL_KINDS) {
      const t = report.timing[kind];
      const wall = t.last / t.first;
      const cpu = t.lastCpu / t.firstCpu;
      console.log(
        `${pad(kind, 15)}${padL(String(t.count), 8)}${padL(ms(t.first), 12)}${padL(ms(t.last), 12)}${padL(`${wall.toFixed(2)}×`, 12)}` +
          `${padL(ms(t.firstCpu), 12)}${padL(ms(t.lastCpu), 12)}${padL(`${cpu.toFixed(2)}×`, 12)}`,
      );
      if (t.window < WINDOW) console.log(`${pad('', 15)}(windows of ${t.window} calls: fewer than ${2 * WINDOW} calls)`);
      if (wall >= SLOWER && cpu >= SLOWER) failures.push(`${kind}: its last calls are ${wall.toFixed(2)}× slower (CPU ${cpu.toFixed(2)}×)`);
    }

    if (failures.length) {
      console.log(`\nsoak FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
      return 1;
    }
    console.log(
      `\nsoak passed: no leaked buffer, heap and resident set growth under ${100 * MEMORY_LIMIT} % after the warm-up, ` +
        `no call kind ${SLOWER}× slower at the end`,
    );
    return 0;
  } finally {
    device?.destroy();
    await server.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
