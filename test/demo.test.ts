/**
 * The demo (demo/, `npm run demo`) end to end in headless Chromium: the page loads the committed
 * model through the importer in its worker, and 'auto' (`createGRU`) must pick the WebAssembly
 * backend here, saying that the adapter (SwiftShader) runs on the CPU. The committed prompt's
 * greedy continuation, on 'auto' and then forced onto WebGPU, must equal PyTorch's text in
 * demo/model/expected.json exactly; a sampled run (temperature 0.8, seed 7) must give the same text
 * on both backends. A screenshot of the page is saved to a temporary folder (the path is printed)
 * and the per-step latencies are printed.
 *
 * Same launcher and flags as the core suite (scripts/chromium.mjs: SwiftShader without a GPU).
 * Without a WebGPU adapter the page still runs (on wasm), but 'auto' names no CPU adapter and
 * WebGPU cannot be forced, so the test fails (it never skips).
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
import type { BackendChoice } from '../demo/protocol.js';

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
async function generate(p: Page, backend: BackendChoice, runsBefore: number) {
  await p.click(`input[name="backend"][value="${backend}"]`);
  await p.click('#generate');
  await withTimeout(
    p.waitForFunction(
      (n: number) => window.__demo.results.length > n || window.__demo.error !== null,
      { timeout: 0, polling: 100 },
      runsBefore,
    ),
    // The first WebGPU run builds its model (pipelines compile on SwiftShader) before it generates.
    90_000,
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
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `p50 ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, mean ${mean.toFixed(3)} ms over ${s.length} steps`;
}

it("picks WebAssembly on 'auto' here, and writes PyTorch's greedy text and the same sampled text on both backends", async () => {
  const p = page!;
  // Inside the test, not in beforeAll: without an adapter this test fails (a failed hook would list it as skipped).
  await p
    .waitForFunction(() => window.__demo && ['ready', 'error'].includes(window.__demo.state()), { timeout: 60_000 })
    .catch(() => {
      throw new Error(`the demo page never became ready; page errors:\n${pageErrors.join('\n') || '(none)'}`);
    });
  const error = await p.evaluate(() => window.__demo.error);
  if (error) throw new Error(`the demo page reported: ${error}\n${pageErrors.join('\n')}`);

  expect(await p.$eval('#prompt', (e) => (e as HTMLInputElement).value)).toBe(expected.prompt);
  expect(await p.$eval('#length', (e) => (e as HTMLInputElement).value)).toBe(String(expected.length));
  expect(await p.$eval('input[name="backend"]:checked', (e) => (e as HTMLInputElement).value)).toBe('auto');

  // 'auto' chose wasm because the adapter is SwiftShader, and the page says so.
  const auto = (await p.evaluate(() => window.__demo.auto))!;
  expect(auto.backend).toBe('wasm');
  expect(auto.reason).toMatch(/^the given device's adapter \(.*swiftshader.*\) runs on the CPU, where the wasm kernels are faster$/i);
  expect(await p.$eval('#auto-label', (e) => e.textContent)).toBe('auto (WebAssembly)');
  expect(await p.$eval('#backend-info', (e) => e.textContent)).toBe(`auto runs WebAssembly (${auto.detail}): ${auto.reason}`);

  const wasm = await generate(p, 'auto', 0);
  expect(wasm.result.backend).toBe('wasm');
  expect(wasm.result.reason).toBe(auto.reason);
  expect(wasm.result.text).toBe(expected.text);
  expect(wasm.shown).toBe(expected.text);
  expect(wasm.result.stepMs).toHaveLength(expected.length);

  const gpu = await generate(p, 'webgpu', 1);
  expect(gpu.result.backend).toBe('webgpu');
  expect(gpu.result.reason).toBe("backend 'webgpu' was asked for, on the given device");
  expect(gpu.result.text).toBe(expected.text);
  expect(gpu.shown).toBe(expected.text);
  let verdict = await p.$eval('#verdict', (e) => e.textContent ?? '');
  expect(verdict).toContain("identical to PyTorch's greedy output");
  expect(verdict).toContain('WebGPU and WebAssembly agree');
  expect(await p.$eval('#backend-info', (e) => e.textContent)).toBe(
    `forced onto WebGPU (${gpu.result.detail}); auto chooses WebAssembly: ${auto.reason}`,
  );

  // Sampling: the same seed draws the same text on both backends (the same sampleLogits, from each one's logits).
  await p.$eval('#temperature', (e) => {
    (e as HTMLInputElement).value = '0.8';
    e.dispatchEvent(new Event('input'));
  });
  await p.$eval('#seed', (e) => {
    (e as HTMLInputElement).value = '7';
  });
  const sampledGpu = await generate(p, 'webgpu', 2);
  const sampledWasm = await generate(p, 'wasm', 3);
  expect(sampledGpu.result.backend).toBe('webgpu');
  expect(sampledWasm.result.backend).toBe('wasm');
  expect(sampledWasm.result.text).not.toBe(expected.text);
  expect(sampledWasm.result.text).toBe(sampledGpu.result.text);
  verdict = await p.$eval('#verdict', (e) => e.textContent ?? '');
  expect(verdict).toContain('WebGPU and WebAssembly agree');

  const p50 = await p.$$eval('#stats td[data-p50]', (cells) => cells.map((c) => Number((c as HTMLElement).dataset.p50)));
  expect(p50).toHaveLength(2);
  expect(p50.every((v) => v > 0)).toBe(true);

  const dir = await mkdtemp(join(tmpdir(), 'webgpu-gru-demo-'));
  const shot = join(dir, 'demo.png');
  await p.screenshot({ path: shot as `${string}.png`, fullPage: true });
  const adapter = await p.$eval('#adapter', (e) => e.textContent);
  console.log(
    `demo: ${adapter}\n` +
      `  WebAssembly (greedy): ${latency(wasm.result.stepMs)} (prompt ${wasm.result.prefillMs.toFixed(1)} ms)\n` +
      `  WebGPU (greedy):      ${latency(gpu.result.stepMs)} (prompt ${gpu.result.prefillMs.toFixed(1)} ms)\n` +
      `  WebAssembly (T 0.8):  ${latency(sampledWasm.result.stepMs)}\n` +
      `  WebGPU (T 0.8):       ${latency(sampledGpu.result.stepMs)}\n` +
      `  screenshot: ${shot}`,
  );
  expect(pageErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
}, 300_000);
