/**
 * The pipelines of the layers around a GRU (shaders/embedding.wgsl, shaders/head.wgsl), compiled
 * asynchronously when a layer is created and cached per device, keyed by entry point and override
 * constants: a second model of the same shape compiles nothing. Bind group layouts are explicit,
 * so that a layer's bind groups fit every pipeline of its kind.
 */
import embeddingSource from '../../shaders/embedding.wgsl?raw';
import headSource from '../../shaders/head.wgsl?raw';
import { COMPUTE_STAGE } from '../pipelines.js';

export type LayerKernel = 'embed' | 'linear' | 'argmax';

interface DeviceLayers {
  layouts: Record<LayerKernel, GPUBindGroupLayout>;
  modules: Record<LayerKernel, GPUShaderModule>;
  pipelines: Map<string, Promise<GPUComputePipeline>>;
}

const perDevice = new WeakMap<GPUDevice, DeviceLayers>();

function storage(binding: number, readOnly: boolean): GPUBindGroupLayoutEntry {
  return { binding, visibility: COMPUTE_STAGE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } };
}

function deviceLayers(device: GPUDevice): DeviceLayers {
  let d = perDevice.get(device);
  if (d) return d;
  const layout = (label: string, entries: GPUBindGroupLayoutEntry[]) =>
    device.createBindGroupLayout({ label: `webgpu-gru ${label}`, entries });
  const embedding = device.createShaderModule({ label: 'webgpu-gru embedding.wgsl', code: embeddingSource });
  const head = device.createShaderModule({ label: 'webgpu-gru head.wgsl', code: headSource });
  d = {
    layouts: {
      embed: layout('embed', [storage(0, true), storage(1, true), storage(2, false)]),
      linear: layout('linear', [storage(0, true), storage(1, true), storage(2, false)]),
      argmax: layout('argmax', [storage(3, true), storage(4, false)]),
    },
    modules: { embed: embedding, linear: head, argmax: head },
    pipelines: new Map(),
  };
  perDevice.set(device, d);
  return d;
}

export function layerLayout(device: GPUDevice, kernel: LayerKernel): GPUBindGroupLayout {
  return deviceLayers(device).layouts[kernel];
}

/** The pipeline of `kernel` specialised with `constants` (its override values), cached per device. */
export function layerPipeline(device: GPUDevice, kernel: LayerKernel, constants: Record<string, number>): Promise<GPUComputePipeline> {
  const d = deviceLayers(device);
  const key = JSON.stringify([kernel, constants]);
  let pending = d.pipelines.get(key);
  if (!pending) {
    const shape = Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(' ');
    pending = device.createComputePipelineAsync({
      label: `webgpu-gru ${kernel} ${shape}`,
      layout: device.createPipelineLayout({ label: `webgpu-gru ${kernel}`, bindGroupLayouts: [d.layouts[kernel]] }),
      compute: { module: d.modules[kernel], entryPoint: kernel, constants },
    });
    // A failed compilation must not poison the cache for later attempts.
    pending.catch(() => d.pipelines.delete(key));
    d.pipelines.set(key, pending);
  }
  return pending;
}
