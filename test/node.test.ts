/**
 * The core suite in Node, on the device `webgpu-gru/node` gives (hardware, else llvmpipe through
 * Dawn's OpenGL ES backend). With no adapter at all, beforeAll throws and every case fails.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { adapterDescription, requestDevice } from '../src/node.js';
import { cases } from './suite/index.js';
import { runGuarded } from './suite/guard.js';

let device: GPUDevice;
const uncaptured: string[] = [];

beforeAll(async () => {
  device = await requestDevice({ quiet: true });
  device.addEventListener('uncapturederror', (event) => uncaptured.push((event as GPUUncapturedErrorEvent).error.message));
  console.log(`node: ${adapterDescription(device)}`);
});

afterAll(() => device?.destroy());

for (const c of cases) {
  it(c.name, () => runGuarded(device, c, uncaptured), c.timeoutMs);
}
