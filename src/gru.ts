/**
 * `GRU`: one GRU stack on one GPUDevice. `create` validates everything, uploads the weights in
 * the kernels' layout and compiles (asynchronously) the pipelines; `forward` runs a whole sequence
 * in one submit; `forwardGPU` does the same on GPUBuffers with no read-back; `createState`/`step`
 * stream one timestep at a time with the hidden state kept on the GPU.
 */
import {
  checkBuffer,
  checkDevice,
  checkFloatArray,
  checkPositiveInteger,
  checkRunArgs,
  checkSizes,
  checkStateInit,
  inputShape,
  RUN_ARG_KEYS,
  stateShape,
  type CheckedRunArgs,
  type RunArgs,
} from './args.js';
import { type DeviceLostError, GRUError, describe, fail } from './errors.js';
import {
  checkBinding,
  checkNotLost,
  deviceLoss,
  F32,
  readBack,
  settle,
  unlessLost,
  Usage,
  withErrorScopes,
  writeFloats,
  type Region,
} from './gpu.js';
import { resolveOptions, type GRUOptions, type ResolvedOptions } from './options.js';
import { deviceKernels } from './pipelines.js';
import { Plan, type LayerBuffers } from './plan.js';
import type { GRUResult } from './reference.js';
import {
  CompiledKernels,
  finalParity,
  fittingSchedules,
  forwardSlots,
  SCHEDULES,
  streamingSlots,
  streamingStep,
  unfitReason,
  type Schedule,
  type ScheduleKernels,
} from './schedule.js';
import { gatherRows, gatherSteps, pieceLengths, pieces, scatterRows, scatterSteps, splitFor, type Split } from './split.js';
import { packLayer, validateWeights, weightLayout, type GRUWeights } from './weights.js';

/**
 * The arguments of {@link GRU.forwardGPU}: those of {@link RunArgs}, with `h0` as an array or a
 * buffer, and optional buffers to write the results into. A buffer that is too small or lacks the
 * usage named below throws a {@link GRUError} naming it.
 */
export interface ForwardGPUArgs {
  /** T: timesteps in `input`. */
  steps: number;
  /** B: independent sequences in `input`. */
  batch: number;
  /** `[L·D, B, H]`, as an array or a buffer with COPY_SRC usage. Default zeros. */
  h0?: Float32Array | GPUBuffer;
  /** `[B]` valid steps per batch row, each in [0, steps], as {@link RunArgs.seqLengths}. Default: every row has `steps`. */
  seqLengths?: Int32Array;
  /** Where to write the output (`[T, B, D·H]` or `[B, T, D·H]`); needs STORAGE usage. Default: a new buffer. */
  output?: GPUBuffer;
  /** Where to write hN (`[L·D, B, H]`); needs COPY_DST usage. Default: a new buffer. */
  hN?: GPUBuffer;
}

/**
 * What {@link GRU.forwardGPU} returns: f32 GPU buffers, ready for any work submitted after the
 * call. New buffers have STORAGE, COPY_SRC and COPY_DST usage.
 */
export interface GPUResult {
  /** `[T, B, D·H]` (`[B, T, D·H]` if batchFirst). Owned by the caller (unless passed in): destroy it when done. */
  output: GPUBuffer;
  /** `[L·D, B, H]`: each layer's and direction's last state. Owned by the caller (unless passed in): destroy it when done. */
  hN: GPUBuffer;
  /**
   * Resolves once the device has accepted the work; rejects with a {@link GRUError} if it refused
   * it — a buffer passed in was destroyed, which no check can see before the submit — or with
   * the {@link DeviceLostError} of a device lost meanwhile. Awaiting it is optional: a rejection
   * nobody awaits is not reported as unhandled.
   */
  done: Promise<void>;
}

const GPU_ARG_KEYS = new Set([...RUN_ARG_KEYS, 'output', 'hN']);

