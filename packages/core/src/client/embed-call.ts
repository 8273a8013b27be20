import { InvalidRequestError, InvalidResponseError } from '../errors/errors.js';
import type { CallContext, EmbeddingRequestV1, ProviderV1 } from '../provider.js';
import { fastTokenEstimator } from '../tokens/token-estimator.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { AttemptRecord, CacheStatus, ChatResponse, Usage } from '../types/chat-response.js';

/** What `createBulwark().embed()` answers. */
export interface EmbedResult {
  /** The provider and model that answered. */
  provider: string;
  model: string;
  /** One vector per input, in input order. */
  embeddings: number[][];
  /** The length of every vector. */
  dimensions: number;
  /** Input tokens (`outputTokens` is 0); `estimated` when the provider reported none. */
  usage: Usage;
  /** Every provider call the embedding took (retries and fallbacks). */
  attempts: AttemptRecord[];
  /** Set when a cache middleware answered (`hit`) or stored the answer. */
  cache?: CacheStatus;
  /** USD, when a usage tracker with a price for the model is in the pipeline. */
  costUsd?: number;
}

/** `CallContext.state` key of the vector length every target of an embedding call must answer with. */
export const embeddingDimensionKey = Symbol.for('bulwark.embedding-dimension');

/** The `providerOptions` key under which an embedding call's own options enter the cache key. */
const embeddingOptionsKey = 'bulwark.embedding';

/**
 * The chat-shaped form of an embedding call that the pipeline's middleware read: one user message per
 * input (so the limiter and the budget count each item), `temperature: 0` (embeddings are
 * deterministic, so a configured cache serves them), `maxTokens: 1` (nothing is generated) and the
 * embedding options in `providerOptions`, so the cache keys embeddings apart from chats of the same text.
 */
export function embeddingShadowRequest(request: EmbeddingRequestV1): ChatRequest {
  return {
    model: request.model,
    messages: request.input.map((text) => ({ role: 'user' as const, content: text })),
    temperature: 0,
    maxTokens: 1,
    providerOptions: {
      [embeddingOptionsKey]: {
        operation: 'embed',
        ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
      },
    },
  };
}

/**
 * One embedding attempt against `provider`, as the innermost layer of the pipeline runs it: the
 * provider's `embed` with the target's model, the answer checked (one vector per input, one length,
 * the length the call expects) and wrapped as a `ChatResponse` with `embeddings` so every middleware
 * (retry, breaker, limiter, cache, usage) handles it like a chat answer.
 */
export async function embedAttempt(
  provider: ProviderV1,
  request: ChatRequest,
  context: CallContext & { embedding: EmbeddingRequestV1 },
): Promise<ChatResponse> {
  if (!provider.embed) {
    throw new InvalidRequestError({
      field: 'model',
      message: `Provider "${provider.name}" cannot embed (it has no embed capability)`,
      fallbackable: true,
    });
  }
  const embedding = context.embedding;
  const answer = await provider.embed({ ...embedding, model: request.model }, context);
  const vectors = answer.embeddings;
  const where = `${provider.name}/${request.model}`;
  if (!Array.isArray(vectors) || vectors.length !== embedding.input.length) {
    throw new InvalidResponseError({
      message: `${where} answered ${Array.isArray(vectors) ? vectors.length : 'no'} embeddings for ${embedding.input.length} inputs`,
    });
  }
  const dimensions = vectors[0]?.length ?? 0;
  if (vectors.some((vector) => vector.length !== dimensions)) {
    throw new InvalidResponseError({ message: `${where} answered vectors of different lengths` });
  }
  const expected = (context.state.get(embeddingDimensionKey) as number | undefined) ?? embedding.dimensions;
  if (expected !== undefined && dimensions !== expected) {
    // Another length is never mixed into one index silently; the next target may still answer right.
    throw new InvalidResponseError({
      message: `${where} answered ${dimensions}-dimension embeddings; this call needs ${expected} (targets of one embedding model must share a dimension)`,
      retryable: false,
      fallbackable: true,
    });
  }
  const inputTokens =
    answer.usage?.inputTokens ??
    embedding.input.reduce((sum, text) => sum + fastTokenEstimator.countText(text), 0);
  const usage: Usage = {
    inputTokens,
    outputTokens: 0,
    totalTokens: inputTokens,
    ...(answer.usage ? {} : { estimated: true }),
  };
  return {
    id: `embedding-${context.callId}`,
    provider: provider.name,
    model: answer.model || request.model,
    text: '',
    toolCalls: [],
    finishReason: 'stop',
    usage,
    attempts: [],
    embeddings: vectors,
  };
}
