/**
 * The real-time example (examples/audio-worklet/) checked end to end in headless Chromium: a page
 * (test/worklet/) renders a seeded signal with an OfflineAudioContext through source →
 * AudioWorkletNode(GRU processor) → destination, and every rendered sample must match the float64
 * CPU reference (`gruReference`) run here in Node on the same blocks and weights: block t of the
 * output is h_t, and the input of step t is block t of the signal.
 *
 * Tolerance: |rendered − reference| ≤ 1e-5 + 1e-5·|reference| for every sample (F32_TOLERANCE of
 * the core suite: float32 WebAssembly kernels against a float64 reference).
 *
 * It renders twice: with the kernels compiled on the page and passed through `processorOptions`,
 * and compiled inside the AudioWorkletGlobalScope, so both of the paths the README documents stay
 * true. The time per block is printed, never asserted: the processor's own `Date.now()` sum over
 * its `stepSync` calls (a worklet has no `performance`) and the wall time of the whole render
 * divided by its blocks, against the 2.67 ms a block lasts at 48 kHz. A processor given a shape it
 * cannot run must reject the node's creation with its GRUError's message, which only its port carries.
 *
 * It fails (never skips) without Chromium (the launch throws inside the test), without an
 * AudioWorklet or WebAssembly SIMD (the page's `ready` rejects naming what is missing). Same
 * launcher and flags as the other browser tests (scripts/chromium.mjs).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import type { ViteDevServer } from 'vite';
import { afterAll, expect, it } from 'vitest';
import { launchChromium, startViteServer, withTimeout } from '../scripts/chromium.mjs';
import { BLOCK } from '../examples/audio-worklet/protocol.js';
import { gruReference, type GRUOptions } from '../src/index.js';
import { assertClose, F32_TOLERANCE, randomWeights, rng, uniform } from './suite/util.js';
import type { RenderRequest } from './worklet/main.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PAGE_PATH = '/test/worklet/index.html';
const SAMPLE_RATE = 48_000;
/** 1000 blocks: 2.67 s of audio, long enough for h to forget its zero start many times over. */
const BLOCKS = 1000;
const OPTIONS: GRUOptions = { inputSize: BLOCK, hiddenSize: BLOCK };

let server: ViteDevServer | undefined;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
const pageErrors: string[] = [];

afterAll(async () => {
  await chromium?.close();
  await server?.close();
}, 30_000);

/** A 220 Hz sine with seeded noise on top: deterministic, and never the same two blocks. */
function testSignal(): Float32Array {
  const noise = uniform(rng(81), BLOCKS * BLOCK, 0.3);
  return noise.map((v, n) => 0.5 * Math.sin((2 * Math.PI * 220 * n) / SAMPLE_RATE) + v);
}

async function openPage(origin: string): Promise<{ page: Page; userAgent: string }> {
  chromium = await launchChromium();
  const page = await chromium.browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') pageErrors.push(`[chromium ${msg.type()}] ${msg.text()}`);
  });
  page.on('pageerror', (err) => pageErrors.push(`[chromium pageerror] ${err instanceof Error ? err.message : String(err)}`));
  await page.goto(`${origin}${PAGE_PATH}`, { waitUntil: 'load' });
  await page
    .waitForFunction(() => window.__worklet !== undefined, { timeout: 60_000 })
    .catch(() => {
      throw new Error(`the worklet test page never set window.__worklet; page errors:\n${pageErrors.join('\n') || '(none)'}`);
    });
  const userAgent = await page.evaluate(() => window.__worklet.ready);
  return { page, userAgent };
}

it('renders the GRU processor offline exactly as the float64 reference, with the kernels compiled on the page and in the worklet', async () => {
  let origin: string;
  ({ server, origin } = await startViteServer(ROOT));
  const { page, userAgent } = await openPage(origin);

  const weights = randomWeights(OPTIONS, 80);
  const signal = testSignal();
  const want = gruReference(OPTIONS, weights, signal, { steps: BLOCKS, batch: 1 }).output;

  const request: Omit<RenderRequest, 'compileIn'> = {
    options: OPTIONS,
    weights: weights.map((w) => ({
      weightIh: Array.from(w.weightIh),
      weightHh: Array.from(w.weightHh),
      biasIh: Array.from(w.biasIh!),
      biasHh: Array.from(w.biasHh!),
    })),
    signal: Array.from(signal),
    sampleRate: SAMPLE_RATE,
  };
  const lines = [
    `worklet: ${userAgent}, ${BLOCKS} blocks of ${BLOCK} samples at ${SAMPLE_RATE} Hz (budget ${((BLOCK / SAMPLE_RATE) * 1e6).toFixed(0)} µs a block)`,
  ];
  for (const compileIn of ['page', 'worklet'] as const) {
    const r = await withTimeout(
      page.evaluate((req: RenderRequest) => window.__worklet.render(req), { ...request, compileIn }),
      60_000,
      `the render with the kernels compiled in the ${compileIn}`,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\npage errors:\n${pageErrors.join('\n') || '(none)'}`);
    });
    expect(r.info.compiledIn).toBe(compileIn);
    expect(r.info.sampleRate).toBe(SAMPLE_RATE);
    expect(r.stats.blocks).toBe(BLOCKS);
    const d = assertClose(`rendered output (kernels compiled in the ${compileIn})`, Float32Array.from(r.output), want, F32_TOLERANCE);
    lines.push(
      `  kernels compiled in the ${compileIn}, ${r.info.simd}: max |error| ${d.maxAbs.toExponential(2)}, max relative (|reference| > 1e-3) ${d.maxRel.toExponential(2)}; ` +
        `stepSync ${((r.stats.stepMs / r.stats.blocks) * 1000).toFixed(1)} µs a block (Date.now sum ${r.stats.stepMs} ms / ${r.stats.blocks}), ` +
        `render ${((r.renderMs / BLOCKS) * 1000).toFixed(1)} µs a block (${r.renderMs.toFixed(1)} ms wall)`,
    );
  }
  // A processor that cannot build its GRU says why through its port (its `processorerror` event has no message).
  const misfit: RenderRequest = { ...request, options: { inputSize: 64, hiddenSize: BLOCK }, compileIn: 'page' };
  await expect(page.evaluate((req: RenderRequest) => window.__worklet.render(req), misfit)).rejects.toThrow(
    /the GRU processor failed: GRUError: processorOptions\.options: expected inputSize = hiddenSize = 128 \(a render quantum of samples in and out\), got inputSize 64, hiddenSize 128/,
  );
  console.log(lines.join('\n'));
  expect(pageErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
}, 180_000);
