/**
 * `Linear`: y = x·Wᵀ + b on GPU buffers (PyTorch `nn.Linear`), a language model's output head.
 * Kernel: shaders/head.wgsl `linear`; CPU twin: `linearReference` in ./reference.ts.
 */
import { checkDevice, checkObject, checkPositiveInteger, checkStorage } from '../args.js';
import { GRUError } from '../errors.js';
import { bindingLimit, checkNotLost, F32, KeepLast } from '../gpu.js';
import { buildGuarded, checkBatch, checkKeys, checkWeights, uploadStorage } from './common.js';
import { layerLayout, layerPipeline } from './pipelines.js';

/** The parameters of a {@link Linear}: PyTorch `nn.Linear`'s weight and bias and its two sizes. */
export interface LinearWeights {
  /** `[outFeatures, inFeatures]` row-major, as `nn.Linear.weight`; finite values. */
  weight: Float32Array;
  /** `[outFeatures]`, finite; default zeros. */
  bias?: Float32Array;
  /** IN: features of each input row (a positive integer). */
  inFeatures: number;
  /** OUT: features of each output row (a positive integer). */
  outFeatures: number;
}

const WG = 64;

/** Wᵀ as [IN][OUT4] vec4s (padding columns zero), then the bias [OUT4]: the kernel's layout. */
export function packLinear(weight: Float32Array, bias: Float32Array | undefined, IN: number, OUT: number): Float32Array {
  const out4 = Math.ceil(OUT / 4) * 4;
  const packed = new Float32Array((IN + 1) * out4);
  for (let o = 0; o < OUT; o++) {
    for (let k = 0; k < IN; k++) packed[k * out4 + o] = weight[o * IN + k];
    if (bias) packed[IN * out4 + o] = bias[o];
  }
  return packed;
}

/**
 * y = x·Wᵀ + b on f32 GPU buffers (PyTorch `nn.Linear`). Made by {@link Linear.create}, which
 * uploads the weights; `encode` records it into the caller's compute pass; `destroy` frees them.
 *
 * @throws a {@link GRUError} naming the argument on bad weights, weights over the device's storage
 *   binding limit, a bad `batch` or buffer, and from `encode` once destroyed.
 */
export class Linear {
  private destroyed = false;
  private readonly bindGroup = new KeepLast<GPUBindGroup>();

  private constructor(
    /** The device that holds the weights (the caller's). */
    readonly device: GPUDevice,
    /** IN: features of each input row. */
    readonly inFeatures: number,
    /** OUT: features of each output row. */
    readonly outFeatures: number,
    private readonly weights: GPUBuffer,
    private readonly pipeline: GPUComputePipeline,
  ) {}

  /** Validates, packs and uploads the weights and compiles the kernel (cached per device and shape). */
  static async create(device: GPUDevice, weights: LinearWeights): Promise<Linear> {
    checkDevice(device);
    const w = checkObject('weights', weights, '{ weight, bias?, inFeatures, outFeatures }');
    checkKeys('weights', w, ['weight', 'bias', 'inFeatures', 'outFeatures']);
    const IN = checkPositiveInteger('weights.inFeatures', w.inFeatures);
    const OUT = checkPositiveInteger('weights.outFeatures', w.outFeatures);
    const weight = checkWeights('weights.weight', w.weight, OUT * IN, `[outFeatures, inFeatures] = [${OUT}, ${IN}]`);
    const bias = w.bias === undefined ? undefined : checkWeights('weights.bias', w.bias, OUT, `[outFeatures] = [${OUT}]`);
    const packed = packLinear(weight, bias, IN, OUT);
    const limit = bindingLimit(device.limits);
    if (packed.byteLength > limit) {
      throw new GRUError(
        `weights.weight: the packed weights need ${packed.byteLength} bytes, over this device's storage binding limit (${limit} bytes)`,
      );
    }
    let buffer: GPUBuffer | undefined;
    return buildGuarded(
      device,
      'Linear.create',
      async () => {
        buffer = uploadStorage(device, `linear weights [${OUT}, ${IN}] and bias`, packed);
        const pipeline = await layerPipeline(device, 'linear', { IN, OUT, WG });
        return new Linear(device, IN, OUT, buffer, pipeline);
      },
      () => buffer?.destroy(),
    );
  }

  private checkAlive(): void {
    if (this.destroyed) throw new GRUError('this Linear: expected a live Linear, got one that was destroyed (destroy() was called)');
    checkNotLost(this.device);
  }

  /** Records y = x·Wᵀ + b into the caller's compute pass: `input` [batch, in] → `output` [batch, out]. */
  encode(pass: GPUComputePassEncoder, input: GPUBuffer, output: GPUBuffer, batch: number): void {
    this.checkAlive();
    const B = checkBatch(this.device, batch);
    checkStorage('input', input, B * this.inFeatures * F32, `[batch, inFeatures] = [${B}, ${this.inFeatures}]`);
    checkStorage('output', output, B * this.outFeatures * F32, `[batch, outFeatures] = [${B}, ${this.outFeatures}]`);
    const group = this.bindGroup.get([input, output, B], () =>
      this.device.createBindGroup({
        label: 'webgpu-gru linear',
        layout: layerLayout(this.device, 'linear'),
        entries: [
          { binding: 0, resource: { buffer: input, size: B * this.inFeatures * F32 } },
          { binding: 1, resource: { buffer: this.weights } },
          { binding: 2, resource: { buffer: output, size: B * this.outFeatures * F32 } },
        ],
      }),
    );
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(Math.ceil(Math.ceil(this.outFeatures / 4) / WG), B);
  }

  /** Frees the weights. The device is the caller's and stays. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.bindGroup.clear();
    this.weights.destroy();
  }
}