/**
 * A GRU stack on one GPUDevice: PyTorch `nn.GRU`, ONNX `GRU` and Keras `GRU` semantics, chosen by
 * {@link GRUOptions}. Made by {@link GRU.create} (or {@link createGRU}); `forward` runs a whole
 * sequence in one submit, `forwardGPU` does the same on GPU buffers with no read-back, and
 * `createState` with `step` streams one timestep at a time with the state kept on the GPU.
 * `destroy` frees its buffers.
 *
 * Every method checks its arguments first and throws a {@link GRUError} naming the argument, the
 * expected and the given value, before any GPU work; once destroyed, a GRU throws one from
 * `forward`, `forwardGPU`, `createState` and the step methods.
 */
export class GRU {
  /** The schedules a GRU can be forced to with `options.schedule` (besides 'auto'). */
  static readonly schedules = SCHEDULES;
  /** Which backend this is: the WebAssembly `WasmGRU` says 'wasm'. */
  readonly backend = 'webgpu' as const;
  /** Why this backend was chosen (set by `createGRU`; otherwise says it was asked for). */
  reason = 'GRU.create was called with a device';
  /** The options as given, with every default filled in (frozen). */
  readonly options: ResolvedOptions;
  /**
   * Resolves (never rejects) when the device is lost, with the {@link DeviceLostError} that every
   * call in flight then rejects with and every later call throws. To carry on, make a new GRU
   * from the same weights (README, "Device loss").
   */
  readonly lost: Promise<DeviceLostError>;
  private readonly layers: LayerBuffers[];
  private plan?: Plan;
  private readonly states = new Set<GRUState>();
  private destroyed = false;
  /** The device was requested by `createGRU` for this GRU alone, and goes with it. */
  private ownsDevice = false;

  private constructor(
    /** The device this GRU runs on: the caller's, or the one {@link createGRU} requested for it (destroyed with it). */
    readonly device: GPUDevice,
    options: ResolvedOptions,
    layers: LayerBuffers[],
    private readonly weightBuffers: readonly GPUBuffer[],
    private readonly projection: GPUComputePipeline,
    /** The recurrence kernels: the fallback's (or the forced schedule's), then the others' as their background compiles end. */
    private readonly compiled: CompiledKernels,
  ) {
    this.options = options;
    this.layers = layers;
    this.lost = deviceLoss(device).promise;
  }

