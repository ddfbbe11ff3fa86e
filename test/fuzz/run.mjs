#!/usr/bin/env node
// @ts-check
/**
 * `npm run fuzz`: the seeded fuzzer of test/fuzz/fuzz.ts in Node, on the device `webgpu-gru/node`
 * gives (hardware, else llvmpipe) and on the wasm backend. Vite loads the TypeScript (as for
 * `npm run bench -- --node`), so nothing needs building. Prints every failure as it happens, with
 * the line that replays it, then a summary; exits 1 on any failure. See `--help`.
 *
 * Devices are taken afresh every `--device-every` iterations (a device's pipeline cache grows with
 * every new shape) and after a hang. A hang that blocks the event loop (a synchronous loop in an
 * importer, say) cannot be raced by a timer: a watchdog thread ends the process then, naming the
 * iteration.
 */
import { writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createServer } from 'vite';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const HELP = `Usage: npm run fuzz -- [options]     (or: node test/fuzz/run.mjs [options])

Draws GRU configurations, weights and calls from a seed, mostly valid, some broken in one named way,
and checks every call on the WebGPU GRU (Dawn) and the WebAssembly backend: valid calls against
gruReference, broken ones for a GRUError naming the argument (see test/fuzz/fuzz.ts).

Options:
  --seed=N            the seed (default 1); iteration i draws from (seed, i) alone
  --iterations=N      how many (default 10000)
  --from=I            the first iteration's index (default 0)
  --pool=N            draw the kernel-shaping options from N shapes (the suite's case uses this)
  --timeout-ms=N      per iteration, before it counts as a hang (default 60000)
  --device-every=N    a new device every N iterations (default 250)
  --help              this text

Replay one iteration: npm run fuzz -- --seed=S --from=I --iterations=1`;

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { seed: 1, iterations: 10_000, from: 0, pool: 0, timeoutMs: 60_000, deviceEvery: 250, help: false };
  /** @type {Record<string, 'seed' | 'iterations' | 'from' | 'pool' | 'timeoutMs' | 'deviceEvery'>} */
  const numbers = {
    '--seed': 'seed',
    '--iterations': 'iterations',
    '--from': 'from',
    '--pool': 'pool',
    '--timeout-ms': 'timeoutMs',
    '--device-every': 'deviceEvery',
  };
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      o.help = true;
      continue;
    }
    const [name, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, ''];
    const key = numbers[name];
    if (!key) throw new Error(`unknown option ${JSON.stringify(arg)} (see --help)`);
    const n = Number(value);
    const least = key === 'from' || key === 'pool' || key === 'seed' ? 0 : 1;
    if (value === '' || !Number.isSafeInteger(n) || n < least) {
      throw new Error(`${name}: expected an integer ≥ ${least}, got ${JSON.stringify(value)}`);
    }
    o[key] = n;
  }
  return o;
}

/**
 * A thread that ends the process when the main thread has not started a new iteration for
 * `limitMs`: the timer inside runFuzz cannot fire while a synchronous call blocks the event loop.
 * @param {Int32Array} beat [iteration, seconds since start at its start]
 * @param {number} limitMs
 * @param {string} repro
 */
function watchdog(beat, limitMs, repro) {
  const source = `
    const { workerData } = require('node:worker_threads');
    const { writeSync } = require('node:fs');
    const { beat, limitMs, repro, start } = workerData;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      Atomics.wait(pause, 0, 0, 1000);
      const i = Atomics.load(beat, 0);
      if (i >= 0 && Date.now() - start - Atomics.load(beat, 1) * 1000 > limitMs) {
        writeSync(2, '\\nfuzz: iteration ' + i + ' blocked the event loop for over ' + limitMs + ' ms (a hang)\\n  ' + repro.replace('FROM', i) + '\\n');
        process.kill(process.pid, 'SIGKILL');
      }
    }`;
  const worker = new Worker(source, { eval: true, workerData: { beat, limitMs, repro, start: Date.now() } });
  worker.unref();
  return worker;
}

/** @param {ReturnType<typeof parseArgs>} opts */
async function main(opts) {
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const server = await createServer({
    root: ROOT,
    logLevel: 'warn',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, ws: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  try {
    /** @type {import('./fuzz.js')} */
    const fuzz = /** @type {any} */ (await server.ssrLoadModule('/test/fuzz/fuzz.ts'));
    /** @type {import('../../src/node.js')} */
    const node = /** @type {any} */ (await server.ssrLoadModule('/src/node.ts'));
    const pool = opts.pool ? ` --pool=${opts.pool}` : '';
    const beat = new Int32Array(new SharedArrayBuffer(8)).fill(-1);
    const t0 = Date.now();
    watchdog(beat, 3 * opts.timeoutMs, `npm run fuzz -- --seed=${opts.seed} --from=FROM --iterations=1${pool}`);

    const total = fuzz.emptySummary(opts.seed, opts.from);
    const end = opts.from + opts.iterations;
    let next = opts.from;
    let adapter = '';
    let failed = 0;
    while (next < end) {
      const device = await node.requestDevice({ quiet: true });
      adapter ||= node.adapterDescription(device) ?? 'unknown adapter';
      if (next === opts.from) console.log(`fuzz: seed ${opts.seed}, iterations ${opts.from}..${end - 1}${pool}, on ${adapter} and wasm`);
      const s = await fuzz.runFuzz(device, {
        seed: opts.seed,
        from: next,
        iterations: Math.min(opts.deviceEvery, end - next),
        ...(opts.pool ? { pool: opts.pool } : {}),
        timeoutMs: opts.timeoutMs,
        onIteration(i) {
          Atomics.store(beat, 0, i);
          Atomics.store(beat, 1, Math.floor((Date.now() - t0) / 1000));
          if (i > opts.from && (i - opts.from) % 500 === 0) {
            console.log(`  … ${i - opts.from} iterations, ${failed} failures, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
          }
        },
        onFailure(f) {
          failed++;
          console.log(`FAIL #${f.iteration} ${f.what}\n  ${f.message.replaceAll('\n', '\n  ')}\n  ${f.repro}`);
        },
      });
      fuzz.addSummary(total, s);
      // After a hang the device may still be busy with it: leave it, take a new one.
      if (s.hung === undefined) device.destroy();
      next += s.iterations;
    }
    Atomics.store(beat, 0, -1);
    // The failures were printed as they came; the summary counts them.
    console.log(fuzz.formatSummary({ ...total, ms: Date.now() - t0 }, false));
    return total.failures.length > 0 ? 1 : 0;
  } finally {
    await server.close();
  }
}

/** @type {ReturnType<typeof parseArgs>} */
let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  console.error(`fuzz: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
main(options).then(
  (code) => process.exit(code),
  (error) => {
    writeSync(2, `fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
