#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench`: our WebGPU GRU and our wasm backend against onnxruntime-web (webgpu and wasm)
 * and TensorFlow.js (webgpu and wasm) in headless Chromium, in one browser run; `--node` runs ours
 * (Dawn and wasm) and the CPU reference in Node instead (no browser, no peers). See `--help`.
 *
 * This file is the driver. The work happens in bench/lib/harness.ts (ours, the reference, the
 * check, the timing loop), bench/page/ (the page and the peers) and bench/node.ts (the Node form),
 * which Vite serves to the page or loads into Node (ssrLoadModule): nothing needs building first.
 * The driver runs one cell (config × runner) at a time, the cheapest configs first, prints a line
 * per cell, skips an optional cell (a peer's, the reference's, one of our variants') when the
 * runner's earlier configs predict a forward over the cap or a run over its target length, and
 * writes the reports (bench/report.mjs) under bench/results/. Before the cells it measures the peak
 * f32 SIMD throughput WebAssembly gets on the host that runs them (bench/lib/peak.mjs; in the page
 * for a browser run), the denominator of the CPU runners' "of peak" column.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startViteServer, withTimeout } from '../scripts/chromium.mjs';
import { describePeak, measurePeak } from './lib/peak.mjs';
import { isOptional, isOurVariant, selected } from './lib/names.mjs';
import { baselineCell, fmtFraction, fmtGflops, fmtMs, formatTables, headline, peakFraction, peakLine, writeReports } from './report.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');

const HELP = `Usage: npm run bench -- [options]      (or: node bench/run.mjs [options])

Benchmarks webgpu-gru (WebGPU, and its wasm backend) against onnxruntime-web 1.30 (webgpu and wasm
EPs) and TensorFlow.js 4.22 (webgpu and wasm backends) in headless Chromium, all in one browser run
(a cross-origin-isolated page, so that wasm threads work), and writes a table, a JSON record and an
HTML report with a chart under bench/results/. First it measures the peak f32 SIMD throughput
WebAssembly gets on this CPU (as \`node bench/peak.mjs\` does, in the page) at 1 and N threads: the
CPU runners' "of peak" is their GFLOP/s over the peak at their thread count.

Configs (one layer, forward, resetAfter true, I = H unless noted):
  A  B=1  T=100  H=64          E  B=1  T=1000 H=32
  B  B=1  T=100  H=256         F  B=8  T=100  H=128, 2 layers, bidirectional
  C  B=16 T=50   H=256         G  B=64 T=32   H=1024 (full run and --node only)
  D  B=64 T=32   H=512         W  B=16 T=50   H=128, 3 layers (the wavefront's case)
                               S  B=1  T=1    H=256: one streaming step (createState + step);
                                  the peers run a T=1 forward
Runners:
  ours           GRU.forward, read-back included (S: step)
  ours-gpu       GRU.forwardGPU, GPU-resident, timed to onSubmittedWorkDone (S: stepGPU)
  ours-ra0       GRU.forward with resetAfter false (the like-for-like baseline of tfjs)
  ours-gpu:NAME  every entry of GRU.schedules, and weightFormat f16 / int8 (when GRU.create takes them)
  ours-wasm      WasmGRU.forward on 1 thread (S: createState + stepSync)
  ours-wasm:threads=N
                 the same on N threads, N = every thread of the host (navigator.hardwareConcurrency;
                 --node: os.availableParallelism()); absent where N = 1
  ours-wasm-ra0, ours-wasm-ra0:threads=N
                 WasmGRU with resetAfter false (the like-for-like baseline of tfjs-wasm)
  ours-auto      createGRU with backend 'auto' and this device: the backend it picked and why are in
                 the cell's message; its ratio is to the fastest of ours and ours-wasm (1 or N threads)
  reference      gruReference, the CPU reference (its check validates ours)
  ort-webgpu     onnxruntime-web/webgpu, 'webgpu' EP
  ort-wasm       the same build, 'wasm' EP, env.wasm.numThreads = 1   ort-wasm:threads=N: = N
  tfjs-webgpu    tf.layers.gru, 'webgpu' backend
  tfjs-wasm      'wasm' backend, setThreadsCount(1)                    tfjs-wasm:threads=N: (N)
  (tfjs has no resetAfter: true; it runs resetAfter false and is compared with ours-ra0, and its
  wasm runners with ours-wasm-ra0 at the same thread count; ORT's wasm runners with ours-wasm)

Options:
  --quick              fewer repetitions and a tighter cap on slow peers; leaves out G (under 3 min here)
  --configs=A,B,...    only these configs
  --runners=ours,...   only these runners; a name also selects its variants (ours → ours-gpu:…,
                       ours-wasm…; ort-wasm → ort-wasm:threads=N); ort-wasm:threads=2 only itself
  --adapter=swiftshader|hardware
                       browser: SwiftShader (default; CPU Vulkan, works without a GPU) or the
                       machine's GPU (drops the SwiftShader flags). --node: 'cpu' or 'hardware'
                       adapter of webgpu-gru/node (default there: hardware, else the CPU fallback)
  --node               Node form: ours on Dawn (webgpu-gru/node) and on wasm (worker_threads), and
                       the reference; no browser, no peers; works offline on a Linux box with an
                       NVIDIA GPU. Node 20 runs relaxed SIMD (ours and the peak) only with
                       \`node --experimental-wasm-relaxed-simd bench/run.mjs --node\`
  --save-baseline      also write bench/results/baseline.json
  --max-forward-ms=N   skip a peer's or the reference's cell when its earlier configs predict one
                       forward over N ms (default 4000 with --quick, 45000 otherwise);
                       our variants (ours-gpu:…) at a quarter of N; never ours, ours-gpu, ours-ra0,
                       our wasm runners or ours-auto
  --target-s=N         the run's target length: those optional cells are also skipped where they
                       would make the run longer (default 140 with --quick, 810 otherwise)
  --help               this text

Environment: CHROMIUM_PATH, CHROMIUM_EXTRA_ARGS (see scripts/chromium.mjs).`;

