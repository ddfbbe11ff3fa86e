/**
 * The demo (demo/, `npm run demo`) end to end in headless Chromium: the page loads the committed
 * model through the importer in its worker, generates the committed prompt's greedy continuation
 * on WebGPU and then on the CPU reference, and both must equal PyTorch's text in
 * demo/model/expected.json exactly. A screenshot of the page is saved to a temporary folder (the
 * path is printed) and the per-step latencies are printed.
 *
 * Same launcher and flags as the core suite (scripts/chromium.mjs: SwiftShader without a GPU).
 * Without a WebGPU adapter the page reports an error and the test fails (it never skips).
 */
import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, startViteServer, withTimeout } from '../scripts/chromium.mjs';
import type { DemoHandle } from '../demo/main.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEMO = join(ROOT, 'demo');
const expected = JSON.parse(readFileSync(join(DEMO, 'model', 'expected.json'), 'utf8')) as { prompt: string; length: number; text: string };

let server: ViteDevServer | undefined;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page | undefined;
const pageErrors: string[] = [];

declare global {
  interface Window {
    __demo: DemoHandle;
  }
}

beforeAll(async () => {
  let origin: string;
  ({ server, origin } = await startViteServer(DEMO, { configFile: join(DEMO, 'vite.config.ts') }));
  chromium = await launchChromium();
  page = await chromium.browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') pageErrors.push(`[chromium ${msg.type()}] ${msg.text()}`);
  });
  page.on('pageerror', (err) => pageErrors.push(`[chromium pageerror] ${err instanceof Error ? err.message : String(err)}`));
  await page.goto(`${origin}/`, { waitUntil: 'load' });
}, 90_000);

afterAll(async () => {
  await chromium?.close();
  await server?.close();
}, 30_000);

/** Clicks Generate on `backend` and waits for the run to finish; returns what the page shows and records. */
async function generate(p: Page, backend: 'gpu' | 'cpu', runsBefore: number) {
  await p.click(`input[name="backend"][value="${backend}"]`);
  await p.click('#generate');
  await withTimeout(
    p.waitForFunction((n: number) => window.__demo.results.length > n || window.__demo.error !== null, { timeout: 0, polling: 100 }, runsBefore),
    45_000,
    `the ${backend} generation`,
  );
  const state = await p.evaluate(() => ({ error: window.__demo.error, result: window.__demo.results.at(-1)! }));
  if (state.error) throw new Error(`the demo page reported: ${state.error}\n${pageErrors.join('\n')}`);
  const shown = await p.$eval('#output .generated', (e) => e.textContent ?? '');
  return { shown, result: state.result };
}

function latency(stepMs: number[]): string {
  const s = [...stepMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return `p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms over ${s.length} steps`;
}

it('generates PyTorch\'s greedy text exactly, on WebGPU and on the CPU reference, and shows it', async () => {
  const p = page!;
  // Inside the test, not in beforeAll: without an adapter this test fails (a failed hook would list it as skipped).
  await p.waitForFunction(() => window.__demo && ['ready', 'error'].includes(window.__demo.state()), { timeout: 60_000 }).catch(() => {
    throw new Error(`the demo page never became ready; page errors:\n${pageErrors.join('\n') || '(none)'}`);
  });
  const error = await p.evaluate(() => window.__demo.error);
  if (error) throw new Error(`the demo page reported: ${error}\n${pageErrors.join('\n')}`);

  expect(await p.$eval('#prompt', (e) => (e as HTMLInputElement).value)).toBe(expected.prompt);
  expect(await p.$eval('#length', (e) => (e as HTMLInputElement).value)).toBe(String(expected.length));

  const gpu = await generate(p, 'gpu', 0);
  expect(gpu.result.backend).toBe('gpu');
  expect(gpu.result.text).toBe(expected.text);
  expect(gpu.shown).toBe(expected.text);
  expect(gpu.result.stepMs).toHaveLength(expected.length);

  const cpu = await generate(p, 'cpu', 1);
  expect(cpu.result.backend).toBe('cpu');
  expect(cpu.shown).toBe(expected.text);

  const verdict = await p.$eval('#verdict', (e) => e.textContent ?? '');
  expect(verdict).toContain("identical to PyTorch's greedy output");
  expect(verdict).toContain('WebGPU and CPU reference agree');
  const p50 = await p.$$eval('#stats td[data-p50]', (cells) => cells.map((c) => Number((c as HTMLElement).dataset.p50)));
  expect(p50).toHaveLength(2);
  expect(p50.every((v) => v > 0)).toBe(true);

  const dir = await mkdtemp(join(tmpdir(), 'webgpu-gru-demo-'));
  const shot = join(dir, 'demo.png');
  await p.screenshot({ path: shot as `${string}.png`, fullPage: true });
  const adapter = await p.$eval('#adapter', (e) => e.textContent);
  console.log(
    `demo: ${adapter}\n` +
      `  WebGPU:        ${latency(gpu.result.stepMs)} (prompt ${gpu.result.prefillMs.toFixed(1)} ms)\n` +
      `  CPU reference: ${latency(cpu.result.stepMs)} (prompt ${cpu.result.prefillMs.toFixed(1)} ms)\n` +
      `  screenshot: ${shot}`,
  );
  expect(pageErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
}, 120_000);
