/**
 * The page half of the browser benchmark. bench/run.mjs serves it from a Vite dev server (with
 * COOP/COEP headers, so that the peers' wasm threads work) and opens it in headless Chromium; it
 * opens our WebGPU device and exposes `window.__bench`, through which run.mjs runs one cell at a time
 * and measures the peak f32 SIMD throughput WebAssembly gets here (bench/lib/peak.mjs) once per run.
 *
 * The dispatch/submit counters are installed before anything (ours or a peer) touches WebGPU.
 */
import { createHarness, installCounters, ourRunners, type CellResult, type CellSpec, type HarnessInfo } from '../lib/harness.js';
import { peerInfo, peerRunners, type PeerInfo } from './peers.js';
import { RAISED_LIMITS, requestDeviceWithAdapterLimits } from '../../src/device.js';
import { measurePeak, type Peak } from '../lib/peak.mjs';

installCounters();

export interface PageInfo extends HarnessInfo {
  userAgent: string;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  adapter: { vendor: string; architecture: string; device: string; description: string };
  features: string[];
  limits: Record<string, number>;
}

export interface BenchPage {
  ready: Promise<PageInfo>;
  runCell(spec: CellSpec): Promise<CellResult>;
  peerInfo(): PeerInfo;
  /** The peak at `threads` threads (1: this page's main thread; more: that many Web Workers). */
  peak(threads: number): Promise<Peak>;
}

declare global {
  interface Window {
    __bench: BenchPage;
  }
}

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

async function init(): Promise<{ info: PageInfo; harness: ReturnType<typeof createHarness> }> {
  if (!navigator.gpu) throw new Error(`navigator.gpu is missing (secure context: ${window.isSecureContext})`);
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null: no WebGPU adapter');
  const device = await requestDeviceWithAdapterLimits(adapter, { label: 'bench (ours)', features: WANTED_FEATURES });
  device.addEventListener('uncapturederror', (ev) => console.error(`our device: ${(ev as GPUUncapturedErrorEvent).error.message}`));
  void device.lost.then((i) => console.error(`our device lost (${i.reason}): ${i.message}`));
  // The `…:threads=N` runners (ours and the peers' wasm builds) use every thread the page reports.
  const threads = Math.max(1, navigator.hardwareConcurrency || 1);
  const harness = createHarness(device, [...ourRunners(threads), ...peerRunners(threads)]);
  const limits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) limits[key] = device.limits[key];
  const a = adapter.info;
  return {
    harness,
    info: {
      ...harness.info(),
      userAgent: navigator.userAgent,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      hardwareConcurrency: navigator.hardwareConcurrency,
      adapter: { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description },
      features: [...device.features].sort(),
      limits,
    },
  };
}

const started = init();
started.catch(() => {});

window.__bench = {
  ready: started.then((s) => s.info),
  runCell: async (spec) => (await started).harness.runCell(spec),
  peerInfo: () => ({ ...peerInfo }),
  peak: (threads) => measurePeak(threads),
};
