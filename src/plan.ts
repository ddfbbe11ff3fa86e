/**
 * The GPU buffers and the command encoding of a forward pass of one shape (steps, batch).
 *
 * A whole forward — every layer, direction and timestep — goes into one compute pass of one
 * command encoder. Per layer: 'stepwise' is one projection dispatch and then one step dispatch
 * per timestep (two when the reset gate comes first and H > 256); 'persistent-split' is the
 * projection and one recurrence dispatch; 'persistent' is a single dispatch — for a stack of one
 * direction, one for the whole stack (sequence_stack). 'wavefront' is the first layer's
 * projection and then one step dispatch (or two) per wave s = 0 … T+L−2 for the whole stack,
 * each running the layers l with 0 ≤ s − l < T. The step index of the stepwise
 * schedule reaches the shader through a uniform at a dynamic offset, so nothing is written to the
 * queue between dispatches. WebGPU orders the storage writes of one dispatch before the reads of
 * the next within a pass. Which schedule runs, its slots and its kernels come from
 * src/schedule.ts; the uniforms are written by field name (src/uniforms.ts).
 */
import { GRUError } from './errors.js';
import { checkBinding, F32, KeepLast, Usage, writeFloats } from './gpu.js';
import type { ResolvedOptions } from './options.js';
import { deviceKernels, PROJECTION_TILE } from './pipelines.js';
import {
  isStepwise,
  runsWholeStack,
  STEP_ROWS,
  stepUnits,
  waveLayers,
  type Schedule,
  type ScheduleKernels,
  type StepSlot,
} from './schedule.js';
import { PROJECTION_PARAMS, RECURRENCE_PARAMS, STEP, structBytes, writeStruct } from './uniforms.js';
import { layerInputSize, paddedHidden } from './weights.js';

/**
 * One layer's weights: at byte `offset` of `weights` (shared by every layer when the stack fits
 * one binding), the packed Uᵀ, then Wᵀ and its bias `projectionOffset` bytes further.
 */
export interface LayerBuffers {
  weights: GPUBuffer;
  /** A multiple of minStorageBufferOffsetAlignment (and of 16), as is projectionOffset. */
  offset: number;
  /** Bytes from `offset` to the end of the bias. */
  bytes: number;
  recurrentBytes: number;
  projectionOffset: number;
  projectionBytes: number;
}

/** The kernels of one plan: the projection, and the recurrence kernels of its schedule. */
export interface Kernels {
  projection: GPUComputePipeline;
  recurrence: ScheduleKernels;
}

/** A layer's bind groups: the projection's (unless persistent) and the recurrence's. */
interface LayerGroups {
  projection?: GPUBindGroup;
  recurrence: GPUBindGroup;
}

/** A params slot holds either struct: the projection's or the recurrence's, the larger. */
const PARAMS_BYTES = Math.max(structBytes(RECURRENCE_PARAMS), structBytes(PROJECTION_PARAMS));
const STEP_BYTES = structBytes(STEP);

