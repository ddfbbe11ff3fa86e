#!/usr/bin/env node
// @ts-check
/**
 * `node bench/peak.mjs`: the peak f32 SIMD throughput WebAssembly gets on this CPU, in GFLOP/s, at
 * 1 thread and at every thread (bench/lib/peak.mjs has the kernel and the method). bench/run.mjs
 * measures the same once per run — in the page for a browser run, whose engine validates relaxed
 * SIMD where Node 20 needs `node --experimental-wasm-relaxed-simd bench/peak.mjs` — and divides the
 * CPU runners' GFLOP/s by it.
 */
import { availableParallelism, cpus } from 'node:os';
import { describePeak, measurePeak } from './lib/peak.mjs';

const HELP = `Usage: node bench/peak.mjs [--threads=N]

The peak f32 SIMD throughput of WebAssembly on this CPU: independent f32x4 multiply-add chains
(f32x4.mul + f32x4.add, and f32x4.relaxed_madd where the engine validates relaxed SIMD), best of a
few chain counts, on 1 thread and on N threads at once (default N: os.availableParallelism()).
On Node 20, add --experimental-wasm-relaxed-simd to node's flags for the relaxed_madd figure.`;

function parse(/** @type {string[]} */ argv) {
  let threads = availableParallelism();
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return null;
    const m = /^--threads=(\d+)$/.exec(arg);
    if (!m || Number(m[1]) < 1)
      throw new Error(`unknown option or bad value ${JSON.stringify(arg)} (expected --threads=N, N ≥ 1; see --help)`);
    threads = Number(m[1]);
  }
  return { threads };
}

async function main() {
  const opts = parse(process.argv.slice(2));
  if (!opts) {
    console.log(HELP);
    return;
  }
  console.log(
    `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''}`,
  );
  for (const threads of opts.threads > 1 ? [1, opts.threads] : [1]) console.log(describePeak(await measurePeak(threads)));
}

main().catch((error) => {
  console.error(`peak: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
