/**
 * The schedules: how the timesteps of a forward map onto dispatches (see `Schedule`). Everything
 * that depends on which one runs is here — the shapes of their kernels, which fit a device, which
 * 'auto' picks, the step-uniform slots of a forward and of a streaming step, the kernels each
 * one needs, typed per schedule, and which of them compile before the first forward — so that
 * adding a schedule means this file and its encoding (src/plan.ts).
 */
import { boundsLoops } from './adapter.js';
import { bindingLimit, deviceLoss } from './gpu.js';
import type { ResolvedOptions } from './options.js';
import { recurrenceCompiled, recurrenceConstants, recurrencePipeline, type RecurrenceSpec } from './pipelines.js';
import { layerInputSize, paddedHidden, weightLayout } from './weights.js';

/**
 * How timesteps map onto dispatches:
 * - 'stepwise': the projection of all timesteps as one matrix product, then one dispatch per
 *   timestep (two when the reset gate comes first and H > 256), spread over many workgroups —
 *   for wide layers and large batches;
 * - 'persistent': one dispatch per layer runs every timestep, projection included: one workgroup
 *   per batch row and direction, h in workgroup memory — for small batches, where per-dispatch
 *   overhead dominates; a one-layer GRU is one dispatch per forward, and so is a stack of one
 *   direction whose weights fit one binding;
 * - 'persistent-split': the projection as one matrix product, then the persistent recurrence;
 * - 'wavefront': stepwise across a stack of one direction ('forward' or 'reverse'), where each
 *   dispatch runs layer l's step s − l for every layer at once: T + L − 1 step dispatches for L
 *   layers instead of L·T, and no projection dispatch after the first layer's;
 * - 'auto' (default): chosen per forward from the sizes and the device's limits.
 */
export type Schedule = 'stepwise' | 'persistent' | 'persistent-split' | 'wavefront';
export const SCHEDULES: readonly Schedule[] = ['stepwise', 'persistent', 'persistent-split', 'wavefront'];

/** The schedules that run one dispatch per step (two when the reset gate comes first and H > 256). */
export function isStepwise(schedule: Schedule): boolean {
  return schedule === 'stepwise' || schedule === 'wavefront';
}

// ---------------------------------------------------------------------------------------------
// The shapes of the kernels

/** Batch rows per step workgroup (the vec4 of shaders/recurrence.wgsl). */
export const STEP_ROWS = 4;

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

/** Invocations of a persistent workgroup: one per block of 4 units, within the device's limits. */
export function sequenceUnits(device: GPUDevice, o: ResolvedOptions): number {
  const limit = Math.min(256, device.limits.maxComputeInvocationsPerWorkgroup, device.limits.maxComputeWorkgroupSizeX);
  return Math.min(limit, Math.max(8, 2 ** Math.ceil(Math.log2(paddedHidden(o.hiddenSize) / 4))));
}

/**
 * Whether the persistent schedule runs the whole stack in one dispatch (sequence_stack): a stack
 * of one direction whose weights fit one binding. A bidirectional stack cannot: layer l + 1 of a
 * row needs both directions of layer l, which run in different workgroups.
 */
export function stacksInOneDispatch(device: GPUDevice, o: ResolvedOptions): boolean {
  return o.numLayers > 1 && o.numDirections === 1 && weightLayout(o, device.limits).shared;
}

/** Whether each dispatch of `schedule` runs every layer (the wavefront; sequence_stack). */
export function runsWholeStack(device: GPUDevice, o: ResolvedOptions, schedule: Schedule): boolean {
  return schedule === 'wavefront' || (schedule === 'persistent' && stacksInOneDispatch(device, o));
}

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

// ---------------------------------------------------------------------------------------------
// Which fit, which 'auto' picks

/**
 * The schedules this stack can run on this device: the persistent ones where their workgroup
 * memory fits, wavefront where the stack has one direction and its weights fit one binding.
 */
export function fittingSchedules(device: GPUDevice, o: ResolvedOptions): [Schedule, ...Schedule[]] {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  const fits: [Schedule, ...Schedule[]] = ['stepwise'];
  if (layerWidths(o).every((k) => persistentBytes(o, k) <= limit)) fits.push('persistent');
  if (persistentBytes(o) <= limit) fits.push('persistent-split');
  if (o.numDirections === 1 && weightLayout(o, device.limits).shared) fits.push('wavefront');
  return fits;
}