/** @typedef {{ maxReps: number, minReps: number, budgetMs: number }} Timing */

/**
 * @param {string[]} argv
 */
function parseArgs(argv) {
  const o = {
    quick: false,
    node: false,
    help: false,
    saveBaseline: false,
    /** @type {string[] | null} */ configs: null,
    /** @type {string[] | null} */ runners: null,
    /** @type {string | null} */ adapter: null,
    /** @type {number | null} */ maxForwardMs: null,
    /** @type {number | null} */ targetS: null,
  };
  for (const arg of argv) {
    const [name, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const list = () => {
      if (!value) throw new Error(`${name}: expected a comma-separated list, got nothing`);
      return value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    };
    switch (name) {
      case '--quick':
        o.quick = true;
        break;
      case '--node':
        o.node = true;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      case '--save-baseline':
        o.saveBaseline = true;
        break;
      case '--configs':
        o.configs = list().map((s) => s.toUpperCase());
        break;
      case '--runners':
        o.runners = list();
        break;
      case '--adapter':
        if (value !== 'swiftshader' && value !== 'hardware' && value !== 'cpu') {
          throw new Error(`--adapter: expected swiftshader, hardware or cpu, got ${JSON.stringify(value)}`);
        }
        o.adapter = value;
        break;
      case '--max-forward-ms': {
        const n = Number(value);
        if (!(n > 0)) throw new Error(`--max-forward-ms: expected a positive number, got ${JSON.stringify(value)}`);
        o.maxForwardMs = n;
        break;
      }
      case '--target-s': {
        const n = Number(value);
        if (!(n > 0)) throw new Error(`--target-s: expected a positive number of seconds, got ${JSON.stringify(value)}`);
        o.targetS = n;
        break;
      }
      default:
        throw new Error(`unknown option ${JSON.stringify(arg)} (see --help)`);
    }
  }
  return o;
}

/** The peers' files, untransformed, with the headers a cross-origin-isolated page needs. */
const PEER_DIRS = /** @type {Record<string, string>} */ ({
  '/__peers/ort/': join(ROOT, 'node_modules', 'onnxruntime-web', 'dist'),
  '/__peers/tfjs-wasm/': join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist'),
});
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
const MIME = /** @type {Record<string, string>} */ ({
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
});

/** @returns {import('vite').Plugin} */
function peersPlugin() {
  return {
    name: 'bench-peers',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0];
        const prefix = Object.keys(PEER_DIRS).find((p) => url.startsWith(p));
        if (!prefix) return next();
        const name = url.slice(prefix.length);
        const file = join(PEER_DIRS[prefix], name);
        if (!/^[\w.-]+$/.test(name) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          res.end(`not found: ${url}`);
          return;
        }
        const ext = name.slice(name.lastIndexOf('.'));
        res.setHeader('Content-Type', MIME[ext] ?? 'application/octet-stream');
        res.setHeader('Content-Length', statSync(file).size);
        res.setHeader('Cache-Control', 'no-cache');
        for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
        createReadStream(file).pipe(res);
      });
    },
  };
}