  /**
   * Validates, uploads the weights and compiles the pipelines (cached per device).
   *
   * @param device - the device to run on; it stays the caller's.
   * @param options - the network.
   * @param weights - one entry per (layer, direction), at index `layer · D + direction`; copied.
   * @throws a {@link GRUError} on bad options or weights, a forced `options.schedule` that does not
   *   fit the device, weights over the device's buffer limits, or a device that refuses the buffers;
   *   a {@link DeviceLostError} if the device is lost before the GRU is ready.
   */
  static async create(device: GPUDevice, options: GRUOptions, weights: readonly GRUWeights[]): Promise<GRU> {
    checkDevice(device);
    checkNotLost(device);
    const o = resolveOptions(options);
    const w = validateWeights(o, weights);
    const limits = device.limits;
    const fitting = fittingSchedules(device, o);
    if (o.schedule !== 'auto' && !fitting.includes(o.schedule)) throw new GRUError(unfitReason(device, o));
    if (limits.maxStorageBuffersPerShaderStage < 4) {
      throw new GRUError(`device: expected maxStorageBuffersPerShaderStage ≥ 4, got ${limits.maxStorageBuffersPerShaderStage}`);
    }
    // Every layer's packed Uᵀ, then its Wᵀ and bias, in one buffer (or one per layer: weightLayout).
    const layout = weightLayout(o, limits);
    layout.bytes.forEach((bytes, l) => {
      checkBinding(device, `layer ${l}'s weights (U [D, H, 3H] and W [K, D·3H])`, bytes, 'weights');
    });
    const packed = Array.from({ length: o.numLayers }, (_, l) => packLayer(o, w, l));

    const buffers: GPUBuffer[] = [];
    const built = withErrorScopes(
      device,
      'GRU.create: the device refused the weight buffers',
      async () => {
        const count = layout.shared ? 1 : o.numLayers;
        buffers.push(
          ...Array.from({ length: count }, (_, i) =>
            device.createBuffer({
              label: `webgpu-gru ${layout.shared ? 'weights' : `layer ${i} weights`}`,
              size: layout.shared ? layout.total : layout.bytes[i],
              usage: Usage.STORAGE | Usage.COPY_DST,
            }),
          ),
        );
        const layers: LayerBuffers[] = packed.map((p, l) => {
          const buffer = buffers[layout.shared ? 0 : l];
          const offset = layout.offsets[l];
          device.queue.writeBuffer(buffer, offset, p.recurrent as Uint32Array<ArrayBuffer>);
          writeFloats(device.queue, buffer, offset + layout.projectionOffset, p.projection);
          return {
            weights: buffer,
            offset,
            bytes: layout.bytes[l],
            recurrentBytes: p.recurrent.byteLength,
            projectionOffset: layout.projectionOffset,
            projectionBytes: p.projection.byteLength,
          };
        });
        // 'auto': stepwise (its fallback) now, the others it may pick in the background; else the forced one alone.
        const [projection, compiled] = await Promise.all([deviceKernels(device).projection, CompiledKernels.compile(device, o)]);
        return new GRU(device, o, layers, buffers, projection, compiled);
      },
      () => {
        for (const b of buffers) b.destroy();
      },
    );
    // A compile on a device lost mid-way may never settle: the loss decides, and a GRU built after it is freed.
    return unlessLost(device, built, (gru) => gru.destroy());
  }

  private checkAlive(): void {
    if (this.destroyed) throw new GRUError('this GRU: expected a live GRU, got one that was destroyed (destroy() was called)');
    checkNotLost(this.device);
  }

  /**
   * Resolves once every schedule that 'auto' may pick for this GRU has compiled (or failed to:
   * 'auto' then never picks it), or the device is lost; never rejects. `GRU.create` waits only
   * for stepwise (or the forced schedule); the others compile in the background from the first
   * call, once its work is done, or from the first read of `ready`. Until they are ready, each
   * call runs the best schedule that is, without waiting. A streaming state keeps the schedule it
   * was created with: await `ready` before `createState` to stream on the fastest one.
   */
  get ready(): Promise<void> {
    return this.compiled.settled;
  }

  /** The schedule a forward (or a streaming step) of `batch` rows runs now: 'auto's pick among the schedules compiled so far. */
  scheduleFor(batch: number): Schedule {
    return this.compiled.scheduleFor(batch);
  }

  private kernelsFor(batch: number): ScheduleKernels {
    return this.compiled.kernelsFor(batch);
  }

  /** The plan of a forward of this shape; the last one is kept for the next call. */
  private planFor(steps: number, batch: number): Plan {
    const recurrence = this.kernelsFor(batch);
    const p = this.plan;
    if (p && p.steps === steps && p.batch === batch && p.schedule === recurrence.schedule) return p;
    const slots = forwardSlots(this.device, this.options, recurrence.schedule, steps);
    const plan = new Plan(this.device, this.options, this.layers, { projection: this.projection, recurrence }, steps, batch, slots);
    this.plan?.destroy();
    this.plan = plan;
    return plan;
  }

