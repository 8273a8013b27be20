import { describe, expect, it } from 'vitest';
import { ServerError } from '../errors/errors.js';
import type { MiddlewareV1 } from '../middleware/middleware.js';
import type { EmbeddingRequestV1, ProviderV1 } from '../provider.js';
import { createBulwark } from './create-bulwark.js';

function embedder(
  name: string,
  dimensions: number,
  script: Array<'fail' | 'ok'> = [],
): ProviderV1 & { calls: EmbeddingRequestV1[] } {
  const calls: EmbeddingRequestV1[] = [];
  return {
    specificationVersion: 'v1',
    name,
    system: 'test',
    calls,
    capabilities: { streaming: false, tools: false, vision: false, jsonMode: false, embeddings: true },
    async complete() {
      throw new Error('not a chat provider');
    },
    // biome-ignore lint/correctness/useYield: an embedding-only provider never streams
    async *stream() {
      throw new Error('not a chat provider');
    },
    async embed(request) {
      calls.push(request);
      if (script[calls.length - 1] === 'fail') throw new ServerError({ status: 503, message: `${name} 503` });
      const size = request.dimensions ?? dimensions;
      return {
        model: request.model,
        embeddings: request.input.map((text, index) =>
          Array.from({ length: size }, (_, at) => text.length + index + at),
        ),
        usage: { inputTokens: request.input.length * 2 },
      };
    },
  };
}

const chatOnly: ProviderV1 = {
  specificationVersion: 'v1',
  name: 'chat',
  system: 'test',
  capabilities: { streaming: true, tools: true, vision: false, jsonMode: true },
  async complete(request) {
    return {
      id: 'c',
      provider: 'chat',
      model: request.model,
      text: 'hi',
      toolCalls: [],
      finishReason: 'stop',
      attempts: [],
    };
  },
  async *stream() {
    yield { type: 'finish', finishReason: 'stop' };
  },
};

describe('createBulwark().embed', () => {
  it('embeds every input with the target model and reports usage and attempts', async () => {
    const primary = embedder('primary', 3);
    const bulwark = createBulwark({
      providers: [primary],
      models: { vectors: [{ provider: 'primary', model: 'embed-small' }] },
    });
    const result = await bulwark.embed({ model: 'vectors', input: ['a', 'bb'] });
    expect(primary.calls).toEqual([{ model: 'embed-small', input: ['a', 'bb'] }]);
    expect(result).toMatchObject({
      provider: 'primary',
      model: 'embed-small',
      dimensions: 3,
      embeddings: [
        [1, 2, 3],
        [3, 4, 5],
      ],
      usage: { inputTokens: 4, outputTokens: 0, totalTokens: 4 },
    });
    expect(result.attempts).toHaveLength(1);
  });

  it('falls back to the next target on a 503 and passes dimensions through', async () => {
    const primary = embedder('primary', 4, ['fail']);
    const backup = embedder('backup', 4);
    const bulwark = createBulwark({
      providers: [primary, backup],
      models: {
        vectors: [
          { provider: 'primary', model: 'a' },
          { provider: 'backup', model: 'b' },
        ],
      },
    });
    const result = await bulwark.embed({ model: 'vectors', input: ['x'], dimensions: 2 });
    expect(result.provider).toBe('backup');
    expect(result.dimensions).toBe(2);
    expect(backup.calls[0]).toEqual({ model: 'b', input: ['x'], dimensions: 2 });
    expect(result.attempts.map((attempt) => [attempt.provider, attempt.error])).toEqual([
      ['primary', 'server_error'],
      ['backup', undefined],
    ]);
  });

  it('never mixes dimensions: a fallback answering another length fails', async () => {
    const primary = embedder('primary', 3, ['ok', 'fail']);
    const backup = embedder('backup', 5);
    const bulwark = createBulwark({
      providers: [primary, backup],
      models: {
        vectors: [
          { provider: 'primary', model: 'a' },
          { provider: 'backup', model: 'b' },
        ],
      },
    });
    expect((await bulwark.embed({ model: 'vectors', input: ['x'] })).dimensions).toBe(3);
    const error = await bulwark.embed({ model: 'vectors', input: ['x'] }).catch((thrown: unknown) => thrown);
    // The primary failed with a 503; the backup answered 5-dimension vectors, which fail too.
    expect(error).toMatchObject({ code: 'server_error' });
    const attempts = (error as { attempts: Array<{ provider: string; error?: string }> }).attempts;
    expect(attempts.map((attempt) => [attempt.provider, attempt.error])).toEqual([
      ['primary', 'server_error'],
      ['backup', 'invalid_response'],
    ]);
  });

  it('answers InvalidRequestError naming the model when no target can embed', async () => {
    const bulwark = createBulwark({
      providers: [chatOnly],
      models: { talk: [{ provider: 'chat', model: 'm' }] },
    });
    await expect(bulwark.embed({ model: 'talk', input: ['x'] })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'model',
      message: expect.stringContaining('model "talk" has no target that can embed'),
    });
    await expect(bulwark.embed({ model: 'talk', input: [] })).rejects.toMatchObject({ field: 'input' });
    await expect(bulwark.embed({ model: 'talk', input: ['x'], dimensions: 0 })).rejects.toMatchObject({
      field: 'dimensions',
    });
  });

  it('runs through call-level middleware as a deterministic chat-shaped call with one message per input', async () => {
    const seen: unknown[] = [];
    const spy: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'spy',
      stage: 'observe',
      async complete(request, context, next) {
        seen.push({
          messages: request.messages.length,
          temperature: request.temperature,
          embedding: context.embedding?.model,
        });
        return next(request, context);
      },
    };
    const bulwark = createBulwark({
      providers: [embedder('primary', 2)],
      models: { v: [{ provider: 'primary', model: 'e' }] },
      middleware: [spy],
    });
    await bulwark.embed({ model: 'v', input: ['a', 'b', 'c'] });
    expect(seen).toEqual([{ messages: 3, temperature: 0, embedding: 'v' }]);
  });
});
