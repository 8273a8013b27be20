import type { WireFrame, WireRequestV1, WireResponseV1 } from '@bulwark/core';
import { createFakeUpstream, createTestCallContext, type FakeUpstream } from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from './openai-provider.js';

const apiKey = 'sk-test-passthrough-0123456789';
let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await createFakeUpstream({ apiKey });
});
afterEach(async () => {
  await upstream.close();
});

const provider = () => createOpenAIProvider({ name: 'main', apiKey, baseURL: upstream.openaiBaseURL });
const body = {
  model: 'smart',
  messages: [{ role: 'user', content: 'hi' }],
  max_completion_tokens: 9,
  invented_field: { nested: [1, 'two'] },
};
const wire = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): WireRequestV1 => ({
  format: 'openai-chat',
  body: { ...body, ...extra },
  headers,
});

async function frames(answer: WireResponseV1): Promise<WireFrame[]> {
  if (answer.kind !== 'stream') throw new Error('expected a stream');
  const out: WireFrame[] = [];
  for await (const frame of answer.frames) out.push(frame);
  return out;
}

const chunk = (fields: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-x', ...fields })}\n\n`;

describe('OpenAI same-format passthrough', () => {
  it('is offered unless switched off', () => {
    expect(provider().passthrough?.format).toBe('openai-chat');
    expect(createOpenAIProvider({ apiKey, passthrough: false }).passthrough).toBeUndefined();
  });

  it('sends the caller body with only model replaced and its own key, and returns the body as sent', async () => {
    const answer =
      '{"id":"chatcmpl-9","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"Yo","refusal":null},"finish_reason":"stop","logprobs":{"content":[]}}],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6},"new_top_level":1}';
    upstream.enqueue({ kind: 'raw', body: answer, headers: { 'x-request-id': 'req_up_1' } });
    const result = await provider().passthrough!.call(
      wire({}, { 'openai-beta': 'x', 'x-custom': 'kept' }),
      'gpt-x',
      createTestCallContext(),
    );
    const received = upstream.requests[0]!;
    expect(received.body).toEqual({ ...body, model: 'gpt-x' });
    expect(received.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(received.headers['x-custom']).toBe('kept');
    expect(result).toMatchObject({
      kind: 'json',
      body: answer,
      status: 200,
      headers: { 'x-request-id': 'req_up_1' },
      requestId: 'req_up_1',
      facts: {
        id: 'chatcmpl-9',
        model: 'gpt-x',
        text: 'Yo',
        finishReason: 'stop',
        usage: { inputTokens: 4, outputTokens: 2, totalTokens: 6 },
      },
    });
  });

  it('asks for usage when the caller did not, and hides the usage chunk and the usage nulls', async () => {
    const sent = [
      chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], usage: null }),
      chunk({ choices: [{ index: 0, delta: { content: 'Hi' }, logprobs: { content: [] } }], usage: null }),
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      chunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
      'data: [DONE]\n\n',
    ];
    upstream.enqueue({ kind: 'raw', frames: sent });
    const result = await frames(
      await provider().passthrough!.call(wire({ stream: true }), 'gpt-x', createTestCallContext()),
    );
    expect(upstream.requests[0]!.body).toEqual({
      ...body,
      model: 'gpt-x',
      stream: true,
      stream_options: { include_usage: true },
    });
    const strip = (frame: string) => frame.replace(',"usage":null', '');
    expect(result.map((frame) => frame.data)).toEqual([
      strip(sent[0]!),
      strip(sent[1]!),
      strip(sent[2]!),
      '',
      sent[4],
    ]);
    expect(result[1]!.facts).toMatchObject({ content: true, text: 'Hi' });
    expect(result[0]!.facts?.content).toBeUndefined();
    expect(result[3]!.facts?.usage).toEqual({ inputTokens: 3, outputTokens: 1, totalTokens: 4 });
  });

  it('shows the usage chunk to a caller that asked for it', async () => {
    const sent = [
      chunk({ choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null }),
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      chunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
      'data: [DONE]\n\n',
    ];
    upstream.enqueue({ kind: 'raw', frames: sent });
    const asked = wire({ stream: true, stream_options: { include_usage: true } });
    const result = await frames(await provider().passthrough!.call(asked, 'gpt-x', createTestCallContext()));
    expect(upstream.requests[0]!.body).toEqual({ ...asked.body, model: 'gpt-x' });
    expect(result.map((frame) => frame.data)).toEqual(sent);
  });

  it('maps an error answer like complete does, and a stream cut before it finished to a connection error', async () => {
    upstream.enqueue({ kind: 'status', status: 503 });
    await expect(
      provider().passthrough!.call(wire(), 'gpt-x', createTestCallContext()),
    ).rejects.toMatchObject({ code: 'server_error', status: 503, retryable: true });
    upstream.enqueue({
      kind: 'raw',
      frames: [chunk({ choices: [{ index: 0, delta: { content: 'Hi' } }] })],
      cutAfterFrames: 1,
    });
    const answer = await provider().passthrough!.call(
      wire({ stream: true }),
      'gpt-x',
      createTestCallContext(),
    );
    await expect(frames(answer)).rejects.toMatchObject({ code: 'connection_error' });
  });
});
