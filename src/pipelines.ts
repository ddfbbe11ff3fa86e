/**
 * Compiled pipelines, cached per device and keyed by their full specialisation, so that a second
 * GRU with the same shape and options compiles nothing. Compilation is asynchronous and happens in
 * `GRU.create`, never on the first forward.
 */
import projectionSource from '../shaders/projection.wgsl?raw';
import recurrenceSource from '../shaders/recurrence.wgsl?raw';
import type { ResolvedOptions } from './options.js';
import { FORMAT_CODES, K_PER_PACK, paddedHidden } from './weights.js';

/** GPUBufferUsage / GPUShaderStage / GPUMapMode values, so the library needs no WebGPU globals. */
export const Usage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
export const COMPUTE_STAGE = 0x4;
export const MAP_READ_MODE = 0x1;

/** Unit blocks (of 4 units) per stepwise workgroup (shaders/recurrence.wgsl `WG`): up to 64. */
export function stepUnits(o: ResolvedOptions): number {
  return Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(paddedHidden(o.hiddenSize) / 4))));
}
/** Batch rows per step workgroup (the vec4 of shaders/recurrence.wgsl). */
export const STEP_ROWS = 4;
/** Output tile edge of shaders/projection.wgsl. */
export const PROJECTION_TILE = 32;

export interface RecurrenceKernels {
  /** Stepwise, resetAfter: one pass per step. */
  fused?: GPUComputePipeline;
  /** Stepwise, reset first: r ⊙ h, then z, n and the blend. */
  reset?: GPUComputePipeline;
  update?: GPUComputePipeline;
  /** Persistent: a whole layer in one dispatch; absent when the device cannot hold it. */
  sequence?: GPUComputePipeline;
}

/** Workgroup memory the persistent kernel needs: h twice, r ⊙ h when the reset comes first, the length. */
export function sequenceWorkgroupBytes(o: ResolvedOptions): number {
  return (o.resetAfter ? 2 : 3) * paddedHidden(o.hiddenSize) * 4 + 4;
}

/** Invocations of a persistent workgroup: one per block of 4 units, within the device's limits. */
export function sequenceUnits(device: GPUDevice, o: ResolvedOptions): number {
  const limit = Math.min(256, device.limits.maxComputeInvocationsPerWorkgroup, device.limits.maxComputeWorkgroupSizeX);
  return Math.min(limit, Math.max(8, 2 ** Math.ceil(Math.log2(paddedHidden(o.hiddenSize) / 4))));
}

export interface DeviceKernels {
  projectionLayout: GPUBindGroupLayout;
  stepLayout: GPUBindGroupLayout;
  stepUniformLayout: GPUBindGroupLayout;
  projection: Promise<GPUComputePipeline>;
  recurrence: Map<string, Promise<RecurrenceKernels>>;
  recurrenceModule: GPUShaderModule;
}

const perDevice = new WeakMap<GPUDevice, DeviceKernels>();

function storage(binding: number, readOnly: boolean): GPUBindGroupLayoutEntry {
  return { binding, visibility: COMPUTE_STAGE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } };
}

function uniform(binding: number, hasDynamicOffset = false): GPUBindGroupLayoutEntry {
  return { binding, visibility: COMPUTE_STAGE, buffer: { type: 'uniform', hasDynamicOffset } };
}

export function deviceKernels(device: GPUDevice): DeviceKernels {
  let k = perDevice.get(device);
  if (k) return k;
  const projectionLayout = device.createBindGroupLayout({
    label: 'webgpu-gru projection',
    entries: [storage(0, true), storage(1, true), storage(2, false), uniform(3)],
  });
  const stepLayout = device.createBindGroupLayout({
    label: 'webgpu-gru step',
    entries: [storage(0, true), storage(1, true), storage(2, false), storage(3, false), uniform(4)],
  });
  const stepUniformLayout = device.createBindGroupLayout({
    label: 'webgpu-gru step index',
    entries: [uniform(0, true)],
  });
  const projectionModule = device.createShaderModule({ label: 'webgpu-gru projection.wgsl', code: projectionSource });
  const projection = device.createComputePipelineAsync({
    label: 'webgpu-gru project',
    layout: device.createPipelineLayout({ label: 'webgpu-gru projection', bindGroupLayouts: [projectionLayout] }),
    compute: { module: projectionModule, entryPoint: 'project' },
  });
  k = {
    projectionLayout,
    stepLayout,
    stepUniformLayout,
    projection,
    recurrence: new Map(),
    recurrenceModule: device.createShaderModule({ label: 'webgpu-gru recurrence.wgsl', code: recurrenceSource }),
  };
  perDevice.set(device, k);
  return k;
}

/** The override constants of shaders/recurrence.wgsl for these options and workgroup width. */
export function recurrenceConstants(o: ResolvedOptions, units: number): Record<string, number> {
  const [f, g] = o.activations;
  return {
    H: o.hiddenSize,
    D: o.numDirections,
    WG: units,
    F_CODE: f.code,
    F_ALPHA: f.alpha,
    F_BETA: f.beta,
    G_CODE: g.code,
    G_ALPHA: g.alpha,
    G_BETA: g.beta,
    CLIP: o.clip,
    FORMAT: FORMAT_CODES[o.weightFormat],
    KP: K_PER_PACK[o.weightFormat],
  };
}

/**
 * The recurrence pipelines these options need: the stepwise ones always (streaming uses them),
 * the persistent one when the device's workgroup memory holds it. Cached per device and full
 * specialisation.
 */
export function recurrencePipelines(device: GPUDevice, o: ResolvedOptions): Promise<RecurrenceKernels> {
  const k = deviceKernels(device);
  const stepConstants = recurrenceConstants(o, stepUnits(o));
  const withSequence = sequenceWorkgroupBytes(o) <= device.limits.maxComputeWorkgroupStorageSize;
  const sequenceConstants = recurrenceConstants(o, sequenceUnits(device, o));
  const key = JSON.stringify([stepConstants, o.resetAfter, withSequence && sequenceConstants]);
  let pending = k.recurrence.get(key);
  if (!pending) {
    const stepLayout = device.createPipelineLayout({
      label: 'webgpu-gru step',
      bindGroupLayouts: [k.stepLayout, k.stepUniformLayout],
    });
    const sequenceLayout = device.createPipelineLayout({ label: 'webgpu-gru sequence', bindGroupLayouts: [k.stepLayout] });
    const make = (entryPoint: string, layout: GPUPipelineLayout, constants: Record<string, number>) =>
      device.createComputePipelineAsync({
        label: `webgpu-gru ${entryPoint} H=${o.hiddenSize}`,
        layout,
        compute: { module: k.recurrenceModule, entryPoint, constants },
      });
    const names = o.resetAfter ? ['step_fused'] : ['step_reset', 'step_update'];
    const all = names.map((name) => make(name, stepLayout, stepConstants));
    if (withSequence) {
      all.push(make(o.resetAfter ? 'sequence_fused' : 'sequence_reset_first', sequenceLayout, sequenceConstants));
    }
    pending = Promise.all(all).then((p) =>
      o.resetAfter
        ? { fused: p[0], sequence: p[1] }
        : { reset: p[0], update: p[1], sequence: p[2] },
    );
    // A failed compilation must not poison the cache for later attempts.
    pending.catch(() => k.recurrence.delete(key));
    k.recurrence.set(key, pending);
  }
  return pending;
}
