/** The layers around a GRU (embedding, linear head, argmax) and their CPU twins. */
export { Argmax } from './argmax.js';
export { Embedding, type EmbeddingWeights } from './embedding.js';
export { Linear, type LinearWeights } from './linear.js';
export { argmaxReference, embeddingReference, linearReference } from './reference.js';
