import type { Case, SuiteEnv } from './registry.js';

/**
 * Runs one case inside validation and out-of-memory error scopes, and fails it if either scope
 * caught something or the device reported an uncaptured error meanwhile: no case may leave a
 * WebGPU error behind, even one its own assertions did not see. Errors from work the case
 * enqueued but did not wait for arrive as events after the queue drains, so it waits for that.
 * Used by both runners (test/node.test.ts and test/browser/main.ts).
 */
export async function runGuarded(
  device: GPUDevice,
  c: Case,
  env: SuiteEnv,
  uncaptured: string[],
  lost: () => string | null = () => null,
): Promise<void> {
  const before = uncaptured.length;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let thrown: unknown = null;
  try {
    await c.run(device, env);
  } catch (error) {
    thrown = error;
  }
  const validation = await device.popErrorScope();
  const memory = await device.popErrorScope();
  await device.queue.onSubmittedWorkDone();
  await new Promise((resolve) => setTimeout(resolve, 0));

  const gpuErrors: string[] = [];
  if (validation) gpuErrors.push(`WebGPU validation error: ${validation.message}`);
  if (memory) gpuErrors.push(`WebGPU out-of-memory error: ${memory.message}`);
  for (const m of uncaptured.slice(before)) gpuErrors.push(`WebGPU uncaptured error: ${m}`);
  const lostMessage = lost();
  if (lostMessage) gpuErrors.push(lostMessage);
  if (thrown !== null) {
    // The case's own error is the one to show; GPU errors, often its cause, ride along.
    if (thrown instanceof Error && gpuErrors.length > 0) thrown.message += `\n${gpuErrors.join('\n')}`;
    throw thrown;
  }
  if (gpuErrors.length > 0) throw new Error(`${c.name}: ${gpuErrors.join('\n')}`);
}