  private encodeForward(
    plan: Plan,
    encoder: GPUCommandEncoder,
    input: GPUBuffer,
    output: GPUBuffer,
    h0: Float32Array | GPUBuffer | undefined,
    seqLengths: Int32Array | undefined,
  ): number {
    const queue = this.device.queue;
    if (h0 instanceof Float32Array) writeFloats(queue, plan.stateBuffer, 0, h0);
    else if (h0) encoder.copyBufferToBuffer(h0, 0, plan.stateBuffer, 0, plan.slotBytes);
    else encoder.clearBuffer(plan.stateBuffer, 0, plan.slotBytes);
    plan.writeLengths(seqLengths, plan.steps);
    plan.encode(
      encoder,
      input,
      output,
      Array.from({ length: plan.slotCount }, (_, i) => i),
    );
    return finalParity(plan.schedule, plan.steps, plan.slotCount) * plan.slotBytes;
  }

  /**
   * Runs the whole stack over a sequence: one command encoder, one submit, one read-back.
   * input: [T, B, I] ([B, T, I] if batchFirst). Returns output [T, B, D·H] ([B, T, D·H]) and hN [L·D, B, H].
   * A forward whose buffers would pass the device's `maxStorageBufferBindingSize` or
   * `maxBufferSize` runs in pieces inside this call — along the batch, and along time carrying
   * every layer's h (not bidirectional stacks, whose rows must each fit whole) — with the result of
   * an unsplit run: one submit and read-back per piece.
   */
  async forward(input: Float32Array, args: RunArgs): Promise<GRUResult> {
    this.checkAlive();
    const a = checkRunArgs(this.options, input, args);
    const split = splitFor(this.device, this.options, a.steps, a.batch);
    return split ? this.forwardInPieces(input, a, split) : this.forwardWhole(input, a);
  }

  /**
   * A forward past the device's buffer limits, as forwards of pieces of it (src/split.ts): each
   * piece's hN is the h0 of the next piece of its rows in time.
   */
  private async forwardInPieces(input: Float32Array, a: CheckedRunArgs, split: Split): Promise<GRUResult> {
    const o = this.options;
    const { steps: T, batch: B } = a;
    const H = o.hiddenSize;
    const output = new Float32Array(T * B * o.numDirections * H);
    const hN = new Float32Array(o.numLayers * o.numDirections * B * H);
    let rows = -1;
    let h: Float32Array | undefined;
    for (const p of pieces(o, T, B, split)) {
      // A GRU destroyed (or a device lost) between pieces stops here, with its error.
      this.checkAlive();
      if (p.b0 !== rows) {
        rows = p.b0;
        h = a.h0 && gatherRows(a.h0, B, H, p.b0, p.b1);
      }
      const piece = await this.forwardWhole(gatherSteps(o, input, T, B, o.inputSize, p), {
        steps: p.t1 - p.t0,
        batch: p.b1 - p.b0,
        h0: h,
        seqLengths: pieceLengths(a.seqLengths, p),
      });
      scatterSteps(o, output, T, B, o.numDirections * H, p, piece.output);
      h = piece.hN;
      scatterRows(hN, B, H, p.b0, p.b1, h);
    }
    return { output, hN };
  }

  /** A forward whose every buffer fits the device. */
  private async forwardWhole(input: Float32Array, a: CheckedRunArgs): Promise<GRUResult> {
    const device = this.device;
    // Reaching the device error is a bug of this library (every argument was checked), or the
    // device ran out of memory. The read-back is wrapped so that the scopes close at the submit.
    const { read } = await withErrorScopes(
      device,
      'forward: the device rejected the work',
      () => {
        const encoder = device.createCommandEncoder({ label: 'webgpu-gru forward' });
        const plan = this.planFor(a.steps, a.batch);
        writeFloats(device.queue, plan.input, 0, input);
        const final = this.encodeForward(plan, encoder, plan.input, plan.output, a.h0, a.seqLengths);
        const regions: Region[] = [
          { buffer: plan.output, offset: 0, bytes: plan.outputBytes },
          { buffer: plan.stateBuffer, offset: final, bytes: plan.slotBytes },
        ];
        const read = readBack(device, encoder, regions);
        // Handled from now on: a device lost before the scopes pop must not leave it unhandled.
        read.catch(() => undefined);
        return { read };
      },
      (failed) => {
        // A throw comes from the plan's checks, before it creates anything: the kept plan stays.
        if (!failed) return;
        failed.read.catch(() => undefined);
        this.plan?.destroy();
        this.plan = undefined;
      },
    );
    const [output, hN] = await settle(device, read, 'forward: the result could not be read back');
    return { output, hN };
  }

