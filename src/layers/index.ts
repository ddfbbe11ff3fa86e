/** The layers around a GRU (embedding, linear head, argmax) and the character models built from them. */
export { Argmax } from './argmax.js';
export {
  CharModel,
  CharModelReference,
  CharModelWasm,
  charModelFromSafetensors,
  createCharModel,
  type CharGenerator,
  type CharModelTensorNames,
  type CharModelWeights,
  type GenerateOptions,
  type Generation,
} from './char-model.js';
export { Embedding, type EmbeddingWeights } from './embedding.js';
export { Linear, type LinearWeights } from './linear.js';
export { argmaxReference, embeddingReference, linearReference, sampleLogits, seededRandom } from './reference.js';
