import type { CallContext, EmbeddingRequest, EmbeddingResponse } from '@bulwark/core';
import { estimateTokens, hashText } from './mock-answer.js';
import type { MockRuntime } from './mock-runtime.js';
import { createSeededRandom } from './seeded-random.js';

/** Unit vectors seeded by each input's hash: the same text always embeds the same. */
export function embedMock(
  runtime: MockRuntime,
  request: EmbeddingRequest,
  context: CallContext,
): Promise<EmbeddingResponse> {
  return runtime.runOnce('embed', request, context, (behavior) => {
    if (behavior.error !== undefined) throw runtime.fail(behavior, request.model, behavior.error);
    const size = request.dimensions ?? runtime.dimensions;
    const embeddings = request.input.map((text) => {
      const next = createSeededRandom(hashText(text));
      const vector = Array.from({ length: size }, () => next() * 2 - 1);
      const norm = Math.hypot(...vector) || 1;
      return vector.map((value) => value / norm);
    });
    const inputTokens = request.input.reduce((sum, text) => sum + estimateTokens(text), 0);
    return { model: request.model, embeddings, usage: { inputTokens } };
  });
}
