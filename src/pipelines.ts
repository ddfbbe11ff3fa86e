/**
 * Compiled pipelines, cached per device and keyed by their full specialisation, so that a second
 * GRU with the same shape and options compiles nothing. Compilation is asynchronous and happens in
 * `GRU.create`, never on the first forward.
 */
import projectionSource from '../shaders/projection.wgsl?raw';
import recurrenceSource from '../shaders/recurrence.wgsl?raw';
import { boundsLoops } from './adapter.js';
import type { ResolvedOptions, Schedule } from './options.js';
import { FORMAT_CODES, K_PER_PACK, paddedHidden, weightLayout } from './weights.js';

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
/**
 * Whether a reset-first step is one pass (step_first): where one workgroup holds every unit block
 * of its rows, so r ⊙ h needs only a workgroup barrier.
 */
export function onePassResetFirst(o: ResolvedOptions): boolean {
  return paddedHidden(o.hiddenSize) / 4 <= stepUnits(o);
}
/** Batch rows per step workgroup (the vec4 of shaders/recurrence.wgsl). */
export const STEP_ROWS = 4;
/**
 * Most steps one persistent dispatch runs (shaders/recurrence.wgsl `CHUNK`): 2048, or on an
 * adapter that bounds loops (see adapter.ts) few enough that no loop of the kernel passes 50 000
 * iterations — its longest inner loops run 3·K (the projection) and 3·H4 (reset first) times
 * per step for each unit block an invocation owns.
 */
export function persistentChunk(device: GPUDevice, o: ResolvedOptions): number {
  if (!boundsLoops(device)) return 2048;
  const blocks = Math.ceil(paddedHidden(o.hiddenSize) / 4 / sequenceUnits(device, o));
  const layers = stacksInOneDispatch(device, o) ? o.numLayers : 1;
  const perStep = (3 * (Math.max(...layerWidths(o)) + paddedHidden(o.hiddenSize)) + 16) * blocks * layers;
  return Math.max(1, Math.min(2048, Math.floor(50_000 / perStep)));
}

/**
 * Whether the persistent schedule runs the whole stack in one dispatch (sequence_stack): a stack
 * of one direction whose weights fit one binding. A bidirectional stack cannot: layer l + 1 of a
 * row needs both directions of layer l, which run in different workgroups.
 */
export function stacksInOneDispatch(device: GPUDevice, o: ResolvedOptions): boolean {
  return o.numLayers > 1 && o.numDirections === 1 && weightLayout(o, device.limits).shared;
}
/** Output tile edge of shaders/projection.wgsl. */
export const PROJECTION_TILE = 32;

/** The step kernels of one schedule: `fused` where a step is one pass, else the other two. */
export interface StepKernels {
  /** One pass per step: step_fused (resetAfter), or step_first (reset first, H ≤ 4·stepUnits). */
  fused?: GPUComputePipeline;
  /** Reset first, wider layers: r ⊙ h, then z, n and the blend. */
  reset?: GPUComputePipeline;
  update?: GPUComputePipeline;
}

export interface RecurrenceKernels extends StepKernels {
  /** 'wavefront': the step kernels across the layers of a stack (WAVE = true). */
  wave?: StepKernels;
  /** 'persistent-split': a layer's recurrence in one dispatch, after the projection. */
  sequence?: GPUComputePipeline;
  /** 'persistent': a whole layer, projection included, in one dispatch; by the layer's input width. */
  sequenceInput?: Map<number, GPUComputePipeline>;
  /** 'persistent' where stacksInOneDispatch(): the whole stack in one dispatch. */
  sequenceStack?: GPUComputePipeline;
}

/**
 * Workgroup memory of a persistent workgroup: h twice and r ⊙ h (3·H4), the gate inputs (3·H4),
 * the length — and x_t (K) when the projection is fused in.
 */
export function persistentBytes(o: ResolvedOptions, inputWidth = 0): number {
  return (6 * paddedHidden(o.hiddenSize) + inputWidth) * 4 + 4;
}

/** The distinct input widths of the layers: I, and D·H when there is a second layer. */
export function layerWidths(o: ResolvedOptions): number[] {
  const widths = new Set([o.inputSize]);
  if (o.numLayers > 1) widths.add(o.numDirections * o.hiddenSize);
  return [...widths];
}

/**
 * The schedules this stack can run on this device: the persistent ones where their workgroup
 * memory fits, wavefront where the stack has one direction and its weights fit one binding.
 */
