import { InvalidResponseError, StreamAccumulator, type StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { mapFinishReason, mapUsage, OpenAIChunkMapper, parseOpenAIChatResponse } from './response-mapping.js';

const meta = { provider: 'openai', model: 'gpt-4o-mini' };

describe('parseOpenAIChatResponse', () => {
  it('maps text, tool calls, finish reason, usage with cached tokens, rate limit and request id', () => {
    const body = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Calling.',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
        prompt_tokens_details: { cached_tokens: 8 },
      },
    };
    const response = parseOpenAIChatResponse(JSON.stringify(body), {
      ...meta,
      rateLimit: { remainingRequests: 3 },
      requestId: 'req_1',
    });
    expect(response).toEqual({
      id: 'chatcmpl-1',
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      text: 'Calling.',
      toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 12, outputTokens: 5, totalTokens: 17, cachedInputTokens: 8 },
      attempts: [],
      rateLimit: { remainingRequests: 3 },
      requestId: 'req_1',
    });
  });

  it('gives empty text for a null content and the refusal when there is one', () => {
    const withNull = parseOpenAIChatResponse(
      JSON.stringify({
        id: 'a',
        model: 'm',
        choices: [{ message: { content: null }, finish_reason: 'stop' }],
      }),
      meta,
    );
    expect(withNull.text).toBe('');
    const refused = parseOpenAIChatResponse(
      JSON.stringify({
        id: 'a',
        choices: [{ message: { content: null, refusal: 'I cannot.' }, finish_reason: 'stop' }],
      }),
      meta,
    );
    expect(refused.text).toBe('');
    expect(refused.refusal).toBe('I cannot.');
    expect(refused.model).toBe('gpt-4o-mini');
  });

  it('turns a body that is not JSON or has no choices into InvalidResponseError with the redacted raw body', () => {
    const cases = [
      '<html>bad gateway sk-proj-abcdefghijklmnop</html>',
      '{"object":"chat.completion"}',
      '{"choices":[{}]}',
    ];
    for (const text of cases) {
      let caught: unknown;
      try {
        parseOpenAIChatResponse(text, { ...meta, status: 200 });
      } catch (error) {
        caught = error;
      }
      expect(InvalidResponseError.isInstance(caught)).toBe(true);
      const error = caught as InvalidResponseError;
      expect(error.retryable).toBe(true);
      expect(error.status).toBe(200);
      expect(error.rawBody).toBeDefined();
      expect(error.rawBody).not.toContain('sk-proj-abcdefghijklmnop');
    }
  });
});

it('maps a 200 that carries an error object as its type says', () => {
  let caught: unknown;
  try {
    parseOpenAIChatResponse(
      JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_exceeded' } }),
      meta,
    );
  } catch (error) {
    caught = error;
  }
  expect(caught).toMatchObject({ code: 'rate_limited', provider: 'openai', status: 429 });
});

describe('mapFinishReason and mapUsage', () => {
  it('maps every finish reason', () => {
    expect(mapFinishReason('stop')).toBe('stop');
    expect(mapFinishReason('length')).toBe('length');
    expect(mapFinishReason('tool_calls')).toBe('tool_calls');
    expect(mapFinishReason('function_call')).toBe('tool_calls');
    expect(mapFinishReason('content_filter')).toBe('content_filter');
    expect(mapFinishReason('something_new')).toBe('other');
    expect(mapFinishReason(null)).toBe('other');
  });
  it('computes the total when absent and keeps no cached count when absent', () => {
    expect(mapUsage({ prompt_tokens: 3, completion_tokens: 4 })).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 7,
    });
    expect(mapUsage(null)).toBeUndefined();
  });
});

describe('OpenAIChunkMapper', () => {
  it('emits start, text and tool-call deltas by index, then usage and finish at the end', () => {
    const mapper = new OpenAIChunkMapper({ ...meta, rateLimit: { remainingTokens: 9 }, requestId: 'req_9' });
    const events: StreamEvent[] = [];
    const chunks = [
      {
        id: 'c1',
        model: 'gpt-4o-mini-x',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' } }],
      },
      { id: 'c1', choices: [{ delta: { content: 'Hel' } }] },
      { id: 'c1', choices: [{ delta: { content: 'lo' } }] },
      {
        id: 'c1',
        choices: [
          {
            delta: {
              tool_calls: [
                { index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } },
                { index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"x"' } },
              ],
            },
          },
        ],
      },
      { id: 'c1', choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{}' } }] } }] },
      { id: 'c1', choices: [{ delta: { tool_calls: [{ index: 1, function: { arguments: ':1}' } }] } }] },
      { id: 'c1', choices: [{ delta: {}, finish_reason: 'tool_calls' }] },
      { id: 'c1', choices: [], usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } },
    ];
    for (const chunk of chunks) mapper.map(chunk, events);
    expect(mapper.finished).toBe(true);
    mapper.end(events);
    expect(events[0]).toEqual({
      type: 'start',
      id: 'c1',
      provider: 'openai',
      model: 'gpt-4o-mini-x',
      rateLimit: { remainingTokens: 9 },
      requestId: 'req_9',
    });
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 5, outputTokens: 6, totalTokens: 11 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    const accumulator = new StreamAccumulator();
    for (const event of events) accumulator.add(event);
    const response = accumulator.toResponse();
    expect(response.text).toBe('Hello');
    expect(response.toolCalls).toEqual([
      { id: 'call_a', name: 'a', arguments: '{}' },
      { id: 'call_b', name: 'b', arguments: '{"x":1}' },
    ]);
  });

  it('numbers whole tool calls that come without an index by position', () => {
    const mapper = new OpenAIChunkMapper(meta);
    const events: StreamEvent[] = [];
    mapper.map(
      {
        id: 'x',
        choices: [
          {
            delta: {
              tool_calls: [
                { id: 'c0', function: { name: 'f', arguments: '{}' } },
                { id: 'c1', function: { name: 'g', arguments: '{}' } },
              ],
            },
            finish_reason: 'tool_calls',
          },
        ],
      },
      events,
    );
    expect(events.filter((event) => event.type === 'tool-call-delta').map((event) => event.index)).toEqual([
      0, 1,
    ]);
  });

  it('is not finished before a finish reason arrives', () => {
    const mapper = new OpenAIChunkMapper(meta);
    const events: StreamEvent[] = [];
    mapper.map({ id: 'x', choices: [{ delta: { content: 'a' } }] }, events);
    expect(mapper.finished).toBe(false);
  });
});
