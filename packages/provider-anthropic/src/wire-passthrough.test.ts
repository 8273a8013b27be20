import type { WireFrame, WireRequestV1, WireResponseV1 } from '@bulwark/core';
import { createFakeUpstream, createTestCallContext, type FakeUpstream } from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from './anthropic-provider.js';

const apiKey = 'sk-ant-passthrough-0123456789';
let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await createFakeUpstream({ apiKey });
});
afterEach(async () => {
  await upstream.close();
});

const provider = () =>
  createAnthropicProvider({ name: 'claude', apiKey, baseURL: upstream.anthropicBaseURL });
const body = {
  model: 'smart',
  max_tokens: 64,
  system: [{ type: 'text', text: 'Be brief', cache_control: { type: 'ephemeral' } }],
  thinking: { type: 'enabled', budget_tokens: 1024 },
  messages: [{ role: 'user', content: 'hi' }],
  invented_field: true,
};
const wire = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): WireRequestV1 => ({
  format: 'anthropic-messages',
  body: { ...body, ...extra },
  headers,
});
const event = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

async function frames(answer: WireResponseV1): Promise<WireFrame[]> {
  if (answer.kind !== 'stream') throw new Error('expected a stream');
  const out: WireFrame[] = [];
  for await (const frame of answer.frames) out.push(frame);
  return out;
}

const thinkingFrames = [
  event('message_start', {
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [],
      usage: { input_tokens: 12, cache_read_input_tokens: 5, output_tokens: 1 },
    },
  }),
  event('ping', {}),
  event('content_block_start', {
    index: 0,
    content_block: { type: 'thinking', thinking: '', signature: '' },
  }),
  event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Let me see' } }),
  event('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig==' } }),
  event('content_block_stop', { index: 0 }),
  event('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
  event('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hello' } }),
  event('content_block_stop', { index: 1 }),
  event('brand_new_event', { surprise: true }),
  event('message_delta', {
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 7 },
  }),
  event('message_stop', {}),
];

describe('Anthropic same-format passthrough', () => {
  it('is offered unless switched off', () => {
    expect(provider().passthrough?.format).toBe('anthropic-messages');
    expect(createAnthropicProvider({ apiKey, passthrough: false }).passthrough).toBeUndefined();
  });

  it('forwards the body with only model replaced, the caller anthropic-beta and anthropic-version, its own key', async () => {
    const answer =
      '{"id":"msg_9","type":"message","model":"claude-x","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"Yo"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":3,"output_tokens":2}}';
    upstream.enqueue({ kind: 'raw', body: answer, headers: { 'request-id': 'req_ant_1' } });
    const result = await provider().passthrough!.call(
      wire({}, { 'anthropic-beta': 'prompt-caching-2024-07-31', 'anthropic-version': '2099-01-01' }),
      'claude-x',
      createTestCallContext(),
    );
    const received = upstream.requests[0]!;
    expect(received.body).toEqual({ ...body, model: 'claude-x' });
    // @anthropic-ai/sdk 0.x sends the key as x-api-key, 1.x as a bearer token.
    expect(received.headers['x-api-key'] ?? received.headers.authorization?.replace(/^Bearer /, '')).toBe(
      apiKey,
    );
    expect(received.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(received.headers['anthropic-version']).toBe('2099-01-01');
    expect(result).toMatchObject({
      kind: 'json',
      body: answer,
      headers: { 'request-id': 'req_ant_1' },
      facts: { id: 'msg_9', text: 'Yo', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 2 } },
    });
  });

  it('sends the provider default anthropic-version when the caller sent none', async () => {
    upstream.enqueue({ kind: 'raw', body: '{"id":"m","content":[],"stop_reason":"end_turn"}' });
    await provider().passthrough!.call(wire(), 'claude-x', createTestCallContext());
    expect(upstream.requests[0]!.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('relays every frame as sent (thinking with its signature, ping, an unknown event) and taps usage', async () => {
    upstream.enqueue({ kind: 'raw', frames: thinkingFrames });
    const result = await frames(
      await provider().passthrough!.call(wire({ stream: true }), 'claude-x', createTestCallContext()),
    );
    expect(result.map((frame) => frame.data)).toEqual(thinkingFrames);
    expect(result.findIndex((frame) => frame.facts?.content)).toBe(2);
    expect(result.at(-2)!.facts).toMatchObject({
      finishReason: 'stop',
      usage: { inputTokens: 17, cachedInputTokens: 5, outputTokens: 7, totalTokens: 24 },
    });
  });

  it('throws an in-stream error event as the error it names, and a stream without message_stop as a cut', async () => {
    upstream.enqueue({
      kind: 'raw',
      frames: [
        thinkingFrames[0]!,
        event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
      ],
    });
    let answer = await provider().passthrough!.call(
      wire({ stream: true }),
      'claude-x',
      createTestCallContext(),
    );
    await expect(frames(answer)).rejects.toMatchObject({ code: 'overloaded', retryable: true });
    upstream.enqueue({ kind: 'raw', frames: thinkingFrames.slice(0, 8) });
    answer = await provider().passthrough!.call(wire({ stream: true }), 'claude-x', createTestCallContext());
    await expect(frames(answer)).rejects.toMatchObject({
      code: 'connection_error',
      usage: { inputTokens: 17, outputTokens: 1 },
    });
  });
});
