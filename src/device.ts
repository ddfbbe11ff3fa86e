/**
 * The limits that {@link requestDeviceWithAdapterLimits} asks for at the adapter's own values
 * instead of WebGPU's defaults: in compatibility mode above all, the defaults (128 invocations,
 * 4 storage buffers, 16 KiB of workgroup memory) are far below what adapters offer, and the
 * persistent schedule needs the workgroup memory. Any device works with the library; one with
 * these limits raised lets it choose the bigger kernels.
 */
export const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Requests a device from `adapter` with every limit of {@link RAISED_LIMITS} at the adapter's
 * value, and those of `features` the adapter has (the others are left out, not an error). Used by
 * `webgpu-gru/node`, {@link createGRU}, the browser tests and the benchmark page.
 *
 * @param adapter - the adapter to request the device from.
 * @param options - `label`: the device's label; `features`: features to enable where the adapter has them (default none).
 * @returns what `adapter.requestDevice` gives, and rejects as it does.
 */
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
