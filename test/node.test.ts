/**
 * The core suite in Node, on the device `webgpu-gru/node` gives (hardware, else llvmpipe through
 * Dawn's OpenGL ES backend). With no adapter at all, beforeAll throws and every case fails.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { adapterDescription, requestDevice } from '../src/node.js';
import { cases } from './suite/index.js';
import { runGuarded } from './suite/guard.js';
import type { SuiteEnv } from './suite/registry.js';
import { goldenWorst } from './suite/golden.js';
import { worstSeen } from './suite/util.js';
import { wasmWorst } from './suite/wasm.js';

let device: GPUDevice;
const uncaptured: string[] = [];

beforeAll(async () => {
  device = await requestDevice({ quiet: true });
  device.addEventListener('uncapturederror', (event) => uncaptured.push((event as GPUUncapturedErrorEvent).error.message));
  console.log(`node: ${adapterDescription(device)}`);
});

afterAll(() => {
  device?.destroy();
  // float32 kernels against the float64 reference and the golden fixtures (f32 weights; the
  // f16/int8 cases have their own tolerances and are left out of this figure).
  console.log(
    `largest |GPU − expected| over the f32 cases: ${worstSeen.maxAbs.toExponential(2)} ` +
      `(relative, where |e| > 1e-3: ${worstSeen.maxRel.toExponential(2)}); against the PyTorch/ONNX fixtures: ${goldenWorst.maxAbs.toExponential(2)}; ` +
      `wasm backend against the reference: ${wasmWorst.maxAbs.toExponential(2)}`,
  );
});

const env: SuiteEnv = {
  newDevice: () => requestDevice({ quiet: true }),
  onUnhandledRejection(handler) {
    const listener = (reason: unknown) => handler(reason);
    process.on('unhandledRejection', listener);
    return () => process.off('unhandledRejection', listener);
  },
};

for (const c of cases) {
  it(c.name, () => runGuarded(device, c, env, uncaptured), c.timeoutMs);
}