  /**
   * The forward on GPU buffers, with no read-back: `input` must have STORAGE usage. The returned
   * buffers are ready for any work submitted after this call. Returns new buffers (owned by the
   * caller) unless `output`/`hN` are given. Past the device's binding limits it runs in pieces as
   * {@link GRU.forward} does (a submit each), copying out of `input` (which then needs COPY_SRC
   * usage as well) and into `output` (COPY_DST); an output over `maxBufferSize` cannot be one
   * buffer and throws a GRUError: `forward` returns it as an array.
   */
  forwardGPU(input: GPUBuffer, args: ForwardGPUArgs): GPUResult {
    this.checkAlive();
    const o = this.options;
    const { steps, batch, seqLengths } = checkSizes(args, GPU_ARG_KEYS);
    const a = args as ForwardGPUArgs;
    const inputBytes = steps * batch * o.inputSize * F32;
    const outputBytes = steps * batch * o.numDirections * o.hiddenSize * F32;
    const stateBytes = o.numLayers * o.numDirections * batch * o.hiddenSize * F32;
    checkBuffer('input', input, inputBytes, Usage.STORAGE, `STORAGE (${inputShape(o, steps, batch)})`);
    let h0: Float32Array | GPUBuffer | undefined;
    if (a.h0 instanceof Float32Array || a.h0 === undefined) {
      h0 = a.h0 && checkFloatArray('args.h0', a.h0, stateBytes / F32, stateShape(o, batch));
    } else {
      h0 = checkBuffer('args.h0', a.h0, stateBytes, Usage.COPY_SRC, `COPY_SRC (${stateShape(o, batch)})`);
    }
    const split = splitFor(this.device, o, steps, batch);
    // In pieces, the input is copied out of and the output into (see forwardGPUInPieces).
    const [inUsage, outUsage] = split ? [Usage.STORAGE | Usage.COPY_SRC, Usage.COPY_DST] : [Usage.STORAGE, Usage.STORAGE];
    const piecesNote = split ? ` (a forward past this device's limits runs in pieces: ${split.rows} rows × ${split.steps} steps)` : '';
    if (split) checkBuffer('input', input, inputBytes, inUsage, `STORAGE and COPY_SRC${piecesNote}`);
    const output = a.output
      ? checkBuffer('args.output', a.output, outputBytes, outUsage, `${split ? 'COPY_DST' : 'STORAGE'}${piecesNote}`)
      : undefined;
    const hN = a.hN ? checkBuffer('args.hN', a.hN, stateBytes, Usage.COPY_DST, 'COPY_DST') : undefined;
    // One buffer in two roles: the kernels would read it while writing it, or hN overwrite the output.
    if (output === input) {
      throw new GRUError(
        'args.output: expected a buffer other than input (a kernel reads one while it writes the other), got the input buffer',
      );
    }
    if (hN && hN === output) {
      throw new GRUError('args.hN: expected a buffer other than args.output (hN would overwrite the output), got the args.output buffer');
    }
    const device = this.device;
    if (!output && outputBytes > device.limits.maxBufferSize) {
      throw new GRUError(
        `args.steps × args.batch = ${steps} × ${batch}: the output needs ${outputBytes} bytes, over this device's maxBufferSize ` +
          `(${device.limits.maxBufferSize}) for one buffer; use forward(), which returns an array, or fewer steps per call`,
      );
    }
    const plan = split ? undefined : this.planFor(steps, batch);
    const out =
      output ??
      device.createBuffer({ label: 'webgpu-gru output', size: outputBytes, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST });
    const h =
      hN ?? device.createBuffer({ label: 'webgpu-gru hN', size: stateBytes, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST });
    // Every argument is checked but one thing: whether a buffer passed in was destroyed.
    device.pushErrorScope('validation');
    if (plan) {
      const encoder = device.createCommandEncoder({ label: 'webgpu-gru forwardGPU' });
      const final = this.encodeForward(plan, encoder, input, out, h0, seqLengths);
      encoder.copyBufferToBuffer(plan.stateBuffer, final, h, 0, stateBytes);
      device.queue.submit([encoder.finish()]);
    } else {
      this.forwardGPUInPieces(input, out, h, { steps, batch, h0, seqLengths }, split as Split);
    }
    const refused = device.popErrorScope().then((error) => {
      if (error) {
        throw new GRUError(`input, args.h0, args.output, args.hN: expected live GPUBuffers, got one the device refused (${error.message})`);
      }
      checkNotLost(device);
    });
    const done = settle(device, refused, 'forwardGPU: the device refused the work');
    done.catch(() => undefined);
    return { output: out, hN: h, done };
  }

