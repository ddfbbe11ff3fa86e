/**
 * The page half of test/browser.test.ts. Served by a Vite dev server and opened in headless
 * Chromium, it loads the core suite, opens a WebGPU device and exposes `window.__gru`, through which
 * the Node half runs one case at a time (one vitest `it` per case).
 *
 * Every case runs through `runGuarded` (test/suite/guard.ts), as in Node: error scopes, uncaptured
 * errors and a lost device all fail it.
 * The suite is imported dynamically so that an import or compile error rejects `ready` with its
 * message instead of leaving the page without `__gru` (the Node half would only see a timeout).
 */
import { RAISED_LIMITS, requestDeviceWithAdapterLimits } from '../../src/device.js';
import { runGuarded } from '../suite/guard.js';
import type { Case, SuiteEnv } from '../suite/registry.js';

/** What `window.__gru.ready` resolves to; printed once by the Node half. */
export interface BrowserInfo {
  userAgent: string;
  adapter: { vendor: string; architecture: string; device: string; description: string };
  features: string[];
  limits: Record<string, number>;
  cases: string[];
}

/** A page-side failure flattened for the trip to Node (page.evaluate keeps no Error objects). */
export interface CaseFailure {
  name: string;
  message: string;
  stack: string;
}

export interface GruHarness {
  ready: Promise<BrowserInfo>;
  /** Runs one case by name on the shared device; rejects with the case's own Error on failure. */
  runCase(name: string): Promise<void>;
}

declare global {
  interface Window {
    __gru: GruHarness;
  }
}

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

let adapter: GPUAdapter;
let device: GPUDevice;
let lost: string | null = null;
const uncaptured: string[] = [];
const byName = new Map<string, Case>();

async function openDevice(): Promise<void> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    throw new Error(
      `navigator.gpu is missing (secure context: ${window.isSecureContext}); ` +
        'Chromium needs --enable-unsafe-webgpu and a page served from localhost',
    );
  }
  const a = await navigator.gpu.requestAdapter();
  if (!a) {
    throw new Error(
      'navigator.gpu.requestAdapter() returned null: no WebGPU adapter (Chromium needs --enable-unsafe-webgpu; without a GPU it falls back to SwiftShader)',
    );
  }
  const d = await requestDeviceWithAdapterLimits(a, { label: 'browser suite', features: WANTED_FEATURES });
  d.addEventListener('uncapturederror', (ev) => {
    // Chromium logs these to the console itself (forwarded to Node); keep them for runCase.
    uncaptured.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  void d.lost.then((info) => {
    if (d !== device) return;
    lost = `WebGPU device lost (${info.reason}): ${info.message}`;
    console.error(lost);
  });
  adapter = a;
  device = d;
  lost = null;
}

async function init(): Promise<BrowserInfo> {
  const { cases } = (await import('../suite/index.js')) as { cases: Case[] };
  for (const c of cases) byName.set(c.name, c);
  await openDevice();
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) limits[key] = device.limits[key];
  return {
    userAgent: navigator.userAgent,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    features: [...device.features].sort(),
    limits,
    cases: cases.map((c) => c.name),
  };
}

const ready = init();
// A rejection here is reported through `ready` to Node; keep it from also counting as unhandled.
ready.catch(() => {});

const env: SuiteEnv = {
  async newDevice() {
    // An adapter hands out one device: ask for another.
    const a = await navigator.gpu.requestAdapter();
    if (!a) throw new Error('navigator.gpu.requestAdapter() returned null for a second device');
    return requestDeviceWithAdapterLimits(a, { label: 'browser suite, second device' });
  },
  onUnhandledRejection(handler) {
    const listener = (event: PromiseRejectionEvent) => {
      // Counted by the case: kept from the console.
      event.preventDefault();
      handler(event.reason);
    };
    window.addEventListener('unhandledrejection', listener);
    return () => window.removeEventListener('unhandledrejection', listener);
  },
};

async function runCase(name: string): Promise<void> {
  await ready;
  const c = byName.get(name);
  if (!c) throw new Error(`no case named ${JSON.stringify(name)} in test/suite/index.ts`);
  // A lost device would fail every later case for a reason that is not theirs: start afresh.
  if (lost) await openDevice();
  await runGuarded(device, c, env, uncaptured, () => lost);
}

window.__gru = { ready, runCase };
