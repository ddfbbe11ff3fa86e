/**
 * `Embedding`: token ids in a GPU buffer → their rows of a table (PyTorch `nn.Embedding`), the
 * first layer of a language model. Kernel: shaders/embedding.wgsl `embed`; CPU twin:
 * `embeddingReference` in ./reference.ts (bit-exact: the kernel copies).
 */
import { checkDevice, checkObject, checkPositiveInteger, checkStorage } from '../args.js';
import { GRUError } from '../errors.js';
import { bindingLimit, checkNotLost, F32, KeepLast } from '../gpu.js';
import { buildGuarded, checkBatch, checkKeys, checkWeights, uploadStorage } from './common.js';
import { layerLayout, layerPipeline } from './pipelines.js';

/** The table of an {@link Embedding}: PyTorch `nn.Embedding`'s weight and its two sizes. */
export interface EmbeddingWeights {
  /** `[vocabSize, embeddingSize]` row-major, as `nn.Embedding.weight`; finite values. */
  weight: Float32Array;
  /** V: rows of the table, one per token id (a positive integer). */
  vocabSize: number;
  /** E: features of each row (a positive integer). */
  embeddingSize: number;
}

const WG = 64;

/**
 * Token ids → their rows of a table, on the GPU (PyTorch `nn.Embedding`). Made by
 * {@link Embedding.create}, which uploads the table; `encode` records the lookup into the caller's
 * compute pass; `destroy` frees the table.
 *
 * @throws a {@link GRUError} naming the argument on bad weights, a table over the device's storage
 *   binding limit, a bad `batch` or buffer, and from `encode` once destroyed.
 */
export class Embedding {
  private destroyed = false;
  private readonly bindGroup = new KeepLast<GPUBindGroup>();

  private constructor(
    /** The device that holds the table (the caller's). */
    readonly device: GPUDevice,
    /** V: rows of the table; a larger id reads zeros. */
    readonly vocabSize: number,
    /** E: f32 features of each row. */
    readonly embeddingSize: number,
    private readonly table: GPUBuffer,
    private readonly pipeline: GPUComputePipeline,
  ) {}

  /** Validates and uploads the table and compiles the kernel (cached per device and shape). */
  static async create(device: GPUDevice, weights: EmbeddingWeights): Promise<Embedding> {
    checkDevice(device);
    const w = checkObject('weights', weights, '{ weight, vocabSize, embeddingSize }');
    checkKeys('weights', w, ['weight', 'vocabSize', 'embeddingSize']);
    const V = checkPositiveInteger('weights.vocabSize', w.vocabSize);
    const E = checkPositiveInteger('weights.embeddingSize', w.embeddingSize);
    const weight = checkWeights('weights.weight', w.weight, V * E, `[vocabSize, embeddingSize] = [${V}, ${E}]`);
    const limit = bindingLimit(device.limits);
    if (weight.byteLength > limit) {
      throw new GRUError(
        `weights.weight: the table needs ${weight.byteLength} bytes, over this device's storage binding limit (${limit} bytes)`,
      );
    }
    let table: GPUBuffer | undefined;
    return buildGuarded(
      device,
      'Embedding.create',
      async () => {
        table = uploadStorage(device, `embedding table [${V}, ${E}]`, weight);
        const pipeline = await layerPipeline(device, 'embed', { E, V, WG });
        return new Embedding(device, V, E, table, pipeline);
      },
      () => table?.destroy(),
    );
  }

  private checkAlive(): void {
    if (this.destroyed) throw new GRUError('this Embedding: expected a live Embedding, got one that was destroyed (destroy() was called)');
    checkNotLost(this.device);
  }

  /**
   * Records the lookup into the caller's compute pass: `ids` [batch] u32 → `output` [batch,
   * embeddingSize] f32. An id ≥ vocabSize gives a row of zeros. Both buffers need STORAGE usage.
   */
  encode(pass: GPUComputePassEncoder, ids: GPUBuffer, output: GPUBuffer, batch: number): void {
    this.checkAlive();
    const E = this.embeddingSize;
    const B = checkPositiveInteger('batch', batch);
    checkStorage('ids', ids, B * 4, `[batch] = [${B}] u32`);
    checkStorage('output', output, B * E * F32, `[batch, embeddingSize] = [${B}, ${E}]`);
    const groups = Math.ceil((B * E) / WG);
    checkBatch(this.device, groups, 1, `batch × embeddingSize / ${WG} (workgroups)`);
    const group = this.bindGroup.get([ids, output, B], () =>
      this.device.createBindGroup({
        label: 'webgpu-gru embed',
        layout: layerLayout(this.device, 'embed'),
        entries: [
          { binding: 0, resource: { buffer: ids, size: B * 4 } },
          { binding: 1, resource: { buffer: this.table } },
          { binding: 2, resource: { buffer: output, size: B * E * F32 } },
        ],
      }),
    );
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(groups);
  }

  /** Frees the table. The device is the caller's and stays. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.bindGroup.clear();
    this.table.destroy();
  }
}