  /**
   * forwardGPU in pieces (src/split.ts): a submit per piece, with no read-back. Each piece's rows
   * and steps are copied out of `input` into the plan's own input, its output is copied into
   * `output`, and its state goes through `carry` to the next piece of its rows in time, then to
   * their rows of `hN`.
   */
  private forwardGPUInPieces(
    input: GPUBuffer,
    output: GPUBuffer,
    hN: GPUBuffer,
    a: { steps: number; batch: number; h0: Float32Array | GPUBuffer | undefined; seqLengths: Int32Array | undefined },
    split: Split,
  ): void {
    const o = this.options;
    const device = this.device;
    const { steps: T, batch: B } = a;
    const H = o.hiddenSize;
    const I = o.inputSize;
    const DH = o.numDirections * H;
    const stateRows = o.numLayers * o.numDirections;
    const carry = device.createBuffer({
      label: 'webgpu-gru carried state',
      size: stateRows * Math.min(B, split.rows) * H * F32,
      usage: Usage.COPY_SRC | Usage.COPY_DST,
    });
    // Copies `count` runs of `floats` floats, the i-th from `from(i)` to `to(i)` (float offsets).
    const copies = (
      encoder: GPUCommandEncoder,
      src: GPUBuffer,
      dst: GPUBuffer,
      count: number,
      floats: number,
      from: (i: number) => number,
      to: (i: number) => number,
    ) => {
      for (let i = 0; i < count; i++) encoder.copyBufferToBuffer(src, from(i) * F32, dst, to(i) * F32, floats * F32);
    };
    let rows = -1;
    for (const p of pieces(o, T, B, split)) {
      const Tc = p.t1 - p.t0;
      const Bc = p.b1 - p.b0;
      const plan = this.planFor(Tc, Bc);
      const encoder = device.createCommandEncoder({ label: 'webgpu-gru forwardGPU piece' });
      if (p.b0 !== rows) {
        rows = p.b0;
        // The rows' h0: from the caller's array or buffer, else zeros.
        if (a.h0 instanceof Float32Array) writeFloats(device.queue, carry, 0, gatherRows(a.h0, B, H, p.b0, p.b1));
        else if (a.h0)
          copies(
            encoder,
            a.h0,
            carry,
            stateRows,
            Bc * H,
            (l) => (l * B + p.b0) * H,
            (l) => l * Bc * H,
          );
        else encoder.clearBuffer(carry);
      }
      if (o.batchFirst)
        copies(
          encoder,
          input,
          plan.input,
          Bc,
          Tc * I,
          (b) => ((p.b0 + b) * T + p.t0) * I,
          (b) => b * Tc * I,
        );
      else
        copies(
          encoder,
          input,
          plan.input,
          Tc,
          Bc * I,
          (t) => ((p.t0 + t) * B + p.b0) * I,
          (t) => t * Bc * I,
        );
      const final = this.encodeForward(plan, encoder, plan.input, plan.output, carry, pieceLengths(a.seqLengths, p));
      if (o.batchFirst)
        copies(
          encoder,
          plan.output,
          output,
          Bc,
          Tc * DH,
          (b) => b * Tc * DH,
          (b) => ((p.b0 + b) * T + p.t0) * DH,
        );
      else
        copies(
          encoder,
          plan.output,
          output,
          Tc,
          Bc * DH,
          (t) => t * Bc * DH,
          (t) => ((p.t0 + t) * B + p.b0) * DH,
        );
      encoder.copyBufferToBuffer(plan.stateBuffer, final, carry, 0, plan.slotBytes);
      copies(
        encoder,
        carry,
        hN,
        stateRows,
        Bc * H,
        (l) => l * Bc * H,
        (l) => (l * B + p.b0) * H,
      );
      device.queue.submit([encoder.finish()]);
    }
    // Freed once the submitted pieces are done with it.
    carry.destroy();
  }

