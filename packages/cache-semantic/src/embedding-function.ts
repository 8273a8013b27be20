import { type CallContext, ConfigError, type ProviderV1 } from '@bulwark/core';

/**
 * Turns texts into vectors, one per text, in order. Gets the call's context so it can honour the
 * call's abort signal and deadline. Any function will do: a provider's embeddings, a local model, a test double.
 */
export type EmbeddingFunction = (texts: string[], context: CallContext) => Promise<number[][]>;

export interface ProviderEmbeddingsOptions {
  /** Embedding model, e.g. `text-embedding-3-small`. */
  model: string;
  /** Requested vector size, for models that can shorten their output. */
  dimensions?: number;
}

/**
 * Embeddings from any provider plugin that offers them (`embed()`), e.g. an OpenAI-compatible
 * `/v1/embeddings` through `@bulwark/provider-openai`.
 */
export function createProviderEmbeddings(
  provider: ProviderV1,
  options: ProviderEmbeddingsOptions,
): EmbeddingFunction {
  const embed = provider.embed?.bind(provider);
  if (!embed) {
    throw new ConfigError({
      path: 'embeddings.provider',
      message: `provider "${provider.name}" does not offer embeddings (it has no embed())`,
    });
  }
  if (typeof options.model !== 'string' || options.model === '') {
    throw new ConfigError({
      path: 'embeddings.model',
      message: 'embeddings.model must name an embedding model',
    });
  }
  return async (texts, context) => {
    const request: Parameters<typeof embed>[0] = { model: options.model, input: texts };
    if (options.dimensions !== undefined) request.dimensions = options.dimensions;
    const response = await embed(request, context);
    return response.embeddings;
  };
}