/** Why the schedule forced by `o.schedule` cannot run this stack on this device. */
export function unfitReason(device: GPUDevice, o: ResolvedOptions): string {
  const limits = device.limits;
  if (o.schedule === 'wavefront') {
    if (o.numDirections !== 1) {
      return `options.schedule: 'wavefront' runs a stack of one direction (layer l + 1 needs all of layer l's reverse pass); expected direction 'forward' or 'reverse', got 'bidirectional'`;
    }
    return (
      `options.schedule: 'wavefront' binds every layer's weights at once, ${weightLayout(o, limits).total} bytes, over this device's ` +
      `maxStorageBufferBindingSize or maxBufferSize (${bindingLimit(limits)}); use 'auto' or 'stepwise'`
    );
  }
  const bytes = persistentBytes(o, o.schedule === 'persistent' ? Math.max(...layerWidths(o)) : 0);
  return (
    `options.schedule: '${o.schedule}' with hiddenSize ${o.hiddenSize} needs ${bytes} bytes of workgroup memory, ` +
    `over this device's maxComputeWorkgroupStorageSize (${limits.maxComputeWorkgroupStorageSize}); use 'auto' or 'stepwise'`
  );
}

/**
 * The schedules 'auto' picks from on this device, stepwise (its fallback, for any batch) first:
 * the persistent schedule that fits (persistent, else persistent-split) for small batches, and the
 * wavefront for large batches of a stack that fits it. A forced schedule alone. Only these are
 * ever compiled (see CompiledKernels).
 */
export function candidateSchedules(device: GPUDevice, o: ResolvedOptions): [Schedule, ...Schedule[]] {
  if (o.schedule !== 'auto') return [o.schedule];
  const fits = fittingSchedules(device, o);
  const candidates: [Schedule, ...Schedule[]] = ['stepwise'];
  const persistent = fits.find((s) => s === 'persistent' || s === 'persistent-split');
  if (persistent) candidates.push(persistent);
  if (o.numLayers > 1 && fits.includes('wavefront')) candidates.push('wavefront');
  return candidates;
}

/**
 * The schedule 'auto' picks for a forward of `batch` rows among `available`, whose first entry is
 * the fallback. The persistent schedules run B·D workgroups for the whole sequence and save a
 * dispatch per step; stepwise spreads each step over ⌈H/256⌉·⌈B/4⌉·D workgroups and reads each
 * weight once per 4 rows. Measured on SwiftShader (bench/NOTES.md, "Choosing the schedule"):
 * persistent wins at B·D ≤ 2 by 1.4–2.8×, stepwise at B·D = 16 (C, F) by 1.2–1.3×; without a GPU
 * to measure on, the threshold sits between them. Past it, a stack of one direction runs as a
 * wavefront: the same step kernels, T + L − 1 dispatches instead of L·T. A forced schedule is
 * the only one available, so it is always its own.
 */
export function chooseSchedule(o: ResolvedOptions, batch: number, available: readonly [Schedule, ...Schedule[]]): Schedule {
  const has = (schedule: Schedule) => available.includes(schedule);
  if (batch * o.numDirections <= 8) {
    if (has('persistent')) return 'persistent';
    if (has('persistent-split')) return 'persistent-split';
  }
  if (o.numLayers > 1 && has('wavefront')) return 'wavefront';
  return available[0];
}

// ---------------------------------------------------------------------------------------------
// The step-uniform slots

/** One step uniform: the step index (wavefront: the wave) and the state slot that holds h_{t−1} (of layer 0). */
export interface StepSlot {
  s: number;
  parity: number;
}

/**
 * The slots of a forward of `steps` steps, one per dispatch along the sequence: every step
 * (stepwise), every wave s = 0 … T + L − 2 (wavefront) or every chunk of persistentChunk() steps
 * (persistent). Each dispatch reads h from its slot's parity and writes the other.
 */
export function forwardSlots(device: GPUDevice, o: ResolvedOptions, schedule: Schedule, steps: number): StepSlot[] {
  const stride = isStepwise(schedule) ? 1 : persistentChunk(device, o);
  const count = schedule === 'wavefront' ? steps + o.numLayers - 1 : Math.ceil(steps / stride);
  return Array.from({ length: count }, (_, i) => ({ s: i * stride, parity: i % 2 }));
}