  /**
   * A streaming state for `batch` sequences: the hidden state of every layer stays on the GPU
   * between `step` calls. Only for direction 'forward' (the other directions need the future).
   */
  createState(batch: number, init?: { h0?: Float32Array }): GRUState {
    this.checkAlive();
    if (this.options.direction !== 'forward') {
      throw new GRUError(
        `createState: expected a GRU with direction 'forward' (streaming runs forward in time), got ${describe(this.options.direction)}`,
      );
    }
    checkPositiveInteger('batch', batch);
    checkStateInit(init);
    // A one-step plan whose uniform slots read h from either state slot (see streamingSlots).
    const recurrence = this.kernelsFor(batch);
    const slots = streamingSlots(recurrence.schedule, this.options.numLayers);
    const kernels = { projection: this.projection, recurrence };
    const plan = new Plan(this.device, this.options, this.layers, kernels, 1, batch, slots, 'batch');
    plan.writeLengths(undefined, 1);
    const state = new GRUState(this, plan, () => this.states.delete(state));
    this.states.add(state);
    try {
      if (init?.h0 !== undefined) state.set(init.h0);
      else state.reset();
    } catch (error) {
      state.destroy();
      throw error;
    }
    return state;
  }

  private checkState(state: unknown): GRUState {
    if (!(state instanceof GRUState) || state.owner !== this) fail('state', "a GRUState made by this GRU's createState", state);
    state.checkAlive();
    return state;
  }

  /** One timestep: x_t [B, I] → the last layer's h_t [B, H]; the state advances on the GPU. */
  async step(x: Float32Array, state: GRUState): Promise<Float32Array> {
    this.checkAlive();
    const s = this.checkState(state);
    checkFloatArray('x', x, s.batch * this.options.inputSize, `[B, I] = [${s.batch}, ${this.options.inputSize}]`);
    writeFloats(this.device.queue, s.plan.input, 0, x);
    const encoder = this.device.createCommandEncoder({ label: 'webgpu-gru step' });
    s.advance(encoder, s.plan.input);
    const read = readBack(this.device, encoder, [{ buffer: s.plan.output, offset: 0, bytes: s.plan.outputBytes }]);
    const [out] = await settle(this.device, read, 'step: the output could not be read back');
    return out;
  }

  /**
   * One timestep on GPU buffers: x [B, I] with STORAGE usage (the state's output buffer of the
   * step before, too, where I = H). Returns the state's output buffer [B, H] (owned by the state,
   * overwritten by the next step), ready for work submitted after it.
   */
  stepGPU(x: GPUBuffer, state: GRUState): GPUBuffer {
    const encoder = this.device.createCommandEncoder({ label: 'webgpu-gru stepGPU' });
    const output = this.encodeStep(encoder, x, state);
    this.device.queue.submit([encoder.finish()]);
    return output;
  }

