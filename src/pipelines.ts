/**
 * Compiled pipelines, cached per device and keyed by their full specialisation, so that a second
 * GRU with the same shape and options compiles nothing. Compilation is asynchronous and happens in
 * `GRU.create`, never on the first forward.
 */
import projectionSource from '../shaders/projection.wgsl?raw';
import stepSource from '../shaders/step.wgsl?raw';
import type { ResolvedOptions } from './options.js';

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

/** Units per step workgroup (shaders/step.wgsl `WG`). */
export const STEP_UNITS = 64;
/** Batch rows per step workgroup (the vec4 of shaders/step.wgsl). */
export const STEP_ROWS = 4;
/** Output tile edge of shaders/projection.wgsl. */
export const PROJECTION_TILE = 32;

export interface StepPipelines {
  /** resetAfter: one pass per step. */
  fused?: GPUComputePipeline;
  /** !resetAfter: r ⊙ h, then z, n and the blend. */
  reset?: GPUComputePipeline;
  update?: GPUComputePipeline;
}

export interface DeviceKernels {
  projectionLayout: GPUBindGroupLayout;
  stepLayout: GPUBindGroupLayout;
  stepUniformLayout: GPUBindGroupLayout;
  projection: Promise<GPUComputePipeline>;
  steps: Map<string, Promise<StepPipelines>>;
  stepModule: GPUShaderModule;
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
    steps: new Map(),
    stepModule: device.createShaderModule({ label: 'webgpu-gru step.wgsl', code: stepSource }),
  };
  perDevice.set(device, k);
  return k;
}

/** The override constants of shaders/step.wgsl for these options; also the cache key. */
export function stepConstants(o: ResolvedOptions): Record<string, number> {
  const [f, g] = o.activations;
  return {
    H: o.hiddenSize,
    D: o.numDirections,
    WG: STEP_UNITS,
    F_CODE: f.code,
    F_ALPHA: f.alpha,
    F_BETA: f.beta,
    G_CODE: g.code,
    G_ALPHA: g.alpha,
    G_BETA: g.beta,
    CLIP: o.clip,
  };
}

export function stepPipelines(device: GPUDevice, o: ResolvedOptions): Promise<StepPipelines> {
  const k = deviceKernels(device);
  const constants = stepConstants(o);
  const key = `${JSON.stringify(constants)} resetAfter=${o.resetAfter}`;
  let pending = k.steps.get(key);
  if (!pending) {
    const layout = device.createPipelineLayout({
      label: 'webgpu-gru step',
      bindGroupLayouts: [k.stepLayout, k.stepUniformLayout],
    });
    const make = (entryPoint: string) =>
      device.createComputePipelineAsync({
        label: `webgpu-gru ${entryPoint} H=${o.hiddenSize}`,
        layout,
        compute: { module: k.stepModule, entryPoint, constants },
      });
    pending = o.resetAfter
      ? make('step_fused').then((fused) => ({ fused }))
      : Promise.all([make('step_reset'), make('step_update')]).then(([reset, update]) => ({ reset, update }));
    // A failed compilation must not poison the cache for later attempts.
    pending.catch(() => k.steps.delete(key));
    k.steps.set(key, pending);
  }
  return pending;
}
