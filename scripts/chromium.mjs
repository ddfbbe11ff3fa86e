// @ts-check
/**
 * Headless Chromium with WebGPU, and the Vite dev server that serves it a page: the one copy of
 * that logic, used by test/browser.test.ts (the core suite in the browser) and bench/run.mjs (the
 * benchmark). Plain JS with JSDoc types so that both the TypeScript tests and plain Node import it.
 *
 * Without a GPU, Chromium's WebGPU runs on SwiftShader, its CPU Vulkan, with the flags of
 * docs/cpu-adapters.md. `adapter: 'hardware'` drops the SwiftShader flags so that Chromium picks the
 * machine's GPU where there is one (it still falls back to SwiftShader where there is none: read
 * the adapter's info to know which one a page got).
 *
 * Environment:
 *   CHROMIUM_PATH        the browser to launch (default /usr/bin/chromium, then /usr/bin/chromium-browser)
 *   CHROMIUM_EXTRA_ARGS  extra flags, space-separated; one named like ours replaces it, and
 *                        `!--name` removes ours (e.g. `!--use-webgpu-adapter !--use-angle` on a
 *                        machine with a GPU; `!--enable-unsafe-webgpu` must make every WebGPU page fail)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { createServer, mergeConfig } from 'vite';

/** @typedef {import('puppeteer-core').Browser} Browser */
/** @typedef {import('vite').ViteDevServer} ViteDevServer */
/** @typedef {import('vite').InlineConfig} InlineConfig */
/** @typedef {'swiftshader' | 'hardware'} AdapterChoice */

/** WebGPU on, and no background traffic to the network (docs/cpu-adapters.md). */
export const BASE_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]);

/** WebGPU (and ANGLE) on SwiftShader: a working adapter on a machine without a GPU. */
export const SWIFTSHADER_ARGS = Object.freeze(['--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader']);

/** With a real GPU: headless Chromium blocks many GPUs by default. */
export const HARDWARE_ARGS = Object.freeze(['--ignore-gpu-blocklist']);

/**
 * The browser binary: CHROMIUM_PATH, else Debian's /usr/bin/chromium or /usr/bin/chromium-browser.
 * @returns {string}
 */
export function chromiumPath() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  const found = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!found) {
    throw new Error('no Chromium at /usr/bin/chromium or /usr/bin/chromium-browser: `sudo apt-get install chromium`, or set CHROMIUM_PATH');
  }
  return found;
}

/**
 * The command-line flags: ours for the adapter, then CHROMIUM_EXTRA_ARGS (a flag named like ours
 * replaces it; `!--name` removes ours).
 * @param {{ adapter?: AdapterChoice, extra?: string }} [options]
 * @returns {string[]}
 */
export function chromiumArgs(options = {}) {
  const adapter = options.adapter ?? 'swiftshader';
  if (adapter !== 'swiftshader' && adapter !== 'hardware') {
    throw new Error(`adapter: expected 'swiftshader' or 'hardware', got ${JSON.stringify(adapter)}`);
  }
  const ours = [...BASE_ARGS, ...(adapter === 'swiftshader' ? SWIFTSHADER_ARGS : HARDWARE_ARGS)];
  const extra = (options.extra ?? process.env.CHROMIUM_EXTRA_ARGS ?? '').split(/\s+/).filter(Boolean);
  /** @param {string} arg */
  const flagName = (arg) => arg.replace(/^!/, '').split('=')[0];
  return [...ours.filter((a) => !extra.some((e) => flagName(e) === flagName(a))), ...extra.filter((e) => !e.startsWith('!'))];
}

/**
 * A free TCP port on 127.0.0.1 (Vite reads port 0 as "default", 5173, which others may hold).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
export function withTimeout(promise, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {Promise<never>} */
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A Vite dev server on 127.0.0.1 and a free port, serving `root`. Nothing changes during a run:
 * no file watching, no hot reload and no dependency discovery (a late pre-bundle would reload the
 * page under running work); `overrides` is merged in (e.g. optimizeDeps.include, headers, plugins).
 * @param {string} root
 * @param {InlineConfig} [overrides]
 * @returns {Promise<{ server: ViteDevServer, origin: string }>}
 */
export async function startViteServer(root, overrides = {}) {
  /** @type {InlineConfig} */
  const base = {
    root,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: await freePort(), strictPort: false, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  };
  const server = await createServer(mergeConfig(base, overrides));
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') {
    await server.close();
    throw new Error('the Vite server has no TCP address');
  }
  return { server, origin: `http://127.0.0.1:${address.port}` };
}

/**
 * Launches headless Chromium on a fresh temporary profile. `close()` ends it (killing it if it does
 * not end within 15 s) and removes the profile; it never throws.
 * @param {{ adapter?: AdapterChoice, protocolTimeout?: number }} [options]
 * @returns {Promise<{ browser: Browser, args: string[], executablePath: string, close(): Promise<void> }>}
 */
export async function launchChromium(options = {}) {
  const executablePath = chromiumPath();
  const args = chromiumArgs({ adapter: options.adapter });
  const userDataDir = await mkdtemp(join(tmpdir(), 'webgpu-gru-chromium-'));
  /** @type {Browser} */
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      pipe: true,
      userDataDir,
      // A copy: puppeteer takes --enable-features out of the array it is given to merge it with its own.
      args: [...args],
      // Work on SwiftShader can run for minutes; the callers hold their own timeouts.
      protocolTimeout: options.protocolTimeout ?? 3_600_000,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    throw error;
  }
  const b = browser;
  let closed = false;
  return {
    browser: b,
    args,
    executablePath,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await withTimeout(b.close(), 15_000, 'closing Chromium');
      } catch (e) {
        console.error(String(e));
        b.process()?.kill('SIGKILL');
      }
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    },
  };
}