export function fittingSchedules(device: GPUDevice, o: ResolvedOptions): Schedule[] {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  const fits: Schedule[] = ['stepwise'];
  if (layerWidths(o).every((k) => persistentBytes(o, k) <= limit)) fits.push('persistent');
  if (persistentBytes(o) <= limit) fits.push('persistent-split');
  if (o.numDirections === 1 && weightLayout(o, device.limits).shared) fits.push('wavefront');
  return fits;
}

/** Invocations of a persistent workgroup: one per block of 4 units, within the device's limits. */
export function sequenceUnits(device: GPUDevice, o: ResolvedOptions): number {
  const limit = Math.min(256, device.limits.maxComputeInvocationsPerWorkgroup, device.limits.maxComputeWorkgroupSizeX);
  return Math.min(limit, Math.max(8, 2 ** Math.ceil(Math.log2(paddedHidden(o.hiddenSize) / 4))));
}

export interface DeviceKernels {
  projectionLayout: GPUBindGroupLayout;
  stepLayout: GPUBindGroupLayout;
  inputLayout: GPUBindGroupLayout;
  stepUniformLayout: GPUBindGroupLayout;
  projection: Promise<GPUComputePipeline>;
  pipelines: Map<string, Promise<GPUComputePipeline>>;
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
  k = {
    projectionLayout,
    stepLayout,
    inputLayout,
    stepUniformLayout,
    projection,
    pipelines: new Map(),
    recurrenceModule: device.createShaderModule({ label: 'webgpu-gru recurrence.wgsl', code: recurrenceSource }),
  };
  perDevice.set(device, k);
  return k;
}

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

/** One recurrence pipeline, cached per device under its entry point and every constant. */
function recurrencePipeline(device: GPUDevice, entryPoint: string, constants: Record<string, number>, withStepIndex: boolean, withInput: boolean): Promise<GPUComputePipeline> {
  const k = deviceKernels(device);
  const key = `${entryPoint} ${JSON.stringify(constants)}`;
  let pending = k.pipelines.get(key);
  if (!pending) {
    const layouts = [withInput ? k.inputLayout : k.stepLayout, ...(withStepIndex ? [k.stepUniformLayout] : [])];
    pending = device.createComputePipelineAsync({
      label: `webgpu-gru ${entryPoint} H=${constants.H}`,
      layout: device.createPipelineLayout({ label: `webgpu-gru ${entryPoint}`, bindGroupLayouts: layouts }),
      compute: { module: k.recurrenceModule, entryPoint, constants },
    });
    // A failed compilation must not poison the cache for later attempts.
    pending.catch(() => k.pipelines.delete(key));
    k.pipelines.set(key, pending);
  }
  return pending;
}

/**
 * The recurrence pipelines of the given schedules (the stepwise ones always: streaming uses them).
 */
export async function recurrencePipelines(device: GPUDevice, o: ResolvedOptions, schedules: readonly Schedule[]): Promise<RecurrenceKernels> {
  const chunk = persistentChunk(device, o);
  const step = recurrenceConstants(o, stepUnits(o), chunk);
  const persistent = recurrenceConstants(o, sequenceUnits(device, o), chunk);
  const kernels: RecurrenceKernels = {};
  const work: Promise<unknown>[] = [];
  const make = (entry: string, constants: Record<string, number>, stepIndex: boolean, input: boolean, put: (p: GPUComputePipeline) => void) =>
    work.push(recurrencePipeline(device, entry, constants, stepIndex, input).then(put));
  const makeStep = (into: StepKernels, constants: Record<string, number>) => {
    if (o.resetAfter || onePassResetFirst(o)) {
      make(o.resetAfter ? 'step_fused' : 'step_first', constants, true, false, (p) => (into.fused = p));
    } else {
      make('step_reset', constants, true, false, (p) => (into.reset = p));
      make('step_update', constants, true, false, (p) => (into.update = p));
    }
  };
  makeStep(kernels, step);
  if (schedules.includes('wavefront')) {
    kernels.wave = {};
    makeStep(kernels.wave, { ...step, WAVE: 1 });
  }
  if (schedules.includes('persistent-split')) {
    make('sequence', persistent, true, false, (p) => (kernels.sequence = p));
  }
  if (schedules.includes('persistent') && stacksInOneDispatch(device, o)) {
    const XK = Math.max(o.inputSize, o.hiddenSize);
    make('sequence_stack', { ...persistent, XK, XI: o.inputSize }, true, true, (p) => (kernels.sequenceStack = p));
  } else if (schedules.includes('persistent')) {
    const byWidth = new Map<number, GPUComputePipeline>();
    kernels.sequenceInput = byWidth;
    for (const width of layerWidths(o)) {
      make('sequence_input', { ...persistent, XK: width }, true, true, (p) => byWidth.set(width, p));
    }
  }
  await Promise.all(work);
  return kernels;
}