  /**
   * Records one timestep into the caller's command encoder (for models that put their own kernels
   * before and after the GRU in one submit). The state advances when the encoder is recorded:
   * submit it before recording another step of the same state.
   */
  encodeStep(encoder: GPUCommandEncoder, x: GPUBuffer, state: GRUState): GPUBuffer {
    this.checkAlive();
    const s = this.checkState(state);
    checkBuffer('x', x, s.plan.inputBytes, Usage.STORAGE, `STORAGE ([B, I] = [${s.batch}, ${this.options.inputSize}])`);
    // The previous step's output fed back as x (I = H): the step would read it while writing it.
    if (x === s.plan.output) {
      encoder.copyBufferToBuffer(x, 0, s.plan.input, 0, s.plan.inputBytes);
      s.advance(encoder, s.plan.input);
    } else {
      s.advance(encoder, x);
    }
    return s.plan.output;
  }

  /** Frees every GPU buffer of this GRU and its states. The device is the caller's and stays. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const state of [...this.states]) state.destroy();
    this.plan?.destroy();
    this.plan = undefined;
    for (const b of this.weightBuffers) b.destroy();
    if (this.ownsDevice) this.device.destroy();
  }

  /** @internal `createGRU` requested the device for this GRU: destroy() destroys it too. */
  adoptDevice(): void {
    this.ownsDevice = true;
  }
}

/** The hidden state of a streaming GRU: [L, B, H] on the GPU, advanced by `GRU.step`. */
export class GRUState {
  /** State slot (0 or 1) that holds the current h. */
  private current = 0;
  private destroyed = false;

  /** @internal */
  constructor(
    /** The GRU whose `createState` made this state. */
    readonly owner: GRU,
    /** @internal */ readonly plan: Plan,
    private readonly onDestroy: () => void,
  ) {}

  /** B: the sequences this state holds, fixed by `createState`. */
  get batch(): number {
    return this.plan.batch;
  }

  /** @internal */
  checkAlive(): void {
    if (this.destroyed) throw new GRUError('state: expected a live GRUState, got one that was destroyed');
    checkNotLost(this.owner.device);
  }

  /** @internal Records one step reading slot `current`, and flips it. */
  advance(encoder: GPUCommandEncoder, input: GPUBuffer): void {
    this.plan.encode(encoder, input, this.plan.output, streamingStep(this.plan.slotCount, this.current));
    this.current = 1 - this.current;
  }

  /** Zeros the state. */
  reset(): void {
    this.checkAlive();
    this.set(new Float32Array(this.plan.slotBytes / F32));
  }

  /** Replaces the state with h [L, B, H]. */
  set(h: Float32Array): void {
    this.checkAlive();
    const o = this.owner.options;
    checkFloatArray('h', h, this.plan.slotBytes / F32, `[L, B, H] = [${o.numLayers}, ${this.batch}, ${o.hiddenSize}]`);
    writeFloats(this.owner.device.queue, this.plan.stateBuffer, this.current * this.plan.slotBytes, h);
  }

  /** Reads the state back: [L, B, H]. */
  async get(): Promise<Float32Array> {
    this.checkAlive();
    const device = this.owner.device;
    const encoder = device.createCommandEncoder({ label: 'webgpu-gru state read' });
    const read = readBack(device, encoder, [
      { buffer: this.plan.stateBuffer, offset: this.current * this.plan.slotBytes, bytes: this.plan.slotBytes },
    ]);
    const [h] = await settle(device, read, 'state.get: the state could not be read back');
    return h;
  }

  /** Frees the state's GPU buffers; `GRU.destroy` frees those of every state it made. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.plan.destroy();
    this.onDestroy();
  }
}
