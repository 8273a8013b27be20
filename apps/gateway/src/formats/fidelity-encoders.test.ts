import type { ChatResponse, StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { anthropicFormat, anthropicResponse } from './anthropic-format.js';
import { openAIFormat, openAIResponse } from './openai-format.js';

// biome-ignore lint/suspicious/noExplicitAny: wire JSON read field by field
type Json = Record<string, any>;

const start: StreamEvent = { type: 'start', id: 'x1', provider: 'p', model: 'm' };

function frames(text: string): Array<Json> {
  return text
    .split('\n\n')
    .map((frame) =>
      frame
        .split('\n')
        .find((line) => line.startsWith('data: '))
        ?.slice(6),
    )
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data));
}

function encode(format: typeof openAIFormat, events: StreamEvent[], includeUsage = false): string {
  const encoder = format.streamEncoder({ request: { model: 'm', messages: [] }, stream: true, includeUsage });
  return events.map((event) => encoder.encode(event)).join('') + encoder.end();
}

const base: ChatResponse = {
  id: 'r1',
  provider: 'p',
  model: 'm',
  text: '',
  toolCalls: [],
  finishReason: 'stop',
  attempts: [],
};

describe('OpenAI-format answers of a translated call', () => {
  it('streams refusal, reasoning_content and logprobs in their own delta fields', () => {
    const chunks = frames(
      encode(
        openAIFormat,
        [
          start,
          { type: 'reasoning-delta', text: 'hmm' },
          { type: 'reasoning-delta', signature: 'sig' },
          { type: 'text-delta', text: 'Hi', logprobs: [{ token: 'Hi', logprob: -0.2, bytes: [72, 105] }] },
          { type: 'text-delta', text: 'No.', refusal: true },
          { type: 'usage', usage: { inputTokens: 3, outputTokens: 9, totalTokens: 12, reasoningTokens: 4 } },
          { type: 'finish', finishReason: 'stop' },
        ],
        true,
      ),
    );
    const deltas = chunks.map((chunk) => chunk.choices[0]?.delta);
    expect(deltas).toContainEqual({ reasoning_content: 'hmm' });
    expect(deltas).toContainEqual({
      thinking_blocks: [{ type: 'thinking', thinking: 'hmm', signature: 'sig' }],
    });
    expect(deltas).toContainEqual({ content: 'Hi' });
    expect(deltas).toContainEqual({ refusal: 'No.' });
    expect(chunks.find((chunk) => chunk.choices[0]?.delta.content === 'Hi')!.choices[0].logprobs).toEqual({
      content: [{ token: 'Hi', logprob: -0.2, bytes: [72, 105], top_logprobs: [] }],
      refusal: null,
    });
    expect(chunks.at(-1)!.usage.completion_tokens_details).toEqual({ reasoning_tokens: 4 });
  });

  it('answers a refusal with message.refusal, null content and finish_reason stop', () => {
    const body = openAIResponse({ ...base, refusal: 'No.', finishReason: 'content_filter' }) as Record<
      string,
      // biome-ignore lint/suspicious/noExplicitAny: the test reads an untyped wire body
      any
    >;
    expect(body.choices[0].message).toMatchObject({ content: null, refusal: 'No.' });
    expect(body.choices[0].finish_reason).toBe('stop');
  });
});

describe('Anthropic-format answers of a translated call', () => {
  it('streams thinking blocks with their signature, redacted blocks, and the stop sequence', () => {
    const events = frames(
      encode(anthropicFormat, [
        start,
        { type: 'reasoning-delta', text: 'Plan.' },
        { type: 'reasoning-delta', signature: 'sig==' },
        { type: 'reasoning-delta', redacted: 'opaque' },
        { type: 'text-delta', text: 'Done' },
        { type: 'finish', finishReason: 'stop', stopSequence: '###' },
      ]),
    );
    expect(
      events.filter((event) => event.type === 'content_block_start').map((event) => event.content_block),
    ).toEqual([
      { type: 'thinking', thinking: '', signature: '' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: '' },
    ]);
    expect(
      events.filter((event) => event.type === 'content_block_delta').map((event) => event.delta),
    ).toEqual([
      { type: 'thinking_delta', thinking: 'Plan.' },
      { type: 'signature_delta', signature: 'sig==' },
      { type: 'text_delta', text: 'Done' },
    ]);
    const indexes = events.filter((event) => 'index' in event).map((event) => [event.type, event.index]);
    expect(indexes).toEqual([
      ['content_block_start', 0],
      ['content_block_delta', 0],
      ['content_block_delta', 0],
      ['content_block_stop', 0],
      ['content_block_start', 1],
      ['content_block_stop', 1],
      ['content_block_start', 2],
      ['content_block_delta', 2],
      ['content_block_stop', 2],
    ]);
    expect(events.find((event) => event.type === 'message_delta')!.delta).toEqual({
      stop_reason: 'stop_sequence',
      stop_sequence: '###',
    });
  });

  it('says tool_use when tool calls end with a plain stop, streamed and not', () => {
    const events = frames(
      encode(anthropicFormat, [
        start,
        { type: 'tool-call-delta', index: 0, id: 'c1', name: 'f', argumentsDelta: '{}' },
        { type: 'finish', finishReason: 'stop' },
      ]),
    );
    expect(events.find((event) => event.type === 'message_delta')!.delta.stop_reason).toBe('tool_use');
    const body = anthropicResponse({
      ...base,
      toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }],
    }) as Record<string, unknown>;
    expect(body.stop_reason).toBe('tool_use');
  });

  it('answers a refusal as its text with stop_reason refusal', () => {
    const body = anthropicResponse({ ...base, refusal: 'No.', finishReason: 'content_filter' }) as Record<
      string,
      // biome-ignore lint/suspicious/noExplicitAny: the test reads an untyped wire body
      any
    >;
    expect(body.content).toEqual([{ type: 'text', text: 'No.' }]);
    expect(body.stop_reason).toBe('refusal');
  });
});
