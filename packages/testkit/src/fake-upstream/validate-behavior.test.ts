import { ConfigError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { createFakeUpstream } from './fake-upstream.js';
import type { FakeBehavior } from './types.js';

describe('fake upstream input validation', () => {
  it('names the field of an invalid behavior', async () => {
    const upstream = await createFakeUpstream();
    try {
      const invalid: Array<[unknown, string]> = [
        [{ kind: 'explode' }, 'behaviors[0].kind'],
        [{ kind: 'status', status: 42 }, 'behaviors[0].status'],
        [{ kind: 'cut', afterChunks: -1 }, 'behaviors[0].afterChunks'],
        // biome-ignore lint/suspicious/noThenProperty: `then` of a delay behavior is an object, never a thenable.
        [{ kind: 'delay', ms: 5, then: { kind: 'stall' } }, 'behaviors[0].then.afterChunks'],
        [{ kind: 'reply', toolCalls: [{ arguments: '{}' }] }, 'behaviors[0].toolCalls[0].name'],
        [
          { kind: 'reply', usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 2 } },
          'behaviors[0].usage.cachedInputTokens',
        ],
      ];
      for (const [behavior, path] of invalid) {
        const error = (() => {
          try {
            upstream.enqueue(behavior as FakeBehavior);
          } catch (caught) {
            return caught;
          }
          return undefined;
        })();
        expect(ConfigError.isInstance(error), `${path} rejected`).toBe(true);
        expect((error as ConfigError).path).toBe(path);
      }
      expect(() => upstream.setRateLimit({ rpm: 0 })).toThrow(/rateLimit\.rpm/);
      // Nothing invalid was queued: the next request gets the default reply.
      const response = await fetch(`${upstream.openaiBaseURL}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'ok' }] }),
      });
      expect(response.status).toBe(200);
    } finally {
      await upstream.close();
    }
  });

  it('rejects invalid options before listening', async () => {
    await expect(createFakeUpstream({ port: 70_000 })).rejects.toThrow(/port/);
    await expect(createFakeUpstream({ rateLimit: { tpm: -5 } })).rejects.toThrow(/rateLimit\.tpm/);
    await expect(
      createFakeUpstream({ defaultBehavior: { kind: 'nope' } as unknown as FakeBehavior }),
    ).rejects.toThrow(/defaultBehavior\.kind/);
  });

  it('answers 401 without the configured key and 404 for unknown paths', async () => {
    const upstream = await createFakeUpstream({ apiKey: 'sk-right' });
    try {
      const body = JSON.stringify({ model: 'm', messages: [] });
      const wrong = await fetch(`${upstream.openaiBaseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-wrong' },
        body,
      });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
      const right = await fetch(`${upstream.anthropicBaseURL}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'sk-right', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
      expect(right.status).toBe(200);
      const unknown = await fetch(`${upstream.url}/v2/nothing`, {
        headers: { authorization: 'Bearer sk-right' },
      });
      expect(unknown.status).toBe(404);
      expect(upstream.requests.map((request) => request.format)).toEqual(['openai', 'anthropic', 'openai']);
    } finally {
      await upstream.close();
    }
  });
});
