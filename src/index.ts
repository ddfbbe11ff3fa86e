/// <reference types="@webgpu/types" preserve="true" />
/**
 * `webgpu-gru`: GRU stacks (PyTorch `nn.GRU`, ONNX `GRU`, Keras `GRU`) on WebGPU
 * ({@link GRU}), on the CPU in WebAssembly ({@link WasmGRU}) and as a float64 CPU reference
 * ({@link gruReference}); {@link createGRU} picks WebGPU or WebAssembly. Importers turn PyTorch, ONNX,
 * TensorFlow.js and WebNN weights into `GRU.create`'s arguments, and the layers around a GRU
 * ({@link Embedding}, {@link Linear}, {@link Argmax}) run on the same device. Every bad argument
 * throws a {@link GRUError}.
 *
 * @module webgpu-gru
 */
export { GRU, GRUState, type ForwardGPUArgs, type GPUResult } from './gru.js';
export { gruReference, type GRUResult } from './reference.js';
export { POOL_MIN_MACS, WasmGRU, WasmGRUState, type WasmBackendOptions } from './wasm/gru.js';
export { compileWasmKernels, wasmSupport, type WasmSimd } from './wasm/kernels.js';
export { createGRU, SMALL_MODEL_MACS, type BackendName, type CreateGRUOptions } from './backend.js';
export { DeviceLostError, GRUError } from './errors.js';
export { RAISED_LIMITS, requestDeviceWithAdapterLimits } from './device.js';
export type { RunArgs } from './args.js';
export type {
  Activation,
  Direction,
  GateOrder,
  GRUOptions,
  OnnxActivationName,
  ParametricActivationName,
  ResolvedActivation,
  ResolvedOptions,
  WeightFormat,
} from './options.js';
export type { Schedule } from './schedule.js';
export type { GRUWeights } from './weights.js';
export * from './import/index.js';
export * from './layers/index.js';
