/**
 * Importers: trained GRUs from PyTorch (state_dict, safetensors), ONNX, Keras / TensorFlow.js layers
 * models and WebNN-shaped arrays, each returning `ImportedGRU`s ready for `GRU.create`. Bytes and
 * plain objects in, plain objects out: they run in browsers, workers and Node alike.
 */
export type { ImportedGRU, KerasOutputInfo, ONNXNodeInfo, TensorDict, TensorInput } from './common.js';
export { parseSafetensors, safetensorsMetadata, type SafetensorsTensor } from './safetensors.js';
export { fromPyTorch, fromSafetensors, type FromPyTorchOptions } from './pytorch.js';
export { fromONNX, parseONNXTensor, type FromONNXOptions, type ONNXTensor, type ONNXTensorInput } from './onnx.js';
export { fromTFJSLayersModel, type FromTFJSOptions } from './tfjs.js';
export { fromWebNN, type WebNNActivation, type WebNNGRUInput } from './webnn.js';
