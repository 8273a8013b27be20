import { ConfigError, type PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createProviderEmbeddings } from './embedding-function.js';
import { createSemanticCache } from './semantic-cache.js';

const finishReason = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'other']);

/** Config of the `cache-semantic` middleware plugin (a gateway `middleware:` entry). */
export const semanticCacheConfigSchema = z.strictObject({
  /** Where vectors come from: a configured provider (by the name targets use) that offers `embed()`, and the model. */
  embeddings: z.strictObject({
    provider: z.string().min(1),
    model: z.string().min(1),
    /** Requested vector size, for models that can shorten their output. */
    dimensions: z.number().int().positive().optional(),
  }),
  /** Smallest cosine similarity that counts as the same question, in (0, 1]. Default 0.95. */
  threshold: z.number().gt(0).max(1).optional(),
  /** Lifetime of stored answers in seconds. Default 3600. */
  ttlSeconds: z.number().positive().optional(),
  /** One namespace for every tenant. Default false. */
  shared: z.boolean().optional(),
  /** Only requests with `temperature: 0` or a `seed` take part. Default true. */
  deterministicOnly: z.boolean().optional(),
  /** Finish reasons whose answers are stored. Default stop and tool_calls. */
  storeFinishReasons: z.array(finishReason).optional(),
  /** Messages longer than this (characters) are not compared. Default 8000. */
  maxMessageChars: z.number().int().positive().optional(),
});

export type SemanticCacheConfig = z.infer<typeof semanticCacheConfigSchema>;

/**
 * Middleware plugin `cache-semantic` (stage `cache`): near-duplicate prompts answered from a memory
 * vector index. Its embeddings come from a provider the host configured, resolved by name through the
 * plugin context (`context.providers`), so it needs a host that has providers (the gateway).
 */
export const plugin: PluginDescriptor<'middleware', SemanticCacheConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'cache-semantic',
  packageName: '@bulwark/cache-semantic',
  description: 'Answers near-duplicate prompts from a vector index (embeddings from a configured provider).',
  configSchema: semanticCacheConfigSchema,
  create(config, context) {
    const path = `${context.path}.embeddings.provider`;
    const configured = context.providers?.get(config.embeddings.provider);
    if (!configured) {
      const names = [...(context.providers?.keys() ?? [])];
      throw new ConfigError({
        path,
        message: `${path}: one of the configured providers: ${names.join(', ') || '(none configured)'}`,
      });
    }
    if (typeof configured.instance.embed !== 'function') {
      throw new ConfigError({
        path,
        message: `${path}: a provider that offers embeddings ("${config.embeddings.provider}" has no embed())`,
      });
    }
    const { embeddings, ...options } = config;
    return createSemanticCache({
      embed: createProviderEmbeddings(configured.instance, {
        model: embeddings.model,
        ...(embeddings.dimensions === undefined ? {} : { dimensions: embeddings.dimensions }),
      }),
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    });
  },
};