/**
 * The slots of a one-step plan for streaming: those of a step from state slot 0 (the first half),
 * then those from slot 1. One slot, or in a wavefront one per layer (wave s runs layer s's only
 * step). Every schedule's kernels read slot `parity` and write the other, so a streaming state
 * flips slots at each step.
 */
export function streamingSlots(schedule: Schedule, layers: number): StepSlot[] {
  const waves = schedule === 'wavefront' ? layers : 1;
  return [0, 1].flatMap((parity) => Array.from({ length: waves }, (_, s) => ({ s, parity: (parity + s) % 2 })));
}

/** The slots (indices into streamingSlots()) of one streaming step that reads h from state slot `current`. */
export function streamingStep(slotCount: number, current: number): number[] {
  const waves = slotCount / 2;
  return Array.from({ length: waves }, (_, s) => current * waves + s);
}

/** The layers a dispatch of wave s runs: first … first + count − 1 (outside a wavefront, layer 0 alone). */
export function waveLayers(schedule: Schedule, s: number, steps: number, layers: number): { first: number; count: number } {
  if (schedule !== 'wavefront') return { first: 0, count: 1 };
  const first = Math.max(0, s - steps + 1);
  return { first, count: Math.min(layers - 1, s) - first + 1 };
}

/**
 * The state slot that holds hN after `slots` slots from slot 0: each dispatch along the sequence
 * flips a layer's slot, and in a wavefront every layer runs `steps` steps.
 */
export function finalParity(schedule: Schedule, steps: number, slots: number): number {
  return (schedule === 'wavefront' ? steps : slots) % 2;
}

// ---------------------------------------------------------------------------------------------
// The kernels of each schedule

/** The passes of one step: step_fused or step_first alone, else step_reset then step_update. */
export type StepPasses = readonly [GPUComputePipeline] | readonly [GPUComputePipeline, GPUComputePipeline];

/** The kernels of a stepwise schedule; the wavefront's are the step kernels with WAVE = true. */
interface StepKernels<S extends Schedule> {
  schedule: S;
  step: StepPasses;
}

/** The kernels of a persistent schedule: the pipeline of each layer's dispatch. */
interface SequenceKernels<S extends Schedule> {
  schedule: S;
  /**
   * 'persistent-split': sequence; 'persistent': sequence_input by the layer's input width, or
   * where stacksInOneDispatch() one entry, sequence_stack, for the whole stack.
   */
  layers: readonly GPUComputePipeline[];
}

/** The recurrence kernels of one schedule. */
export type ScheduleKernels =
  | StepKernels<'stepwise'>
  | StepKernels<'wavefront'>
  | SequenceKernels<'persistent'>
  | SequenceKernels<'persistent-split'>;

/** The recurrence pipelines of `schedule`, in the order its ScheduleKernels holds them. */
function pipelineSpecs(device: GPUDevice, o: ResolvedOptions, schedule: Schedule): RecurrenceSpec[] {
  const chunk = persistentChunk(device, o);
  if (isStepwise(schedule)) {
    const constants = { ...recurrenceConstants(o, stepUnits(o), chunk), ...(schedule === 'wavefront' ? { WAVE: 1 } : {}) };
    const passes = o.resetAfter ? ['step_fused'] : onePassResetFirst(o) ? ['step_first'] : ['step_reset', 'step_update'];
    return passes.map((entryPoint) => ({ entryPoint, constants, withInput: false }));
  }
  const constants = recurrenceConstants(o, sequenceUnits(device, o), chunk);
  if (schedule === 'persistent-split')
    return Array.from({ length: o.numLayers }, () => ({ entryPoint: 'sequence', constants, withInput: false }));
  if (stacksInOneDispatch(device, o)) {
    const XK = Math.max(o.inputSize, o.hiddenSize);
    return [{ entryPoint: 'sequence_stack', constants: { ...constants, XK, XI: o.inputSize }, withInput: true }];
  }
  return Array.from({ length: o.numLayers }, (_, l) => ({
    entryPoint: 'sequence_input',
    constants: { ...constants, XK: layerInputSize(o, l) },
    withInput: true,
  }));
}

