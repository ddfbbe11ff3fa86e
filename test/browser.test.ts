/**
 * The core suite (test/suite/index.ts) in a real browser: headless Chromium with WebGPU, driven by
 * puppeteer. A Vite dev server serves test/browser/index.html, whose main.ts loads the same cases,
 * opens a device and exposes `window.__gru`; here each case becomes one vitest `it` that runs it in
 * the page by name. The cases are imported in Node only for their names and timeouts.
 *
 * No GPU is needed: scripts/chromium.mjs (shared with the benchmark) launches Chromium on SwiftShader,
 * its CPU Vulkan (see docs/cpu-adapters.md). Where the page gets no WebGPU adapter, `beforeAll` throws:
 * the file fails and vitest exits non-zero (it lists the cases under the failed hook as skipped, never
 * as passed).
 *
 * Environment (read by scripts/chromium.mjs): CHROMIUM_PATH, the browser to launch; CHROMIUM_EXTRA_ARGS,
 * extra flags (`!--name` removes one of ours, e.g. `!--use-webgpu-adapter !--use-angle` on a machine
 * with a GPU; `!--enable-unsafe-webgpu` must make every case fail).
 */
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { launchChromium, startViteServer, withTimeout } from '../scripts/chromium.mjs';
import type { BrowserInfo, CaseFailure } from './browser/main.js';
import { cases } from './suite/index.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PAGE_PATH = '/test/browser/index.html';

/** For a case that declares no `timeoutMs`. */
const DEFAULT_CASE_TIMEOUT_MS = 120_000;
/** Time to reload the page after a case ran past its timeout, so that the next case starts clean. */
const RELOAD_MS = 60_000;
const STARTUP_MS = 120_000;

/**
 * Maps one frame of a page stack (`at f (http://127.0.0.1:PORT/test/suite/x.ts?t=1:12:5)`) to the
 * TypeScript source through the source map of Vite's transform, so that vitest shows the right line.
 * A frame that cannot be mapped keeps its URL: a file path with a transformed line would mislead.
 */
async function mapFrame(frame: string): Promise<string> {
  const m = /^(.*?)(https?:\/\/[^\s()]+?):(\d+):(\d+)(\)?)$/.exec(frame);
  if (!m || !server || !m[2]!.startsWith(`${origin}/`)) return frame;
  const [, before, url, line, column, after] = m as unknown as [string, string, string, string, string, string];
  const id = url.slice(origin.length);
  try {
    const map = (await server.transformRequest(id))?.map;
    if (!map || !('version' in map) || !map.mappings) return frame;
    const entry = new SourceMap({ file: '', sourceRoot: '', ...map } as SourceMapPayload).findEntry(Number(line) - 1, Number(column) - 1);
    if (!('originalSource' in entry)) return frame;
    const pathname = id.split('?')[0]!.replace(/^\/@fs\//, '/');
    const dir = pathname.startsWith(ROOT) ? dirname(pathname) : join(ROOT, dirname(pathname));
    const file = resolve(dir, entry.originalSource);
    return `${before}${file}:${entry.originalLine + 1}:${entry.originalColumn + 1}${after}`;
  } catch {
    return frame;
  }
}

/** Rebuilds a page-side failure as a Node Error: the page's message verbatim, its stack after it. */
async function toError(f: CaseFailure): Promise<Error> {
  const err = new Error(f.message);
  err.name = f.name;
  const frames = f.stack.split('\n').filter((line) => /^\s+at /.test(line));
  err.stack = [`${f.name}: ${f.message}`, ...(await Promise.all(frames.map(mapFrame)))].join('\n');
  return err;
}

let server: ViteDevServer | undefined;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page | undefined;
let origin = '';
/** Messages the page logged as errors, kept to explain a page that never became ready. */
const pageErrors: string[] = [];

async function openPage(p: Page): Promise<BrowserInfo> {
  await p.goto(`${origin}${PAGE_PATH}`, { waitUntil: 'load' });
  try {
    await p.waitForFunction(() => '__gru' in window, { timeout: 30_000 });
  } catch {
    throw new Error(`the test page never defined window.__gru; page errors:\n${pageErrors.join('\n') || '(none)'}`);
  }
  const outcome = await p.evaluate(() =>
    window.__gru.ready.then(
      (info) => ({ info, failure: null }),
      (e: unknown) => ({
        info: null,
        failure: { name: 'Error', message: e instanceof Error ? e.message : String(e), stack: (e as Error)?.stack ?? '' },
      }),
    ),
  );
  if (outcome.failure) throw await toError(outcome.failure);
  return outcome.info!;
}

beforeAll(async () => {
  const t0 = performance.now();
  // Cross-origin isolated, so that the page has shared memory and the wasm backend's threads run.
  ({ server, origin } = await startViteServer(ROOT, {
    server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  }));
  const tServer = performance.now();
  chromium = await launchChromium();
  const browser = chromium.browser;
  const tLaunch = performance.now();
  page = await browser.newPage();
  page.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warn') return;
    const text = `[chromium ${type}] ${msg.text()}`;
    pageErrors.push(text);
    console.error(text);
  });
  page.on('pageerror', (err) => {
    const text = `[chromium pageerror] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    pageErrors.push(text);
    console.error(text);
  });
  page.on('error', (err) => console.error(`[chromium crash] ${err.message}`));

  const info = await openPage(page);
  const tReady = performance.now();
  const { vendor, architecture, description } = info.adapter;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `browser WebGPU adapter: vendor=${vendor || '?'} architecture=${architecture || '?'} ` +
      `description=${description || '?'} (${await browser.version()})\n` +
      `  features: ${info.features.join(', ') || 'none'}\n` +
      `  ready in ${s(tReady - t0)}: Vite ${s(tServer - t0)}, Chromium ${s(tLaunch - tServer)}, ` +
      `page and device ${s(tReady - tLaunch)}`,
  );

  const here = cases.map((c) => c.name);
  if (new Set(here).size !== here.length) throw new Error('test/suite/index.ts has two cases with the same name');
  if (JSON.stringify(here) !== JSON.stringify(info.cases)) {
    throw new Error(`the page loaded other cases than Node did:\n  node: ${here.join(', ')}\n  page: ${info.cases.join(', ')}`);
  }
}, STARTUP_MS);

afterAll(async () => {
  await chromium?.close();
  await server?.close();
}, 60_000);

async function runInPage(name: string, timeoutMs: number): Promise<void> {
  if (!page) throw new Error('the browser page did not start (see the beforeAll error)');
  const p = page;
  const run = p.evaluate(
    (caseName: string) =>
      window.__gru.runCase(caseName).then(
        () => null,
        (e: unknown): CaseFailure =>
          e instanceof Error
            ? { name: e.name, message: e.message, stack: e.stack ?? '' }
            : { name: 'Error', message: `non-Error thrown: ${String(e)}`, stack: '' },
      ),
    name,
  );
  let failure: CaseFailure | null;
  try {
    failure = await withTimeout(run, timeoutMs, `case ${JSON.stringify(name)}`);
  } catch (e) {
    // The case may still be running on the device: reload, so that the next case gets a fresh one.
    run.catch(() => {});
    await openPage(p).catch((reloadError: unknown) => {
      console.error(`reloading the page after a timeout failed: ${String(reloadError)}`);
    });
    throw e;
  }
  if (failure) throw await toError(failure);
}

describe('core suite in headless Chromium (WebGPU)', () => {
  for (const c of cases) {
    const timeoutMs = c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
    it(c.name, () => runInPage(c.name, timeoutMs), timeoutMs + RELOAD_MS);
  }
});
