/**
 * The package as npm users get it. Nothing else in the suite looks at what `npm install` gives a
 * user: the other tests import src/, where a file left out of `files`, a wrong exports map, a
 * declaration that needs a devDependency or a kernel fetched at run time would all pass.
 *
 * 1. `npm run build`; a Node process in this checkout imports dist/ by name through the exports map
 *    (test/package/consumer.mjs) and runs a GRU on Dawn and on the wasm kernels; the bundle has the
 *    WGSL inlined and the kernels embedded.
 * 2. `npm pack` into a scratch folder: the tarball holds dist/, shaders/, README.md and package.json.
 * 3. The tarball is installed into a scratch app (`"type": "module"`) with `npm install --offline`.
 *    Offline, because CI has no network here and the test must not reach the registry. npm 11 asks
 *    for a package's *full* registry document to place a dependency, while `npm ci` leaves only the
 *    abbreviated ones in the cache, so `--offline` fails on our dependency (@webgpu/types: ENOTCACHED).
 *    Each registry dependency that the tarball's package.json declares (and theirs) is therefore
 *    handed to the same `npm install` as the folder this checkout installed, at the version we pin;
 *    npm links it and checks it against the tarball's range. The optional peer `webgpu` is not
 *    installed: a user of the browser API does not need it.
 * 4. A Node ESM app (test/package/node-app.mjs), run with plain `node`: a forward on WasmGRU (one
 *    thread, and a worker pool) and through createGRU equals the package's gruReference within 1e-5;
 *    both entry points import by name; without `webgpu`, webgpu-gru/node says what to install.
 * 5. A Vite app (index.html + main.ts importing 'webgpu-gru', scratch-app.ts) is built with this
 *    checkout's Vite (root: the scratch app, so 'webgpu-gru' comes from its node_modules), served
 *    from a plain node:http server on 127.0.0.1 and opened in headless Chromium (SwiftShader without
 *    a GPU, scripts/chromium.mjs): WebGPU, WasmGRU and createGRU each equal the reference within
 *    1e-5. The page fetches its HTML and its one script and nothing else, and the build emits no
 *    .wasm: the kernels are in the bundle.
 * 6. A TypeScript consumer of every entry point (GRU, createGRU, WasmGRU, the importers,
 *    webgpu-gru/node) type-checks against the tarball's declarations with this checkout's tsc,
 *    strict and with skipLibCheck off, under moduleResolution "bundler", "node16" and "node10".
 * 7. publint and @arethetypeswrong/cli (every resolution mode) report nothing on the tarball.
 *
 * Each step prints what it did and how long it took. The scratch folder is removed at the end
 * unless KEEP_SCRATCH=1 (its path is printed).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { build, createLogger } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, withTimeout } from '../scripts/chromium.mjs';
import { gruReference } from '../src/reference.js';
import { consumerCase, CONSUMER_TS, INDEX_HTML, MAIN_TS, tsconfig } from './package/scratch-app.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TOLERANCE = 1e-5;

function log(message: string) {
  console.log(`[package] ${message}`);
}

/** Runs a command to its end; never throws (the caller asserts on the exit code and the output). */
function run(command: string, args: string[], options: { cwd: string; timeoutMs?: number }) {
  // npm exports npm_* variables to the scripts it runs (`npm test`): a child npm must not read
  // them as its own configuration (a prefix pointing at this checkout would install into it).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const start = performance.now();
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((done) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: performance.now() - start });
    });
  });
}

function secs(ms: number) {
  return `${(ms / 1000).toFixed(1)} s`;
}

