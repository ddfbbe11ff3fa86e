/**
 * The Node form of the benchmark (`node bench/run.mjs --node`): our GRU and the CPU reference on the
 * Dawn device of `webgpu-gru/node`, our wasm backend on 1 thread and on every thread of the machine
 * (worker_threads), and createGRU's choice — no browser, no peers. bench/run.mjs loads this file
 * through Vite's ssrLoadModule, so it needs no build, and drives it with the same cells as the page.
 */
import { availableParallelism } from 'node:os';
import { adapterDescription, requestDevice } from '../src/node.js';
import { createHarness, ourRunners, type CellResult, type CellSpec, type HarnessInfo } from './lib/harness.js';

export interface NodeInfo extends HarnessInfo {
  adapter: string;
  /** os.availableParallelism(): the thread count of the `…:threads=N` runners. */
  hardwareConcurrency: number;
  features: string[];
  limits: Record<string, number>;
}

export async function createNodeBench(adapter: 'auto' | 'hardware' | 'cpu'): Promise<{
  info: NodeInfo;
  runCell(spec: CellSpec): Promise<CellResult>;
  close(): void;
}> {
  const device = await requestDevice({ adapter, quiet: true });
  device.addEventListener('uncapturederror', (ev) => console.error(`device: ${(ev as GPUUncapturedErrorEvent).error.message}`));
  const threads = availableParallelism();
  const harness = createHarness(device, ourRunners(threads));
  const limits: Record<string, number> = {};
  for (const key of [
    'maxComputeWorkgroupStorageSize',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeInvocationsPerWorkgroup',
  ] as const) {
    limits[key] = device.limits[key];
  }
  return {
    info: {
      ...harness.info(),
      adapter: adapterDescription(device) ?? 'unknown',
      hardwareConcurrency: threads,
      features: [...device.features].sort(),
      limits,
    },
    runCell: (spec) => harness.runCell(spec),
    close: () => device.destroy(),
  };
}
