import { collectStream, createBulwark } from '@bulwark/core';
import { createFakeUpstream, createTestCallContext, type FakeUpstream } from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from './openai-provider.js';

const apiKey = 'sk-test-responses-0123456789';
let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await createFakeUpstream({ apiKey });
});
afterEach(() => upstream.close());

const provider = (options: Parameters<typeof createOpenAIProvider>[0] = {}) =>
  createOpenAIProvider({ name: 'openai', apiKey, baseURL: upstream.openaiBaseURL, ...options });

describe("api: 'responses'", () => {
  it('calls POST /v1/responses with the mapped request and maps the answer back', async () => {
    const answer = await provider({ api: 'responses' }).complete(
      {
        model: 'gpt-5',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello' },
        ],
        maxTokens: 40,
        reasoning: { effort: 'low' },
        responseFormat: { type: 'json_schema', name: 'answer', schema: { type: 'object' } },
      },
      createTestCallContext(),
    );
    expect(answer).toMatchObject({ provider: 'openai', text: 'echo: hello', finishReason: 'stop' });
    expect(answer.id).toMatch(/^resp_/);
    expect(answer.usage?.inputTokens).toBeGreaterThan(0);
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toMatchObject({
      model: 'gpt-5',
      instructions: 'be brief',
      input: [{ role: 'user', content: 'hello' }],
      max_output_tokens: 40,
      reasoning: { effort: 'low' },
      text: { format: { type: 'json_schema', name: 'answer' } },
      store: false,
    });
  });

  it('streams text and function calls, with usage and finish', async () => {
    upstream.enqueue({ kind: 'reply', toolCalls: [{ name: 'lookup', arguments: '{"q":"x"}' }] });
    const response = await collectStream(
      provider({ api: 'responses' }).stream(
        {
          model: 'gpt-5',
          messages: [{ role: 'user', content: 'use it' }],
          tools: [{ name: 'lookup', parameters: { type: 'object' } }],
        },
        createTestCallContext({ stream: true }),
      ),
    );
    expect(response.toolCalls).toEqual([expect.objectContaining({ name: 'lookup', arguments: '{"q":"x"}' })]);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.usage?.outputTokens).toBeGreaterThan(0);
  });

  it('routes only the listed Responses-only models there, and maps failures to Bulwark errors', async () => {
    const openai = provider({ responsesModels: ['o3-pro'] });
    const bulwark = createBulwark({ providers: [openai] });
    await bulwark.chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a' }] });
    await bulwark.chat({ model: 'o3-pro', messages: [{ role: 'user', content: 'b' }] });
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/v1/chat/completions',
      '/v1/responses',
    ]);
    upstream.enqueue({ kind: 'status', status: 503 });
    await expect(
      bulwark.chat({ model: 'o3-pro', messages: [{ role: 'user', content: 'c' }] }),
    ).rejects.toMatchObject({
      code: 'server_error',
      status: 503,
    });
    // A cut before any text is a connection failure (retryable); after text, the stream is interrupted.
    upstream.enqueue({ kind: 'cut', afterChunks: 4 });
    await expect(
      collectStream(bulwark.stream({ model: 'o3-pro', messages: [{ role: 'user', content: 'cut me' }] })),
    ).rejects.toMatchObject({ code: 'connection_error' });
    upstream.enqueue({ kind: 'cut', afterChunks: 6 });
    await expect(
      collectStream(
        bulwark.stream({ model: 'o3-pro', messages: [{ role: 'user', content: 'cut me please now' }] }),
      ),
    ).rejects.toMatchObject({ code: 'stream_interrupted' });
  });
});

describe('responses passthrough', () => {
  it("is offered on OpenAI's own endpoint by default, not for another baseURL unless responses: true", () => {
    const formats = (options: Parameters<typeof createOpenAIProvider>[0]) =>
      (createOpenAIProvider({ apiKey, ...options }).passthroughs ?? []).map(
        (passthrough) => passthrough.format,
      );
    expect(formats({})).toEqual(['openai-responses']);
    expect(formats({ baseURL: 'https://api.openai.com/v1' })).toEqual(['openai-responses']);
    expect(formats({ baseURL: upstream.openaiBaseURL })).toEqual([]);
    expect(formats({ baseURL: upstream.openaiBaseURL, responses: true })).toEqual(['openai-responses']);
    expect(formats({ responses: true, passthrough: false })).toEqual([]);
  });
});