/** Compiles (or takes from the device's cache) the recurrence kernels of `schedule`. */
async function compileSchedule(device: GPUDevice, o: ResolvedOptions, schedule: Schedule): Promise<ScheduleKernels> {
  const pipelines = await Promise.all(pipelineSpecs(device, o, schedule).map((spec) => recurrencePipeline(device, spec)));
  switch (schedule) {
    case 'stepwise':
    case 'wavefront':
      return { schedule, step: pipelines.length === 1 ? [pipelines[0]] : [pipelines[0], pipelines[1]] };
    case 'persistent':
    case 'persistent-split':
      return { schedule, layers: pipelines };
  }
}

/**
 * Resolves once the device has done the work submitted so far, a macrotask from now: after the
 * call that asks (a forward, a step) has submitted its work, so that a background compile does
 * not compete with that work for a CPU adapter's cores. Rejects if the device is lost.
 */
function whenIdle(device: GPUDevice): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0)).then(() => device.queue.onSubmittedWorkDone());
}

/**
 * The recurrence kernels of a GRU, as few of them compiled before the first forward as can be.
 * `compile` waits only for the first of candidateSchedules(): stepwise under 'auto' — its kernels
 * compile fastest (the least workgroup memory, which SwiftShader initialises one scalar at a
 * time: bench/NOTES.md, "The first result") and run any batch — else the forced schedule; and it
 * takes the other candidates that the device has compiled already (for another GRU of this
 * shape). The rest compile in the background, all at once, from the first call that picks
 * kernels, once its work is done (whenIdle), or from the first read of `settled`. Until one is
 * ready, 'auto' picks among those that are, so no call waits for a compile. A background compile
 * that fails (the device lost mid-way) leaves its schedule out for good: it is not retried, and
 * its rejection is handled.
 */
export class CompiledKernels {
  private readonly kernels = new Map<Schedule, ScheduleKernels>();
  private background?: Promise<void>;

  private constructor(
    private readonly device: GPUDevice,
    private readonly o: ResolvedOptions,
    compiled: readonly ScheduleKernels[],
    /** The candidates left to compile in the background. */
    private readonly pending: readonly Schedule[],
  ) {
    for (const kernels of compiled) this.kernels.set(kernels.schedule, kernels);
    if (pending.length === 0) this.background = Promise.resolve();
  }

  static async compile(device: GPUDevice, o: ResolvedOptions): Promise<CompiledKernels> {
    const [base, ...others] = candidateSchedules(device, o);
    const compiledAlready = (s: Schedule) => pipelineSpecs(device, o, s).every((spec) => recurrenceCompiled(device, spec));
    const now = [base, ...others.filter(compiledAlready)];
    const compiled = await Promise.all(now.map((s) => compileSchedule(device, o, s)));
    return new CompiledKernels(
      device,
      o,
      compiled,
      others.filter((s) => !now.includes(s)),
    );
  }

  /**
   * Resolves once every background compile has settled, or the device is lost; never rejects.
   * Reading it starts them, if no call has yet.
   */
  get settled(): Promise<void> {
    return this.startBackground(Promise.resolve());
  }

  /** The schedule 'auto' picks for `batch` rows among those compiled so far. */
  scheduleFor(batch: number): Schedule {
    // Map order: the fallback, set first, leads.
    return chooseSchedule(this.o, batch, [...this.kernels.keys()] as [Schedule, ...Schedule[]]);
  }

  /** The kernels of scheduleFor(batch), for a call that runs them: starts the background compiles. */
  kernelsFor(batch: number): ScheduleKernels {
    if (!this.background) this.startBackground(whenIdle(this.device));
    return this.kernels.get(this.scheduleFor(batch)) as ScheduleKernels;
  }

  private startBackground(after: Promise<void>): Promise<void> {
    if (!this.background) {
      const device = this.device;
      const compiles = after.then(() => {
        if (deviceLoss(device).error) return;
        return Promise.allSettled(
          this.pending.map(async (schedule) => {
            this.kernels.set(schedule, await compileSchedule(device, this.o, schedule));
          }),
        );
      });
      // A compile on a device lost mid-way may never settle.
      this.background = Promise.race([compiles, deviceLoss(device).promise]).then(
        () => undefined,
        () => undefined,
      );
    }
    return this.background;
  }
}
