import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeUpstream } from './fake-upstream.js';
import type { FakeUpstream } from './types.js';

let upstream: FakeUpstream;
beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const body = {
  systemInstruction: { parts: [{ text: 'Be brief.' }] },
  contents: [{ role: 'user', parts: [{ text: 'hello gemini' }] }],
  generationConfig: { maxOutputTokens: 64 },
};

const post = (path: string, payload: unknown = body) =>
  fetch(`${upstream.googleBaseURL}/models/gemini-2.5-flash:${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'test-key' },
    body: JSON.stringify(payload),
  });

const sseChunks = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\r\n\r\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => JSON.parse(frame.slice(6)) as Record<string, unknown>);

describe('fake upstream: Gemini generateContent', () => {
  it('answers generateContent with candidates, finish reason and usage metadata', async () => {
    upstream.enqueue({ kind: 'reply', usage: { inputTokens: 12, outputTokens: 4, cachedInputTokens: 2 } });
    const response = await post('generateContent');
    expect(response.status).toBe(200);
    const json = (await response.json()) as {
      candidates: Array<{ content: { parts: Array<{ text: string }>; role: string }; finishReason: string }>;
      usageMetadata: Record<string, number>;
      modelVersion: string;
    };
    expect(json.candidates[0]?.content).toEqual({ parts: [{ text: 'echo: hello gemini' }], role: 'model' });
    expect(json.candidates[0]?.finishReason).toBe('STOP');
    expect(json.usageMetadata).toMatchObject({
      promptTokenCount: 12,
      candidatesTokenCount: 4,
      totalTokenCount: 16,
      cachedContentTokenCount: 2,
    });
    expect(json.modelVersion).toBe('gemini-2.5-flash');
    const recorded = upstream.requests[0];
    expect(recorded?.format).toBe('google');
    expect(response.headers.get('x-goog-request-id')).toBe(recorded?.id);
  });

  it('streams streamGenerateContent?alt=sse in chunks that join to the answer, usage on the last', async () => {
    const response = await post('streamGenerateContent?alt=sse', {
      contents: [{ role: 'user', parts: [{ text: 'three little words' }] }],
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const chunks = sseChunks(await response.text());
    expect(chunks.length).toBeGreaterThan(2);
    const candidates = chunks.map(
      (chunk) =>
        (
          chunk.candidates as Array<{ content: { parts: Array<{ text?: string }> }; finishReason?: string }>
        )[0],
    );
    expect(candidates.map((candidate) => candidate?.content.parts[0]?.text).join('')).toBe(
      'echo: three little words',
    );
    expect(candidates.at(-1)?.finishReason).toBe('STOP');
    expect(candidates.slice(0, -1).every((candidate) => candidate?.finishReason === undefined)).toBe(true);
    expect(
      (chunks.at(-1)?.usageMetadata as Record<string, number> | undefined)?.candidatesTokenCount,
    ).toBeGreaterThan(0);
  });

  it('answers tool calls as functionCall parts and echoes a functionResponse', async () => {
    upstream.enqueue({ kind: 'reply', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const first = (await (await post('generateContent')).json()) as {
      candidates: Array<{ content: { parts: unknown[] } }>;
    };
    expect(first.candidates[0]?.content.parts).toEqual([
      { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
    ]);
    const second = (await (
      await post('generateContent', {
        contents: [
          { role: 'user', parts: [{ text: 'weather?' }] },
          { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
          {
            role: 'user',
            parts: [
              {
                functionResponse: {
                  name: 'get_weather',
                  response: { name: 'get_weather', content: 'sunny' },
                },
              },
            ],
          },
        ],
      })
    ).json()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> };
    expect(second.candidates[0]?.content.parts[0]?.text).toBe('echo: sunny');
  });

  it('answers errors in the Google shape, and 400 for a body without contents', async () => {
    upstream.enqueue({ kind: 'status', status: 503 });
    const unavailable = await post('generateContent');
    expect(unavailable.status).toBe(503);
    expect(await unavailable.json()).toEqual({
      error: {
        code: 503,
        message: 'The model is overloaded. Please try again later.',
        status: 'UNAVAILABLE',
      },
    });
    const invalid = await post('generateContent', { contents: [] });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { status: string } }).error.status).toBe('INVALID_ARGUMENT');
  });

  it('refuses with RESOURCE_EXHAUSTED and retry-after when the rate limit is spent; sends no rate-limit headers', async () => {
    upstream.setRateLimit({ rpm: 1 });
    const first = await post('generateContent');
    const names: string[] = [];
    first.headers.forEach((_value, name) => {
      names.push(name);
    });
    expect(names.some((name) => name.includes('ratelimit'))).toBe(false);
    const refused = await post('generateContent');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { status: string } }).error.status).toBe('RESOURCE_EXHAUSTED');
  });

  it('sends an error chunk after some output for stream-error, and cuts the socket for cut', async () => {
    upstream.enqueue({ kind: 'stream-error', afterChunks: 2 });
    const chunks = sseChunks(
      await (
        await post('streamGenerateContent?alt=sse', {
          contents: [{ role: 'user', parts: [{ text: 'a b c d e' }] }],
        })
      ).text(),
    );
    expect(chunks).toHaveLength(3);
    expect(chunks.at(-1)).toEqual({ error: { code: 503, message: 'Overloaded', status: 'UNAVAILABLE' } });
    upstream.enqueue({ kind: 'cut', afterChunks: 2 });
    const cut = await post('streamGenerateContent?alt=sse', {
      contents: [{ role: 'user', parts: [{ text: 'a b c d e' }] }],
    });
    await expect(cut.text()).rejects.toThrow();
  });

  it('answers malformed JSON for malformed', async () => {
    upstream.enqueue({ kind: 'malformed' });
    const text = await (await post('generateContent')).text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toContain('candidates');
  });
});