let building: Promise<void> | undefined;
/** `npm run build`, once for the whole file. */
function built() {
  building ??= (async () => {
    const r = await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`npm run build exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
    log(`npm run build: ${secs(r.ms)}`);
  })();
  return building;
}

interface Installed {
  scratch: string;
  tarball: string;
  app: string;
  packedFiles: string[];
  packedJson: { dependencies?: Record<string, string> };
}

/**
 * The registry dependencies of `deps` and theirs, as the folders this checkout installed (each at
 * the version we pin): what the scratch app's `npm install` gets instead of the registry.
 */
function dependencyFolders(deps: Record<string, string>, seen = new Map<string, string>()): Map<string, string> {
  for (const [name, range] of Object.entries(deps)) {
    if (seen.has(name)) continue;
    const dir = join(ROOT, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json')))
      throw new Error(`the package depends on ${name}@${range}, which this checkout has not installed`);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> };
    seen.set(name, dir);
    log(`  dependency ${name}@${range}: this checkout's ${pkg.version}`);
    dependencyFolders(pkg.dependencies ?? {}, seen);
  }
  return seen;
}

let installing: Promise<Installed> | undefined;
/** Build, `npm pack`, and `npm install --offline` the tarball into a scratch app; once for the whole file. */
function installed() {
  installing ??= (async () => {
    await built();
    const scratch = await mkdtemp(join(tmpdir(), 'webgpu-gru-consumer-'));
    log(`scratch folder: ${scratch}`);
    const pack = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: ROOT });
    if (pack.code !== 0) throw new Error(`npm pack exited with ${pack.code}:\n${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; size: number; files: { path: string }[] }[];
    const tarball = join(scratch, packed!.filename);
    const packedFiles = packed!.files.map((f) => f.path).sort();
    log(`npm pack: ${packed!.filename}, ${packedFiles.length} files, ${(packed!.size / 1024).toFixed(0)} KiB: ${secs(pack.ms)}`);

    const app = join(scratch, 'app');
    await mkdir(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-consumer', private: true, type: 'module' }, null, 2));
    const packedJson = JSON.parse(
      execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }),
    ) as Installed['packedJson'];
    const deps = [...dependencyFolders(packedJson.dependencies ?? {}).values()];
    const args = ['install', '--offline', '--no-audit', '--no-fund', '--install-links=false', '--prefix', app, tarball, ...deps];
    const install = await run('npm', args, { cwd: app });
    if (install.code !== 0) throw new Error(`npm ${args.join(' ')} exited with ${install.code}:\n${install.stdout}\n${install.stderr}`);
    log(
      `npm ${args.map((a) => (a.startsWith(scratch) ? relative(scratch, a) : a)).join(' ')}: ${install.stdout.trim()}: ${secs(install.ms)}`,
    );
    return { scratch, tarball, app, packedFiles, packedJson };
  })();
  return installing;
}

afterAll(async () => {
  const done = await installing?.catch(() => undefined);
  if (!done) return;
  if (process.env.KEEP_SCRATCH === '1') log(`kept ${done.scratch}`);
  else await rm(done.scratch, { recursive: true, force: true, maxRetries: 3 });
}, 30_000);

function maxDiff(got: ArrayLike<number>, want: ArrayLike<number>) {
  expect(got.length).toBe(want.length);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!));
  return m;
}

it('builds, inlines the shaders and the wasm kernels, and runs from dist/ through the exports map', async () => {
  await built();
  const bundle = readFileSync(join(ROOT, 'dist/index.js'), 'utf8');
  expect(bundle).toContain('fn step_fused');
  expect(bundle).toContain('fn project');
  expect(bundle).not.toMatch(/\.wgsl\?raw|fetch\(|virtual:gru-kernels/);
  const out = execFileSync('node', ['test/package/consumer.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  expect(result.length).toBe(4 * 2 * 10);
  expect(result.rejected).toBe(true);
  expect(result.maxDiff).toBeLessThan(1e-5);
  // No WebGPU in a plain Node process (no navigator.gpu): createGRU falls back to wasm.
  expect(result.auto).toBe('wasm');
}, 120_000);

describe('a consumer of the npm tarball', () => {
  const c = consumerCase();
  const weights = c.weights.map((w) => ({
    weightIh: Float32Array.from(w.weightIh),
    weightHh: Float32Array.from(w.weightHh),
    biasIh: Float32Array.from(w.biasIh),
    biasHh: Float32Array.from(w.biasHh),
  }));
  const reference = gruReference(c.options, weights, Float32Array.from(c.input), c.args);

  it('packs dist/, shaders/, README.md and package.json, and installs offline with its dependencies', async () => {
    const { app, packedFiles, packedJson } = await installed();
    const outside = packedFiles.filter((f) => !/^(dist\/|shaders\/[^/]+\.wgsl$|README\.md$|LICENSE$|package\.json$)/.test(f));
    expect(outside).toEqual([]);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/node.d.ts']) expect(packedFiles).toContain(f);
    const installedJson = JSON.parse(readFileSync(join(app, 'node_modules/webgpu-gru/package.json'), 'utf8'));
    expect(installedJson.dependencies).toEqual(packedJson.dependencies);
    for (const name of Object.keys(packedJson.dependencies ?? {}))
      expect(existsSync(join(app, 'node_modules', name, 'package.json'))).toBe(true);
    // The optional peer stays out: the browser API must not need it.
    expect(existsSync(join(app, 'node_modules/webgpu'))).toBe(false);
  }, 180_000);

  it('runs in a Node ESM app: WasmGRU and createGRU equal gruReference, both entry points import by name', async () => {
    const { app } = await installed();
    writeFileSync(join(app, 'case.json'), JSON.stringify(c));
    copyFileSync(join(ROOT, 'test/package/node-app.mjs'), join(app, 'node-app.mjs'));
    const r = await run('node', ['node-app.mjs'], { cwd: app });
    if (r.code !== 0) throw new Error(`node node-app.mjs exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    log(
      `Node app (${secs(r.ms)}): ${result.forwards.join(', ')}; max |diff| ${result.maxDiff.toExponential(2)}; without webgpu: ${result.withoutPeer}`,
    );
    expect(result.outputLength).toBe(reference.output.length);
    expect(result.forwards).toEqual(['WasmGRU threads 1', 'WasmGRU threads 2', 'createGRU -> wasm']);
    expect(result.maxDiff).toBeLessThan(TOLERANCE);
    expect(result.auto.backend).toBe('wasm');
    expect(result.nodeExports).toEqual(['adapterDescription', 'requestDevice']);
    expect(result.withoutPeer).toMatch(/^GRUError: webgpu-gru\/node: expected the 'webgpu' package .*npm install webgpu@0\.6\.2/);
    expect(r.stderr).toBe('');
  }, 180_000);

  it('bundles with Vite into a page that runs on WebGPU and on WasmGRU in headless Chromium, with no extra fetch', async () => {
    const { app } = await installed();
    writeFileSync(join(app, 'case.json'), JSON.stringify(c));
    writeFileSync(join(app, 'index.html'), INDEX_HTML);
    writeFileSync(join(app, 'main.ts'), MAIN_TS);

    const warnings: string[] = [];
    const logger = createLogger('warn');
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = logger.warn;
    const start = performance.now();
    await build({ root: app, configFile: false, logLevel: 'warn', customLogger: logger, build: { outDir: 'dist', emptyOutDir: true } });
    const dist = join(app, 'dist');
    const emitted = readdirSync(dist, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dist, join(e.parentPath, e.name)))
      .sort();
    log(`vite build (${secs(performance.now() - start)}): ${emitted.join(', ')}`);
    expect(warnings).toEqual([]);
    expect(emitted).toEqual([expect.stringMatching(/^assets\/index-[\w-]+\.js$/), 'index.html']);

    const requests: string[] = [];
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push(path);
      const file = join(dist, path === '/' ? 'index.html' : path);
      if (!file.startsWith(dist) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = { '.html': 'text/html', '.js': 'text/javascript' }[extname(file)] ?? 'application/octet-stream';
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': type }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const address = server.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const pageErrors: string[] = [];
      const pageRequests: string[] = [];
      page.on('request', (r) => void pageRequests.push(r.url()));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') pageErrors.push(`[${m.type()}] ${m.text()}`);
      });
      page.on('pageerror', (e) => void pageErrors.push(`[pageerror] ${e instanceof Error ? e.message : String(e)}`));
      const t0 = performance.now();
      await page.goto(`${origin}/`, { waitUntil: 'load' });
      await page.waitForFunction(() => (window as { __consumer?: unknown }).__consumer !== undefined, { timeout: 30_000 });
      type PageResult = Record<'webgpu' | 'wasm' | 'reference', { output: number[]; hN: number[] }> & {
        adapter: string;
        auto: { backend: string; reason: string; result: { output: number[]; hN: number[] } };
        error?: string;
      };
      const result = await withTimeout(
        page.evaluate(() => (window as unknown as { __consumer: Promise<unknown> }).__consumer) as Promise<PageResult>,
        90_000,
        'the consumer page',
      );
      if (result.error) throw new Error(`the consumer page failed: ${result.error}\n${pageErrors.join('\n')}`);
      const diffs = {
        webgpu: Math.max(maxDiff(result.webgpu.output, reference.output), maxDiff(result.webgpu.hN, reference.hN)),
        wasm: Math.max(maxDiff(result.wasm.output, reference.output), maxDiff(result.wasm.hN, reference.hN)),
        auto: Math.max(maxDiff(result.auto.result.output, reference.output), maxDiff(result.auto.result.hN, reference.hN)),
        bundledReference: Math.max(maxDiff(result.reference.output, reference.output), maxDiff(result.reference.hN, reference.hN)),
      };
      log(
        `Chromium (${secs(performance.now() - t0)}), adapter ${result.adapter}: max |diff| from the reference ` +
          Object.entries(diffs)
            .map(([k, v]) => `${k} ${v.toExponential(2)}`)
            .join(', ') +
          `; createGRU chose ${result.auto.backend}: ${result.auto.reason}`,
      );
      log(`requests: ${pageRequests.map((u) => u.replace(origin, '')).join(', ')}`);
      for (const d of Object.values(diffs)) expect(d).toBeLessThan(TOLERANCE);
      // The kernels come with the script: the page loads its HTML and its one bundle, nothing else.
      expect(pageRequests.map((u) => u.replace(origin, ''))).toEqual(['/', expect.stringMatching(/^\/assets\/index-[\w-]+\.js$/)]);
      expect(requests).toEqual(['/', expect.stringMatching(/^\/assets\/index-[\w-]+\.js$/)]);
      expect(pageErrors).toEqual([]);
    } finally {
      await chromium.close();
      await new Promise((ok) => server.close(ok));
    }
  }, 180_000);

  it.each(['bundler', 'node16', 'node10'] as const)(
    'type-checks a TypeScript consumer with moduleResolution %s',
    async (resolution) => {
      const { app } = await installed();
      writeFileSync(join(app, 'case.json'), JSON.stringify(c));
      writeFileSync(join(app, 'main.ts'), MAIN_TS);
      writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
      const config = `tsconfig.${resolution}.json`;
      writeFileSync(join(app, config), JSON.stringify(tsconfig(resolution), null, 2));
      const r = await run('node', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: app });
      log(`tsc -p ${config} (${secs(r.ms)}): exit ${r.code}${r.stdout.trim() ? `\n${r.stdout}` : ''}`);
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    },
    180_000,
  );

  it('passes publint with nothing to report', async () => {
    const { tarball } = await installed();
    const start = performance.now();
    const data = readFileSync(tarball);
    const tarballBuffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    const { messages, pkg } = await publint({ pack: { tarball: tarballBuffer }, level: 'suggestion', strict: true });
    const lines = messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`);
    log(`publint (${secs(performance.now() - start)}): ${lines.length ? `\n${lines.join('\n')}` : 'nothing to report'}`);
    expect(lines).toEqual([]);
  }, 180_000);

  // The package is ESM only (its `exports` give `types` and `default`: Node ≥ 20.19 can require()
  // it, and TypeScript then reports CJSResolvesToESM in node16-from-CJS, which is the design), so
  // attw runs with its esm-only profile: node16 from ESM and bundler must be clean (node10 has its
  // own check: the TypeScript consumer above).
  it('passes @arethetypeswrong/cli in every ESM resolution mode', async () => {
    const { tarball, scratch } = await installed();
    const r = await run(join(ROOT, 'node_modules/.bin/attw'), [tarball, '--format', 'json', '--profile', 'esm-only'], { cwd: scratch });
    const report = JSON.parse(r.stdout) as { problems?: Record<string, { kind: string; entrypoint: string; resolutionKind?: string }[]> };
    // The JSON lists the problems of every resolution mode; the esm-only profile ignores the CJS
    // ones (node10 and node16 from CJS) for the exit code only, so they are left out here too.
    const problems = Object.values(report.problems ?? {})
      .flat()
      .filter((p) => p.resolutionKind !== 'node16-cjs' && p.resolutionKind !== 'node10')
      .map((p) => `${p.kind} ${p.entrypoint} (${p.resolutionKind ?? 'any'})`);
    log(`attw (${secs(r.ms)}): ${problems.length ? problems.join('; ') : 'no problems'}`);
    expect(problems).toEqual([]);
    expect(r.code).toBe(0);
  }, 180_000);
});
