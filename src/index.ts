/// <reference types="@webgpu/types" preserve="true" />
export { GRU, GRUState, type ForwardGPUArgs, type GPUResult } from './gru.js';
export { gruReference, type GRUResult } from './reference.js';
export { POOL_MIN_MACS, WasmGRU, WasmGRUState, type WasmBackendOptions } from './wasm/gru.js';
export { compileWasmKernels, wasmSupport, type WasmSimd } from './wasm/kernels.js';
export { createGRU, SMALL_MODEL_MACS, type BackendName, type CreateGRUOptions } from './backend.js';
export { GRUError } from './errors.js';
export { RAISED_LIMITS, requestDeviceWithAdapterLimits } from './device.js';
export type { RunArgs } from './args.js';
export type { Activation, Direction, GateOrder, GRUOptions, OnnxActivationName, ParametricActivationName, WeightFormat } from './options.js';
export type { Schedule } from './schedule.js';
export type { GRUWeights } from './weights.js';
export * from './import/index.js';
export * from './layers/index.js';
