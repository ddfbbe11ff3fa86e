/**
 * A device with the adapter's own limits for what the kernels use, not the defaults: in
 * compatibility mode above all, the defaults (128 invocations, 4 storage buffers, 16 KiB of
 * workgroup memory) are far below what adapters offer, and the persistent schedule needs the
 * workgroup memory. Used by `webgpu-gru/node`, the browser tests and the benchmark page; any
 * device works with the library, this one just lets it choose the bigger kernels.
 */
export const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Requests a device from `adapter` with RAISED_LIMITS at the adapter's values, and those of `features` it has. */
export function requestDeviceWithAdapterLimits(
  adapter: GPUAdapter,
  options: { label?: string; features?: readonly GPUFeatureName[] } = {},
): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) requiredLimits[key] = adapter.limits[key];
  return adapter.requestDevice({
    label: options.label,
    requiredLimits,
    requiredFeatures: (options.features ?? []).filter((f) => adapter.features.has(f)),
  });
}
