import type { Case } from './registry.js';

/**
 * Runs one case inside validation and out-of-memory error scopes, and fails it if either scope
 * caught something or the device reported an uncaptured error meanwhile: no case may leave a
 * WebGPU error behind, even one its own assertions did not see.
 */
export async function runGuarded(device: GPUDevice, c: Case, uncaptured: string[]): Promise<void> {
  const before = uncaptured.length;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let failure: unknown;
  try {
    await c.run(device);
  } catch (error) {
    failure = error;
  }
  const validation = await device.popErrorScope();
  const memory = await device.popErrorScope();
  if (failure) throw failure;
  if (validation) throw new Error(`${c.name}: WebGPU validation error: ${validation.message}`);
  if (memory) throw new Error(`${c.name}: WebGPU out-of-memory error: ${memory.message}`);
  if (uncaptured.length > before) throw new Error(`${c.name}: uncaptured WebGPU error: ${uncaptured.slice(before).join('; ')}`);
}