export class Plan {
  readonly schedule: Schedule;
  readonly stateRows: number;
  /** Bytes of one state slot [L·D][B][H]. */
  readonly slotBytes: number;
  readonly buffers: GPUBuffer[] = [];
  /** Step-uniform slots: dispatches along the sequence per layer. */
  readonly slotCount: number;
  private readonly slots: readonly StepSlot[];
  private readonly g: GPUBuffer;
  private readonly state: GPUBuffer;
  private readonly hidden: GPUBuffer[] = [];
  private readonly params: GPUBuffer;
  private readonly stepUniforms: GPUBuffer;
  private readonly stepBindGroup: GPUBindGroup;
  private readonly paramStride: number;
  /** Wavefront, or persistent with stacksInOneDispatch(): every layer in each dispatch. */
  private readonly stacked: boolean;
  private readonly slotStride: number;
  private ownInput?: GPUBuffer;
  private readonly groups = new KeepLast<LayerGroups[]>();
  private ownOutput?: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    private readonly o: ResolvedOptions,
    private readonly layers: readonly LayerBuffers[],
    private readonly kernels: Kernels,
    readonly steps: number,
    readonly batch: number,
    slots: readonly StepSlot[],
    /** The argument that gave `batch`, for the messages: a forward's 'args.batch', createState's 'batch'. */
    batchArgument = 'args.batch',
  ) {
    const schedule = kernels.recurrence.schedule;
    this.schedule = schedule;
    const { hiddenSize: H, numDirections: D, numLayers: L } = o;
    const T = steps;
    const B = batch;
    const limits = device.limits;
    const shape = batchArgument === 'args.batch' ? `args.steps × args.batch = ${T} × ${B}` : `${batchArgument} = ${B}`;
    const rowsPerGroup = isStepwise(schedule) ? STEP_ROWS : 1;
    if (Math.ceil(B / rowsPerGroup) > limits.maxComputeWorkgroupsPerDimension) {
      throw new GRUError(
        `${batchArgument}: expected at most ${rowsPerGroup * limits.maxComputeWorkgroupsPerDimension} rows ` +
          `(${rowsPerGroup} per workgroup × maxComputeWorkgroupsPerDimension) for the ${schedule} schedule, got ${B}`,
      );
    }
    if (schedule !== 'persistent') {
      checkBinding(device, 'the input projection buffer [T, B, D·3H]', T * B * D * 3 * paddedHidden(H) * F32, shape);
    }
    checkBinding(device, 'a layer output buffer [T, B, D·H]', T * B * D * H * F32, shape);
    checkBinding(device, `the input buffer ${o.batchFirst ? '[B, T, I]' : '[T, B, I]'}`, T * B * o.inputSize * F32, shape);
    this.stateRows = L * D;
    this.slotBytes = this.stateRows * B * H * F32;
    this.stacked = runsWholeStack(device, o, schedule);
    // A stacked plan keeps the outputs of the layers before the last in two halves behind the lengths.
    const hiddenBytes = this.stacked && L > 1 ? 2 * T * B * H * F32 : 0;
    const stateBytes = 3 * this.slotBytes + B * F32 + hiddenBytes;
    checkBinding(device, `the state buffer [3, L·D, B, H]${hiddenBytes ? ' and the hidden outputs [2, T, B, H]' : ''}`, stateBytes, shape);

    this.paramStride = Math.max(PARAMS_BYTES, limits.minUniformBufferOffsetAlignment);
    this.slotStride = Math.max(STEP_BYTES, limits.minUniformBufferOffsetAlignment);
    // The fused persistent kernels need no G.
    const gBytes = schedule === 'persistent' ? 0 : T * B * D * 3 * paddedHidden(H) * F32;
    this.g = this.create('G (input projection)', gBytes, Usage.STORAGE);
    this.state = this.create('state', stateBytes, Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST);
    if (!this.stacked) {
      for (let i = 0; i < Math.min(L - 1, 2); i++) {
        this.hidden.push(this.create(`hidden layer output ${i}`, T * B * D * H * F32, Usage.STORAGE));
      }
    }

    // Per layer: the projection's Params, then the step's, each at an aligned offset; then the
    // whole stack's (wavefront, sequence_stack).
    this.params = this.create('params', (2 * L + 1) * this.paramStride, Usage.UNIFORM | Usage.COPY_DST);
    const params = new Uint32Array(((2 * L + 1) * this.paramStride) / 4);
    const dirBase = o.direction === 'reverse' ? 1 : 0;
    const wOffset = layers[0].projectionOffset / 16;
    const outStrides = (l: number) =>
      l === L - 1 && o.batchFirst ? { outStrideT: D * H, outStrideB: T * D * H } : { outStrideT: B * D * H, outStrideB: D * H };
    const inStrides = (l: number) => {
      const K = layerInputSize(o, l);
      return l === 0 && o.batchFirst ? { inStrideT: o.inputSize, inStrideB: T * o.inputSize } : { inStrideT: B * K, inStrideB: K };
    };
    const tilesM = Math.ceil((T * B) / PROJECTION_TILE);
    const tilesY = Math.min(tilesM, limits.maxComputeWorkgroupsPerDimension);
    // The fields only a whole stack reads stay 0 in a layer's Params.
    const oneLayer = { uBase1: 0, uStride: 0, hiddenBase: 0, layers: 0 };
    for (let l = 0; l < L; l++) {
      const { inStrideT, inStrideB } = inStrides(l);
      const N = D * 3 * paddedHidden(H);
      const projection = { M: T * B, N, K: layerInputSize(o, l), batch: B, strideT: inStrideT, strideB: inStrideB, tilesY };
      writeStruct(params, 2 * l * this.paramStride, PROJECTION_PARAMS, projection);
      const step = {
        batch: B,
        steps: T,
        stateRows: this.stateRows,
        layerBase: l * D,
        dirBase,
        ...outStrides(l),
        inStrideT,
        inStrideB,
        wOffset,
      };
      writeStruct(params, (2 * l + 1) * this.paramStride, RECURRENCE_PARAMS, { ...step, ...oneLayer });
    }
    // A stack bound whole has one direction, so its state rows are its L layers.
    writeStruct(params, 2 * L * this.paramStride, RECURRENCE_PARAMS, {
      batch: B,
      steps: T,
      stateRows: L,
      layerBase: 0,
      dirBase,
      ...outStrides(L - 1),
      ...inStrides(0),
      wOffset,
      uBase1: L > 1 ? layers[1].offset / 16 : 0,
      uStride: L > 2 ? (layers[2].offset - layers[1].offset) / 16 : 0,
      hiddenBase: (3 * this.slotBytes) / F32 + B,
      layers: L,
    });
    device.queue.writeBuffer(this.params, 0, params);

    this.slots = slots;
    this.slotCount = slots.length;
    this.stepUniforms = this.create('step index', slots.length * this.slotStride, Usage.UNIFORM | Usage.COPY_DST);
    const stepData = new Uint32Array((slots.length * this.slotStride) / 4);
    slots.forEach(({ s, parity }, i) => {
      writeStruct(stepData, i * this.slotStride, STEP, { s, parity, first: waveLayers(schedule, s, T, L).first });
    });
    device.queue.writeBuffer(this.stepUniforms, 0, stepData);
    this.stepBindGroup = device.createBindGroup({
      label: 'webgpu-gru step index',
      layout: deviceKernels(device).stepUniformLayout,
      entries: [{ binding: 0, resource: { buffer: this.stepUniforms, size: STEP_BYTES } }],
    });
  }

  private create(label: string, size: number, usage: number): GPUBuffer {
    const buffer = this.device.createBuffer({ label: `webgpu-gru ${label}`, size: Math.max(16, align4(size)), usage });
    this.buffers.push(buffer);
    return buffer;
  }

  /** Bytes of the layer-0 input and of the last layer's output. */
  get inputBytes(): number {
    return this.steps * this.batch * this.o.inputSize * F32;
  }

  get outputBytes(): number {
    return this.steps * this.batch * this.o.numDirections * this.o.hiddenSize * F32;
  }

  /** An input buffer owned by the plan, for the array forms. */
  get input(): GPUBuffer {
    this.ownInput ??= this.create('input', this.inputBytes, Usage.STORAGE | Usage.COPY_DST);
    return this.ownInput;
  }

  /** An output buffer owned by the plan, for the array forms. */
  get output(): GPUBuffer {
    this.ownOutput ??= this.create('output', this.outputBytes, Usage.STORAGE | Usage.COPY_SRC);
    return this.ownOutput;
  }

  get stateBuffer(): GPUBuffer {
    return this.state;
  }

  /** Byte offset of the sequence lengths behind the three state slots. */
  get lengthsOffset(): number {
    return 3 * this.slotBytes;
  }

  /** Writes per-row lengths (default: every row has `steps`). */
  writeLengths(seqLengths: Int32Array | undefined, fill: number): void {
    const lengths = new Float32Array(this.batch);
    if (seqLengths) lengths.set(seqLengths);
    else lengths.fill(fill);
    writeFloats(this.device.queue, this.state, this.lengthsOffset, lengths);
  }

  /**
   * Each layer's bind groups — persistent: the fused kernel's; else the projection's and the
   * recurrence's; a whole stack in each dispatch (wavefront, sequence_stack): one entry, with
   * layer 0's projection for the wavefront and a recurrence group over every layer. Only the
   * first layer's input and the last layer's output come from the caller, so they are kept for
   * the last (input, output) pair: repeated forwards and streaming steps on the same buffers
   * create none.
   */
  private bindGroups(input: GPUBuffer, output: GPUBuffer): LayerGroups[] {
    return this.groups.get([input, output], () => this.makeBindGroups(input, output));
  }

  private makeBindGroups(input: GPUBuffer, output: GPUBuffer): LayerGroups[] {
    const k = deviceKernels(this.device);
    // The caller's buffers may be larger than a binding may be: bind what this forward uses.
    const bound = (buffer: GPUBuffer): GPUBufferBinding =>
      buffer === input ? { buffer, size: this.inputBytes } : buffer === output ? { buffer, size: this.outputBytes } : { buffer };
    const L = this.o.numLayers;
    const stepGroup = (label: string, weights: GPUBufferBinding, out: GPUBuffer, paramIndex: number) =>
      this.device.createBindGroup({
        label: `webgpu-gru ${label}`,
        layout: k.stepLayout,
        entries: [
          { binding: 0, resource: { buffer: this.g } },
          { binding: 1, resource: weights },
          { binding: 2, resource: { buffer: this.state } },
          { binding: 3, resource: bound(out) },
          { binding: 4, resource: { buffer: this.params, offset: paramIndex * this.paramStride, size: PARAMS_BYTES } },
        ],
      });
    // A stacked plan runs the whole stack from layer 0's groups, with every layer's weights in
    // one binding (they share one buffer, from offset 0).
    const layers = this.stacked ? this.layers.slice(0, 1) : this.layers;
    const last = this.layers[L - 1];
    const allWeights = { buffer: last.weights, offset: 0, size: last.offset + last.bytes };
    return layers.map((w, l): LayerGroups => {
      const layerIn = l === 0 ? input : this.hidden[(l - 1) % 2];
      const layerOut = l === L - 1 || this.stacked ? output : this.hidden[l % 2];
      if (this.schedule === 'persistent') {
        const recurrence = this.device.createBindGroup({
          label: `webgpu-gru sequence ${this.stacked ? 'stack' : `layer ${l}`}`,
          layout: k.inputLayout,
          entries: [
            { binding: 1, resource: this.stacked ? allWeights : { buffer: w.weights, offset: w.offset, size: w.bytes } },
            { binding: 2, resource: { buffer: this.state } },
            { binding: 3, resource: bound(layerOut) },
            {
              binding: 4,
              resource: { buffer: this.params, offset: (this.stacked ? 2 * L : 2 * l + 1) * this.paramStride, size: PARAMS_BYTES },
            },
            { binding: 5, resource: bound(layerIn) },
          ],
        });
        return { recurrence };
      }
      const projection = this.device.createBindGroup({
        label: `webgpu-gru projection layer ${l}`,
        layout: k.projectionLayout,
        entries: [
          { binding: 0, resource: bound(layerIn) },
          { binding: 1, resource: { buffer: w.weights, offset: w.offset + w.projectionOffset, size: w.projectionBytes } },
          { binding: 2, resource: { buffer: this.g } },
          { binding: 3, resource: { buffer: this.params, offset: 2 * l * this.paramStride, size: PARAMS_BYTES } },
        ],
      });
      if (this.schedule === 'wavefront') return { projection, recurrence: stepGroup('wavefront', allWeights, output, 2 * L) };
      const weights = { buffer: w.weights, offset: w.offset, size: w.recurrentBytes };
      return { projection, recurrence: stepGroup(`step layer ${l}`, weights, layerOut, 2 * l + 1) };
    });
  }

  /**
   * Records every layer of a forward into one compute pass. `slots` lists the step-uniform slots
   * in order: one per step (stepwise), per wave (wavefront) or per chunk of persistentChunk()
   * steps (persistent). Each dispatch reads a layer's h from its slot's parity and writes the
   * other; see finalParity() in src/schedule.ts.
   */
  encode(encoder: GPUCommandEncoder, input: GPUBuffer, output: GPUBuffer, slots: readonly number[]): void {
    const { hiddenSize: H, numDirections: D, numLayers: L } = this.o;
    const B = this.batch;
    const tilesM = Math.ceil((this.steps * B) / PROJECTION_TILE);
    const tilesY = Math.min(tilesM, this.device.limits.maxComputeWorkgroupsPerDimension);
    const tilesN = Math.ceil((D * 3 * paddedHidden(H)) / PROJECTION_TILE);
    const unitGroups = Math.ceil(paddedHidden(H) / 4 / stepUnits(this.o));
    const rowGroups = Math.ceil(B / STEP_ROWS);
    const recurrence = this.kernels.recurrence;
    const pass = encoder.beginComputePass({ label: 'webgpu-gru forward' });
    this.bindGroups(input, output).forEach((groups, l) => {
      if (groups.projection) {
        pass.setPipeline(this.kernels.projection);
        pass.setBindGroup(0, groups.projection);
        pass.dispatchWorkgroups(tilesN, tilesY, Math.ceil(tilesM / tilesY));
      }
      pass.setBindGroup(0, groups.recurrence);
      if (recurrence.schedule === 'persistent' || recurrence.schedule === 'persistent-split') {
        pass.setPipeline(recurrence.layers[l]);
        for (const slot of slots) {
          pass.setBindGroup(1, this.stepBindGroup, [slot * this.slotStride]);
          pass.dispatchWorkgroups(1, B, D);
        }
        return;
      }
      // One pass per step: its pipeline is set once; two: each is set before its dispatch.
      const passes = recurrence.step;
      if (passes.length === 1) pass.setPipeline(passes[0]);
      for (const slot of slots) {
        pass.setBindGroup(1, this.stepBindGroup, [slot * this.slotStride]);
        // z: the directions, or a wavefront's layers.
        const z = recurrence.schedule === 'wavefront' ? waveLayers('wavefront', this.slots[slot].s, this.steps, L).count : D;
        for (const pipeline of passes) {
          if (passes.length > 1) pass.setPipeline(pipeline);
          pass.dispatchWorkgroups(unitGroups, rowGroups, z);
        }
      }
    });
    pass.end();
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
