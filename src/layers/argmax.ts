/**
 * `Argmax`: the greedy choice over each row of logits, on the GPU, written as u32 ids that an
 * `Embedding` can read directly. Ties go to the first maximum (as `torch.argmax`). Kernel:
 * shaders/head.wgsl `argmax`; CPU twin: `argmaxReference` in ./reference.ts (exact).
 */
import { checkDevice, checkObject, checkPositiveInteger, checkStorage } from '../args.js';
import { GRUError } from '../errors.js';
import { checkNotLost, F32, KeepLast, unlessLost } from '../gpu.js';
import { checkBatch, checkKeys } from './common.js';
import { layerLayout, layerPipeline } from './pipelines.js';

/**
 * The index of the largest of each row of f32 logits, on the GPU, as u32 ids (ties: the first).
 * Made by {@link Argmax.create}; `encode` records it into the caller's compute pass.
 *
 * @throws a {@link GRUError} naming the argument on a bad `size`, `batch` or buffer, and from
 *   `encode` once destroyed.
 */
export class Argmax {
  private destroyed = false;
  private readonly bindGroup = new KeepLast<GPUBindGroup>();

  private constructor(
    /** The device it was compiled for (the caller's). */
    readonly device: GPUDevice,
    /** N: logits per row. */
    readonly size: number,
    private readonly pipeline: GPUComputePipeline,
  ) {}

  /** Compiles the kernel for rows of `size` logits (cached per device and size). Owns no buffer. */
  static async create(device: GPUDevice, options: { size: number }): Promise<Argmax> {
    checkDevice(device);
    const o = checkObject('options', options, '{ size }');
    checkKeys('options', o, ['size']);
    const N = checkPositiveInteger('options.size', o.size);
    checkNotLost(device);
    const pipeline = await unlessLost(device, layerPipeline(device, 'argmax', { N }), () => undefined);
    return new Argmax(device, N, pipeline);
  }

  /** Records the choice into the caller's compute pass: `logits` [batch, size] f32 → `ids` [batch] u32. */
  encode(pass: GPUComputePassEncoder, logits: GPUBuffer, ids: GPUBuffer, batch: number): void {
    if (this.destroyed) throw new GRUError('this Argmax: expected a live Argmax, got one that was destroyed (destroy() was called)');
    checkNotLost(this.device);
    const B = checkBatch(this.device, batch);
    checkStorage('logits', logits, B * this.size * F32, `[batch, size] = [${B}, ${this.size}]`);
    checkStorage('ids', ids, B * 4, `[batch] = [${B}] u32`);
    const group = this.bindGroup.get([logits, ids, B], () =>
      this.device.createBindGroup({
        label: 'webgpu-gru argmax',
        layout: layerLayout(this.device, 'argmax'),
        entries: [
          { binding: 3, resource: { buffer: logits, size: B * this.size * F32 } },
          { binding: 4, resource: { buffer: ids, size: B * 4 } },
        ],
      }),
    );
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(B);
  }

  /** Idempotent; an Argmax holds no GPU memory of its own. */
  destroy(): void {
    this.destroyed = true;
    this.bindGroup.clear();
  }
}
