/**
 * What the library needs to know about the adapter behind a device: whether it runs on the CPU
 * (`createGRU` then prefers the wasm backend), and whether its shader compiler bounds loops. Mesa's llvmpipe (Dawn's OpenGL ES backend, and lavapipe under Vulkan)
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

/** Adapters that implement WebGPU on the CPU: SwiftShader, Mesa's llvmpipe/lavapipe/softpipe, Microsoft's WARP. */
const CPU_ADAPTERS = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

export function isCpuAdapter(description: string): boolean {
  return CPU_ADAPTERS.test(description);
}

/** The adapter behind `device` in words, where known (recorded, or `device.adapterInfo`). */
export function adapterText(device: GPUDevice): string | undefined {
  const description = recorded.get(device);
  if (description !== undefined) return description;
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return undefined;
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ');
  return info.isFallbackAdapter ? `${text} (fallback adapter)` : text;
}

export function boundsLoops(device: GPUDevice): boolean {
  const description = adapterText(device);
  return description === undefined || /llvmpipe|lavapipe/i.test(description);
}
