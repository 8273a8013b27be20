export type { EmbeddingFunction, ProviderEmbeddingsOptions } from './embedding-function.js';
export { createProviderEmbeddings } from './embedding-function.js';
export { sameNegation } from './negation-guard.js';
export type { SemanticCacheConfig } from './plugin.js';
export { plugin, semanticCacheConfigSchema } from './plugin.js';
export type { SemanticCacheMiddleware, SemanticCacheOptions } from './semantic-cache.js';
export { createSemanticCache } from './semantic-cache.js';
export type { MemoryVectorIndexOptions, VectorEntry, VectorIndexV1, VectorMatch } from './vector-index.js';
export { createMemoryVectorIndex, normalize } from './vector-index.js';