/** @param {number} ms */
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: null };
  }
}

/**
 * The page or the Node module, behind one interface.
 * @typedef {{ config: string, runner: string, status: string, message?: string, medianMs?: number, firstMs?: number,
 *   minMs?: number, reps?: number, gflops?: number, dispatches?: number, submits?: number, maxDiff?: number,
 *   threads?: number }} CellResult
 * @typedef {{ id: string, family: string, baseline: string | readonly string[] | null, what: string }} RunnerDesc
 * @typedef {{ id: string, batch: number, steps: number, inputSize: number, hiddenSize: number, numLayers: number,
 *   direction: string, streaming: boolean, fullOnly: boolean, what: string }} ConfigDesc
 * @typedef {{ configs: ConfigDesc[], runners: RunnerDesc[], schedules: string[], counters: boolean } & Record<string, unknown>} Info
 * @typedef {{ info: Info, runCell(spec: { config: string, runner: string, timing: Timing }, timeoutMs: number): Promise<CellResult>,
 *   peak(threads: number): Promise<import('./lib/peak.mjs').Peak>, peakWhere: string,
 *   extraMeta(): Promise<Record<string, unknown>>, close(): Promise<void> }} Target
 */

/**
 * @param {ReturnType<typeof parseArgs>} opts
 * @returns {Promise<Target>}
 */
async function browserTarget(opts) {
  const adapter = opts.adapter === 'hardware' ? 'hardware' : 'swiftshader';
  if (opts.adapter === 'cpu') throw new Error("--adapter=cpu is for --node; the browser's CPU adapter is 'swiftshader'");
  const t0 = performance.now();
  const { server, origin } = await startViteServer(ROOT, {
    cacheDir: join(ROOT, 'node_modules', '.vite-bench'),
    server: { headers: ISOLATION_HEADERS },
    optimizeDeps: {
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm'],
    },
    plugins: [peersPlugin()],
  });
  /** @type {Awaited<ReturnType<typeof launchChromium>> | undefined} */
  let chromium;
  try {
    chromium = await launchChromium({ adapter });
    const browserVersion = await chromium.browser.version();
    const page = await chromium.browser.newPage();
    page.on('console', (msg) => {
      const type = msg.type();
      if (type === 'error' || type === 'warn') console.error(`  [page ${type}] ${msg.text()}`);
    });
    page.on('pageerror', (err) => console.error(`  [page error] ${err instanceof Error ? err.message : String(err)}`));
    page.on('error', (err) => console.error(`  [chromium crash] ${err.message}`));
    const open = async () => {
      await page.goto(`${origin}/bench/page/index.html`, { waitUntil: 'load', timeout: 120_000 });
      await page.waitForFunction(() => '__bench' in window, { timeout: 120_000 });
      return /** @type {Info} */ (/** @type {unknown} */ (await page.evaluate(() => window.__bench.ready)));
    };
    const info = await open();
    console.log(
      `browser: ${browserVersion}, ready in ${secs(performance.now() - t0)}; cross-origin isolated: ${info.crossOriginIsolated}, ` +
        `${info.hardwareConcurrency} cores`,
    );
    const c = /** @type {Awaited<ReturnType<typeof launchChromium>>} */ (chromium);
    return {
      info,
      async runCell(spec, timeoutMs) {
        const run = page.evaluate((s) => window.__bench.runCell(s), spec);
        try {
          return await withTimeout(run, timeoutMs, `cell ${spec.config}/${spec.runner}`);
        } catch (error) {
          run.catch(() => {});
          // The page may still be busy with the cell: reload it so that the next one starts clean.
          await open().catch((e) => console.error(`  reloading the page failed: ${String(e)}`));
          return { config: spec.config, runner: spec.runner, status: 'timeout', message: String(error) };
        }
      },
      // In the page, where the CPU runners run: its engine may have instructions Node's lacks.
      peak: (threads) => page.evaluate((t) => window.__bench.peak(t), threads),
      peakWhere: `in the page, ${browserVersion}`,
      async extraMeta() {
        const peers = await page.evaluate(() => window.__bench.peerInfo()).catch(() => ({}));
        return { host: 'browser', browser: browserVersion, chromiumArgs: c.args, chromiumPath: c.executablePath, peers };
      },
      async close() {
        await c.close();
        await server.close();
      },
    };
  } catch (error) {
    await chromium?.close();
    await server.close();
    throw error;
  }
}

