/** A device that reports lower limits than it has: the suite's way to reach a limit without its sizes. */

/** `device`, reporting `lower` in place of its own limits (everything else is the device's own). */
export function withLimits(device: GPUDevice, lower: Partial<Record<keyof GPUSupportedLimits, number>>): GPUDevice {
  const limits = new Proxy(device.limits, {
    get: (target, key) => lower[key as keyof GPUSupportedLimits] ?? target[key as keyof GPUSupportedLimits],
  });
  return new Proxy(device, {
    get(target, key) {
      if (key === 'limits') return limits;
      const value = target[key as keyof GPUDevice];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
