/**
 * The GRU's shader modules, bind group layouts and pipelines, made once per device; the
 * pipelines are cached (src/gpu.ts `cachedPipeline`) and keyed by their full specialisation, so
 * that a second GRU with the same shape and options compiles nothing. Compilation is asynchronous
 * and never on the path of a call: `GRU.create` waits for the projection and the fallback
 * schedule's kernels, and the other schedules compile in the background. Which recurrence kernels
 * a schedule needs, and when they compile, is src/schedule.ts's (`CompiledKernels`).
 */
import projectionSource from '../shaders/projection.wgsl?raw';
import recurrenceSource from '../shaders/recurrence.wgsl?raw';
import { cachedPipeline, perDevice, storageEntry as storage, uniformEntry as uniform } from './gpu.js';
import type { ResolvedOptions } from './options.js';
import { FORMAT_CODES, K_PER_PACK } from './weights.js';

/** Output tile edge of shaders/projection.wgsl. */
export const PROJECTION_TILE = 32;

export interface DeviceKernels {
  projectionLayout: GPUBindGroupLayout;
  stepLayout: GPUBindGroupLayout;
  inputLayout: GPUBindGroupLayout;
  stepUniformLayout: GPUBindGroupLayout;
  projection: Promise<GPUComputePipeline>;
  recurrenceModule: GPUShaderModule;
}

export const deviceKernels = perDevice((device): DeviceKernels => {
  const projectionLayout = device.createBindGroupLayout({
    label: 'webgpu-gru projection',
    entries: [storage(0, true), storage(1, true), storage(2, false), uniform(3)],
  });
  // G, weights, state, output, params; the input-fused kernels read X (5) instead of G (0), so
  // that every kernel binds at most 4 storage buffers (the compatibility-mode default).
  const stepLayout = device.createBindGroupLayout({
    label: 'webgpu-gru step',
    entries: [storage(0, true), storage(1, true), storage(2, false), storage(3, false), uniform(4)],
  });
  const inputLayout = device.createBindGroupLayout({
    label: 'webgpu-gru sequence with input',
    entries: [storage(1, true), storage(2, false), storage(3, false), uniform(4), storage(5, true)],
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
  return {
    projectionLayout,
    stepLayout,
    inputLayout,
    stepUniformLayout,
    projection,
    recurrenceModule: device.createShaderModule({ label: 'webgpu-gru recurrence.wgsl', code: recurrenceSource }),
  };
});

/** The override constants of shaders/recurrence.wgsl for these options and workgroup width. */
export function recurrenceConstants(o: ResolvedOptions, units: number, chunk: number): Record<string, number> {
  const [f, g] = o.activations;
  return {
    H: o.hiddenSize,
    D: o.numDirections,
    WG: units,
    CHUNK: chunk,
    F_CODE: f.code,
    F_ALPHA: f.alpha,
    F_BETA: f.beta,
    G_CODE: g.code,
    G_ALPHA: g.alpha,
    G_BETA: g.beta,
    CLIP: o.clip,
    RESET_AFTER: o.resetAfter ? 1 : 0,
    FORMAT: FORMAT_CODES[o.weightFormat],
    KP: K_PER_PACK[o.weightFormat],
  };
}

/**
 * One recurrence pipeline: its entry point and override constants; `withInput`: it reads X instead
 * of G (sequence_input, sequence_stack).
 */
export interface RecurrenceSpec {
  entryPoint: string;
  constants: Record<string, number>;
  withInput: boolean;
}

const recurrenceKey = (spec: RecurrenceSpec) => `recurrence.wgsl ${spec.entryPoint} ${JSON.stringify(spec.constants)}`;

/** The keys of the recurrence pipelines each device has compiled. */
const compiledKeys = perDevice(() => new Set<string>());

/** One recurrence pipeline, cached per device under its entry point and every constant. Each reads the step uniform (group 1). */
export function recurrencePipeline(device: GPUDevice, spec: RecurrenceSpec): Promise<GPUComputePipeline> {
  const k = deviceKernels(device);
  const { entryPoint, constants } = spec;
  const bindGroupLayouts = [spec.withInput ? k.inputLayout : k.stepLayout, k.stepUniformLayout];
  const key = recurrenceKey(spec);
  const pending = cachedPipeline(device, key, () => ({
    label: `webgpu-gru ${entryPoint} H=${constants.H}`,
    layout: device.createPipelineLayout({ label: `webgpu-gru ${entryPoint}`, bindGroupLayouts }),
    compute: { module: k.recurrenceModule, entryPoint, constants },
  }));
  const compiled = compiledKeys(device);
  if (!compiled.has(key)) {
    pending.then(
      () => compiled.add(key),
      () => undefined,
    );
  }
  return pending;
}

/** Whether `spec`'s pipeline has compiled on `device` (for any GRU): recurrencePipeline then waits for nothing. */
export function recurrenceCompiled(device: GPUDevice, spec: RecurrenceSpec): boolean {
  return compiledKeys(device).has(recurrenceKey(spec));
}