/**
 * @param {ReturnType<typeof parseArgs>} opts
 * @returns {Promise<Target>}
 */
async function nodeTarget(opts) {
  const { createServer } = await import('vite');
  const server = await createServer({
    root: ROOT,
    logLevel: 'warn',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  try {
    const mod = await server.ssrLoadModule('/bench/node.ts');
    const adapter = opts.adapter === 'hardware' ? 'hardware' : opts.adapter === 'swiftshader' || opts.adapter === 'cpu' ? 'cpu' : 'auto';
    const bench = await mod.createNodeBench(adapter);
    const info = /** @type {Info} */ (bench.info);
    console.log(`node ${process.version}: ${info.adapter}; ${info.hardwareConcurrency} threads for the wasm runners`);
    return {
      info,
      // Node has one thread for both the driver and the work: a cell cannot be interrupted.
      runCell: (spec) => bench.runCell(spec),
      peak: (threads) => measurePeak(threads),
      peakWhere: `Node ${process.version}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''}`,
      extraMeta: async () => ({ host: 'node', node: process.version }),
      async close() {
        bench.close();
        await server.close();
      },
    };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** @param {number} flops */
function fmtGflop(flops) {
  return flops >= 1e9 ? `${(flops / 1e9).toFixed(2)} GFLOP` : `${(flops / 1e6).toFixed(2)} MFLOP`;
}

/** @param {ConfigDesc} c */
function flopsOf(c) {
  const D = c.direction === 'bidirectional' ? 2 : 1;
  let total = 0;
  for (let l = 0; l < c.numLayers; l++) {
    const K = l === 0 ? c.inputSize : D * c.hiddenSize;
    total += D * c.steps * c.batch * (2 * 3 * c.hiddenSize * K + 2 * 3 * c.hiddenSize * c.hiddenSize);
  }
  return total;
}

/**
 * @param {CellResult} r
 * @param {number} elapsedMs
 * @param {Record<string, unknown>} meta  where the peak is (`peak`), for a CPU runner's fraction of it
 */
function cellLine(r, elapsedMs, meta) {
  const head = `  ${r.config}  ${r.runner.padEnd(24)}`;
  const tail = `[${secs(elapsedMs).padStart(7)}]`;
  if (r.status !== 'ok') {
    const extra = r.maxDiff !== undefined ? ` (first ${fmtMs(r.firstMs ?? NaN)} ms)` : '';
    return `${head} ${r.status.toUpperCase()}${extra}: ${r.message ?? ''}  ${tail}`;
  }
  const parts = [
    `first ${fmtMs(r.firstMs ?? NaN).padStart(8)} ms`,
    `median ${fmtMs(r.medianMs ?? NaN).padStart(8)} ms`,
    `min ${fmtMs(r.minMs ?? NaN).padStart(8)} ms`,
    `×${String(r.reps).padEnd(3)}`,
    `${fmtGflops(r.gflops ?? 0).padStart(8)} GFLOP/s`,
    r.dispatches === undefined ? '' : `disp ${String(r.dispatches).padStart(5)} sub ${String(r.submits).padStart(3)}`,
    r.maxDiff === undefined ? '' : `Δ ${r.maxDiff.toExponential(1)}`,
    peakFraction(meta, r) === undefined ? '' : `${fmtFraction(/** @type {number} */ (peakFraction(meta, r)))} of peak`,
  ];
  return `${head} ${parts.filter(Boolean).join('  ')}  ${tail}${r.message ? `  ${r.message}` : ''}`;
}

/**
 * The time a·s + b·f (a, b ≥ 0) of a forward with s sequential steps and f FLOPs, fitted to earlier
 * observations by least squares on the relative error; 0 with none. One observation cannot tell a
 * from b: the model allows anything from t₀·min(s/s₀, f/f₀) to t₀·max(…). The full run takes the
 * smallest (it has time to spare: tfjs-webgpu then runs at B, C, D and F); `cautious` (--quick) the
 * geometric mean of the two (the smallest once ran a 45 s cell in a 3-minute quick run).
 * @param {{ t: number, s: number, f: number }[]} obs
 * @param {number} s
 * @param {number} f
 * @param {boolean} cautious
 */
function fitPredict(obs, s, f, cautious) {
  if (obs.length === 0) return 0;
  if (obs.length === 1) {
    const lo = Math.min(s / obs[0].s, f / obs[0].f);
    const hi = Math.max(s / obs[0].s, f / obs[0].f);
    return obs[0].t * (cautious ? Math.sqrt(lo * hi) : lo);
  }
  // Minimise Σ (a·x_i + b·y_i − 1)² with x = s/t, y = f/t.
  let xx = 0,
    xy = 0,
    yy = 0,
    x1 = 0,
    y1 = 0;
  for (const o of obs) {
    const x = o.s / o.t;
    const y = o.f / o.t;
    xx += x * x;
    xy += x * y;
    yy += y * y;
    x1 += x;
    y1 += y;
  }
  /** @param {number} a @param {number} b */
  const residual = (a, b) => obs.reduce((sum, o) => sum + ((a * o.s + b * o.f) / o.t - 1) ** 2, 0);
  /** @type {[number, number][]} */
  const candidates = [
    [x1 / xx, 0],
    [0, y1 / yy],
  ];
  const det = xx * yy - xy * xy;
  if (Math.abs(det) > 1e-12 * xx * yy) {
    const a = (x1 * yy - y1 * xy) / det;
    const b = (y1 * xx - x1 * xy) / det;
    if (a >= 0 && b >= 0) candidates.push([a, b]);
  }
  const [a, b] = candidates.reduce((best, c) => (residual(c[0], c[1]) < residual(best[0], best[1]) ? c : best));
  return a * s + b * f;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const tStart = performance.now();
  const quick = opts.quick;
  /** @type {Timing} */
  const timing = quick ? { maxReps: 5, minReps: 1, budgetMs: 500 } : { maxReps: 30, minReps: 3, budgetMs: 4000 };
  const maxForwardMs = opts.maxForwardMs ?? (quick ? 4000 : 45000);
  const cellTimeoutMs = quick ? 120_000 : 300_000;
  /** The run's target length: optional cells are skipped where they would push the run past it. */
  const targetMs = (opts.targetS ?? (quick ? 140 : 810)) * 1000;

  console.log(`webgpu-gru bench: ${opts.node ? 'Node (Dawn)' : 'headless Chromium'}, ${quick ? 'quick' : 'full'} run`);
  const target = opts.node ? await nodeTarget(opts) : await browserTarget(opts);
  const { info } = target;
  /** @type {CellResult[]} */
  const results = [];
  try {
    const known = new Set(info.configs.map((c) => c.id));
    for (const id of opts.configs ?? [])
      if (!known.has(id)) throw new Error(`--configs: no config ${id}; expected some of ${[...known].join(',')}`);
    if (opts.runners) {
      for (const f of opts.runners) {
        if (!info.runners.some((r) => selected([f], r.id))) {
          throw new Error(`--runners: no runner ${f} here; expected some of ${info.runners.map((r) => r.id).join(',')}`);
        }
      }
    }
    const configs = info.configs.filter((c) => (opts.configs ? opts.configs.includes(c.id) : !(quick && !opts.node && c.fullOnly)));
    const runners = info.runners.filter((r) => selected(opts.runners, r.id));
    console.log(
      `schedules: ${info.schedules.length ? info.schedules.join(', ') : 'none (GRU.schedules absent)'}; ` +
        `dispatch counters: ${info.counters ? 'on' : 'unavailable'}`,
    );
    console.log(
      `timing: warm median of up to ${timing.maxReps} reps (at least ${timing.minReps}) within ${secs(timing.budgetMs)} per cell; ` +
        `peers and the reference skipped where a forward is predicted over ${secs(maxForwardMs)} (our variants: ${secs(maxForwardMs / 4)}), ` +
        `or where they would take the run past ${secs(targetMs)}`,
    );
    // The peak first, while nothing else runs: at 1 thread and at every thread of the host.
    const allThreads = Number(info.hardwareConcurrency) || 1;
    /** @type {import('./report.mjs').PeakRecord} */
    let peak;
    try {
      const at = [await target.peak(1), ...(allThreads > 1 ? [await target.peak(allThreads)] : [])];
      peak = { where: target.peakWhere, at };
      for (const p of at) console.log(`peak f32 SIMD (WebAssembly, ${target.peakWhere}): ${describePeak(p)}`);
    } catch (error) {
      peak = { where: target.peakWhere, error: error instanceof Error ? error.message : String(error) };
      console.log(peakLine({ peak }));
    }
    /**
     * Predictions of a runner's time per forward, to skip the cells that would blow the time
     * limit (the cap). A forward is modelled as a·(sequential steps) + b·FLOPs, a, b ≥ 0, fitted to
     * the runner's earlier configs (see fitPredict).
     * Our GPU variants (ours-gpu:…) are predicted from their smallest ratio to ours-gpu so far
     * times ours-gpu's time in this config, when that is larger.
     * @type {Map<string, { t: number, s: number, f: number }[]>}
     */
    const seen = new Map();
    /** @type {Map<string, number>} */
    const bestRatio = new Map();
    /** @param {RunnerDesc} r @param {string} config @param {number} s @param {number} f */
    const predict = (r, config, s, f) => {
      const own = fitPredict(seen.get(r.id) ?? [], s, f, quick);
      if (!isOurVariant(r)) return own;
      const base = baselineCell(results, r, config);
      const ratio = bestRatio.get(r.id);
      return Math.max(own, base?.medianMs !== undefined && ratio !== undefined ? base.medianMs * ratio : 0);
    };
    const mainRunners = runners.filter((r) => !isOptional(r));
    /**
     * Predicted time of the main runners' cells (first + one warm forward) in `rest`, optimistic
     * (a cautious guess from the first small configs would keep most of the run for the last ones).
     * @param {ConfigDesc[]} rest
     */
    const mainReserve = (rest) =>
      rest.reduce(
        (sum, c) =>
          sum + mainRunners.reduce((t, r) => t + 2 * fitPredict(seen.get(r.id) ?? [], c.steps * c.numLayers, flopsOf(c), false), 0),
        0,
      );
    // Cheapest first: the small configs feed the predictions for the large ones, and where the run's
    // time budget runs short, it is the large configs' optional cells that are left out.
    const order = [...configs].sort((a, b) => flopsOf(a) - flopsOf(b));
    for (const c of order) {
      const f = flopsOf(c);
      const steps = c.steps * c.numLayers;
      const D = c.direction === 'bidirectional' ? 2 : 1;
      console.log(
        `config ${c.id}: B=${c.batch} T=${c.steps} I=${c.inputSize} H=${c.hiddenSize} L=${c.numLayers} D=${D}` +
          `${c.streaming ? ' (one streaming step)' : ''}, ${fmtGflop(f)} per forward`,
      );
      for (const r of runners) {
        const tCell = performance.now();
        /** @type {CellResult} */
        let result;
        const predicted = predict(r, c.id, steps, f);
        // Our main runners (WebGPU, wasm, auto) always run; our GPU variants, the reference and the
        // peers may be skipped.
        const optional = isOptional(r);
        const cap = isOurVariant(r) ? maxForwardMs / 4 : maxForwardMs;
        // A cell costs at least two forwards (the first and one warm); keep time for the main
        // runners of the configs still to come. Cells predicted under 1% of the target always run:
        // they barely move the total, and the reserve is a wild guess while only small configs ran.
        const elapsed = performance.now() - tStart;
        const reserve = mainReserve(order.slice(order.indexOf(c) + 1));
        if (optional && predicted > cap) {
          result = {
            config: c.id,
            runner: r.id,
            status: 'skipped',
            message: `predicted ≥ ${secs(predicted)} per forward from its earlier configs (cap ${secs(cap)})`,
          };
        } else if (optional && 2 * predicted > targetMs / 100 && elapsed + 2 * predicted + reserve > targetMs) {
          result = {
            config: c.id,
            runner: r.id,
            status: 'skipped',
            message: `the run's time budget: ${secs(elapsed)} spent + 2 × ${secs(predicted)} predicted + ${secs(reserve)} kept for ours > ${secs(targetMs)}`,
          };
        } else {
          result = await target.runCell({ config: c.id, runner: r.id, timing }, cellTimeoutMs);
        }
        const perForward = result.status === 'timeout' ? cellTimeoutMs : (result.medianMs ?? result.firstMs);
        if (perForward !== undefined) seen.set(r.id, [...(seen.get(r.id) ?? []), { t: perForward, s: steps, f }]);
        const base = baselineCell(results, r, c.id);
        if (perForward !== undefined && base?.medianMs) {
          bestRatio.set(r.id, Math.min(bestRatio.get(r.id) ?? Infinity, perForward / base.medianMs));
        }
        results.push(result);
        console.log(cellLine(result, performance.now() - tCell, { peak }));
      }
    }
    const durationS = (performance.now() - tStart) / 1000;
    const git = gitCommit();
    const record = {
      meta: {
        date: new Date().toISOString(),
        mode: quick ? 'quick' : 'full',
        argv: process.argv.slice(2),
        durationS: Number(durationS.toFixed(1)),
        gitCommit: git.commit,
        gitDirty: git.dirty,
        os: `${platform()} ${release()}`,
        cpu: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
        nodeVersion: process.version,
        ...(await target.extraMeta()),
        adapter: info.adapter,
        features: info.features,
        limits: info.limits,
        crossOriginIsolated: info.crossOriginIsolated,
        hardwareConcurrency: info.hardwareConcurrency,
        peak,
        userAgent: info.userAgent,
        schedules: info.schedules,
        timing,
        maxForwardMs,
        targetS: targetMs / 1000,
        flops: 'per forward: Σ over layers and directions of T·B·(2·3H·K + 2·3H·H), K = the layer input size',
      },
      configs: configs.map((c) => ({ ...c, gflop: flopsOf(c) / 1e9 })),
      runners,
      results,
    };
    console.log('');
    console.log(formatTables(record));
    const head = headline(record);
    if (head) console.log(`\n${head}`);
    const stem = `${record.meta.date.replace(/[:.]/g, '-')}-${opts.node ? 'node' : 'browser'}${quick ? '-quick' : ''}`;
    const paths = writeReports(RESULTS, stem, record, opts.saveBaseline);
    console.log(`\n${paths.map((p) => `wrote ${join('bench', 'results', basename(p))}`).join('\n')}`);
    console.log(`total ${secs(performance.now() - tStart)}`);
    const failed = results.filter((r) => r.status === 'check-failed' || r.status === 'error' || r.status === 'timeout');
    if (failed.length)
      console.log(`${failed.length} cell(s) failed or errored: ${failed.map((r) => `${r.config}/${r.runner}`).join(', ')}`);
    const oursFailed = failed.filter((r) => r.runner.startsWith('ours') || r.runner === 'reference');
    return oursFailed.length ? 1 : 0;
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
