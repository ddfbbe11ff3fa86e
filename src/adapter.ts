/**
 * What the library needs to know about the adapter behind a device: only whether its shader
 * compiler bounds loops. Mesa's llvmpipe (Dawn's OpenGL ES backend, and lavapipe under Vulkan)
 * stops any loop after 65 535 iterations, counted over the whole invocation, and silently goes
 * on: a persistent kernel past that leaves wrong state and zeros behind. Devices from
 * `webgpu-gru/node` are recorded here with their adapter; others are read from
 * `device.adapterInfo` where the host has it. An unknown adapter is taken to bound its loops.
 */
const recorded = new WeakMap<GPUDevice, string>();

export function recordAdapter(device: GPUDevice, description: string): void {
  recorded.set(device, description);
}

export function recordedAdapter(device: GPUDevice): string | undefined {
  return recorded.get(device);
}

export function boundsLoops(device: GPUDevice): boolean {
  let description = recorded.get(device);
  if (description === undefined) {
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    if (!info) return true;
    description = [info.vendor, info.architecture, info.device, info.description].join(' ');
  }
  return /llvmpipe|lavapipe/i.test(description);
}
