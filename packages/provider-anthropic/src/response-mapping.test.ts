import { InvalidResponseError, StreamAccumulator, type StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { AnthropicEventMapper, mapStopReason, mapUsage, parseAnthropicMessage } from './response-mapping.js';

const meta = { provider: 'anthropic', model: 'claude-sonnet-4-20250514' };

describe('parseAnthropicMessage', () => {
  it('joins text blocks, turns tool_use input into JSON text and maps usage with cache tokens', () => {
    const body = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-20250514',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 's' },
        { type: 'text', text: 'Let me ' },
        { type: 'text', text: 'check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } },
      ],
      stop_reason: 'tool_use',
      usage: {
        input_tokens: 10,
        output_tokens: 7,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 5,
      },
    };
    expect(
      parseAnthropicMessage(JSON.stringify(body), {
        ...meta,
        requestId: 'req_1',
        rateLimit: { remainingTokens: 1 },
      }),
    ).toEqual({
      id: 'msg_1',
      provider: 'anthropic',
      model: 'claude-sonnet-4-20250514',
      text: 'Let me check.',
      toolCalls: [{ id: 'toolu_1', name: 'lookup', arguments: '{"q":"x"}' }],
      finishReason: 'tool_calls',
      reasoning: [{ type: 'reasoning', text: 'hmm', signature: 's' }],
      usage: {
        inputTokens: 115,
        outputTokens: 7,
        totalTokens: 122,
        cachedInputTokens: 100,
        cacheWriteTokens: 5,
      },
      attempts: [],
      requestId: 'req_1',
      rateLimit: { remainingTokens: 1 },
    });
  });

  it('turns a body that is not JSON or has no content into InvalidResponseError with the redacted raw body', () => {
    for (const text of [
      'not json sk-ant-api03-abcdefghijkl',
      '{"type":"message"}',
      '{"content":[{"type":"text"}]}',
    ]) {
      let caught: unknown;
      try {
        parseAnthropicMessage(text, { ...meta, status: 200 });
      } catch (error) {
        caught = error;
      }
      expect(InvalidResponseError.isInstance(caught)).toBe(true);
      expect((caught as InvalidResponseError).rawBody).toBeDefined();
      expect((caught as InvalidResponseError).rawBody).not.toContain('sk-ant-api03-abcdefghijkl');
    }
  });
});

it('maps a 200 that carries an error object as its type says', () => {
  let caught: unknown;
  try {
    parseAnthropicMessage(
      JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
      meta,
    );
  } catch (error) {
    caught = error;
  }
  expect(caught).toMatchObject({ code: 'overloaded', provider: 'anthropic' });
});

describe('mapStopReason and mapUsage', () => {
  it('maps every stop reason', () => {
    expect(mapStopReason('end_turn')).toBe('stop');
    expect(mapStopReason('stop_sequence')).toBe('stop');
    expect(mapStopReason('max_tokens')).toBe('length');
    expect(mapStopReason('model_context_window_exceeded')).toBe('length');
    expect(mapStopReason('tool_use')).toBe('tool_calls');
    expect(mapStopReason('refusal')).toBe('content_filter');
    expect(mapStopReason('pause_turn')).toBe('other');
    expect(mapStopReason(null)).toBe('other');
  });
  it('leaves cache fields out when not reported', () => {
    expect(mapUsage({ input_tokens: 2, output_tokens: 3 })).toEqual({
      inputTokens: 2,
      outputTokens: 3,
      totalTokens: 5,
    });
  });
});

describe('AnthropicEventMapper', () => {
  it('maps a full stream with text and two tool calls', () => {
    const mapper = new AnthropicEventMapper({ ...meta, requestId: 'req_2' });
    const events: StreamEvent[] = [];
    const wire = [
      {
        type: 'message_start',
        message: {
          id: 'msg_2',
          model: 'claude-x',
          usage: { input_tokens: 20, output_tokens: 1, cache_read_input_tokens: null },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'there' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_a', name: 'a', input: {} },
      },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"x":' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } },
      { type: 'content_block_stop', index: 1 },
      {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_b', name: 'b', input: {} },
      },
      { type: 'content_block_stop', index: 2 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 30 },
      },
      { type: 'message_stop' },
    ];
    for (const event of wire) mapper.map(event, events);
    expect(mapper.finished).toBe(true);
    expect(events[0]).toEqual({
      type: 'start',
      id: 'msg_2',
      provider: 'anthropic',
      model: 'claude-x',
      requestId: 'req_2',
    });
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 20, outputTokens: 30, totalTokens: 50 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    const accumulator = new StreamAccumulator();
    for (const event of events) accumulator.add(event);
    expect(accumulator.text).toBe('Hi there');
    expect(accumulator.toolCalls).toEqual([
      { id: 'toolu_a', name: 'a', arguments: '{"x":1}' },
      { id: 'toolu_b', name: 'b', arguments: '{}' },
    ]);
  });

  it('is not finished without message_stop and reports usage so far', () => {
    const mapper = new AnthropicEventMapper(meta);
    const events: StreamEvent[] = [];
    mapper.map(
      { type: 'message_start', message: { id: 'm', usage: { input_tokens: 4, output_tokens: 1 } } },
      events,
    );
    expect(mapper.finished).toBe(false);
    expect(mapper.reportedUsage).toEqual({ inputTokens: 4, outputTokens: 1, totalTokens: 5 });
  });
});
