/**
 * The pipelines of the layers around a GRU (shaders/embedding.wgsl, shaders/head.wgsl), compiled
 * asynchronously when a layer is created and cached per device (src/gpu.ts `cachedPipeline`),
 * keyed by entry point and override constants: a second model of the same shape compiles nothing.
 * Bind group layouts are explicit, so that a layer's bind groups fit every pipeline of its kind.
 */
import embeddingSource from '../../shaders/embedding.wgsl?raw';
import headSource from '../../shaders/head.wgsl?raw';
import { cachedPipeline, perDevice, storageEntry as storage } from '../gpu.js';

export type LayerKernel = 'embed' | 'linear' | 'argmax';

interface DeviceLayers {
  layouts: Record<LayerKernel, GPUBindGroupLayout>;
  modules: Record<LayerKernel, GPUShaderModule>;
}

const deviceLayers = perDevice((device): DeviceLayers => {
  const layout = (label: string, entries: GPUBindGroupLayoutEntry[]) =>
    device.createBindGroupLayout({ label: `webgpu-gru ${label}`, entries });
  const embedding = device.createShaderModule({ label: 'webgpu-gru embedding.wgsl', code: embeddingSource });
  const head = device.createShaderModule({ label: 'webgpu-gru head.wgsl', code: headSource });
  return {
    layouts: {
      embed: layout('embed', [storage(0, true), storage(1, true), storage(2, false)]),
      linear: layout('linear', [storage(0, true), storage(1, true), storage(2, false)]),
      argmax: layout('argmax', [storage(3, true), storage(4, false)]),
    },
    modules: { embed: embedding, linear: head, argmax: head },
  };
});

export function layerLayout(device: GPUDevice, kernel: LayerKernel): GPUBindGroupLayout {
  return deviceLayers(device).layouts[kernel];
}

/** The pipeline of `kernel` specialised with `constants` (its override values), cached per device. */
export function layerPipeline(device: GPUDevice, kernel: LayerKernel, constants: Record<string, number>): Promise<GPUComputePipeline> {
  const d = deviceLayers(device);
  const file = kernel === 'embed' ? 'embedding.wgsl' : 'head.wgsl';
  const shape = Object.entries(constants)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return cachedPipeline(device, `${file} ${kernel} ${JSON.stringify(constants)}`, () => ({
    label: `webgpu-gru ${kernel} ${shape}`,
    layout: device.createPipelineLayout({ label: `webgpu-gru ${kernel}`, bindGroupLayouts: [d.layouts[kernel]] }),
    compute: { module: d.modules[kernel], entryPoint: kernel, constants },
  }));
}
