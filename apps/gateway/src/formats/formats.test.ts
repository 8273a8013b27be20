import { InvalidRequestError, type StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { anthropicFormat, parseAnthropicRequest } from './anthropic-format.js';
import { openAIFormat, parseOpenAIRequest } from './openai-format.js';

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (InvalidRequestError.isInstance(error)) return error.field;
    throw error;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('OpenAI request parsing', () => {
  it('maps every supported field to the normalized request', () => {
    const { request, stream, includeUsage } = parseOpenAIRequest({
      model: 'smart',
      messages: [
        { role: 'developer', content: 'be brief' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'done' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      max_completion_tokens: 20,
      stop: 'END',
      response_format: { type: 'json_object' },
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
      frequency_penalty: 0.5,
    });
    expect(stream).toBe(true);
    expect(includeUsage).toBe(true);
    expect(request.messages[0]).toEqual({ role: 'system', content: 'be brief' });
    expect(request.messages[1]).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'look' },
        { type: 'image', data: 'AAAA', mediaType: 'image/png', detail: 'low' },
      ],
    });
    expect(request.messages[2]).toEqual({
      role: 'assistant',
      content: null,
      toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }],
    });
    expect(request.messages[3]).toEqual({ role: 'tool', toolCallId: 'c1', content: 'done' });
    expect(request).toMatchObject({
      maxTokens: 20,
      stop: ['END'],
      toolChoice: { type: 'tool', name: 'f' },
      responseFormat: { type: 'json' },
    });
    expect(request.logprobs).toBe(true);
    expect(request.providerOptions).toEqual({ openai: { frequency_penalty: 0.5 } });
  });

  it('names nested fields in their wire spelling', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    expect(fieldOf(() => parseOpenAIRequest({ ...base, temperature: 9 }))).toBe('temperature');
    expect(fieldOf(() => parseOpenAIRequest({ ...base, top_p: 2 }))).toBe('top_p');
    expect(
      fieldOf(() =>
        parseOpenAIRequest({
          model: 'm',
          messages: [
            { role: 'user', content: 'x' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: '', function: { name: 'f', arguments: '{}' } }],
            },
          ],
        }),
      ),
    ).toBe('messages[1].tool_calls[0].id');
    expect(fieldOf(() => parseOpenAIRequest({ ...base, n: 3 }))).toBe('n');
    expect(fieldOf(() => parseOpenAIRequest({ model: 'm', messages: [] }))).toBe('messages');
  });
});

describe('Anthropic request parsing', () => {
  it('splits tool results into tool messages and keeps the system prompt first', () => {
    const { request } = parseAnthropicRequest({
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: 'sys' }],
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'checking' },
            { type: 'tool_use', id: 't1', name: 'w', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: 'rain', is_error: false },
            { type: 'text', text: 'and?' },
          ],
        },
      ],
      tools: [{ name: 'w', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      top_k: 5,
    });
    expect(request.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'user',
    ]);
    expect(request.messages[2]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'checking' }],
      toolCalls: [{ id: 't1', name: 'w', arguments: '{"city":"Oslo"}' }],
    });
    expect(request.messages[3]).toEqual({ role: 'tool', toolCallId: 't1', content: 'rain' });
    expect(request).toMatchObject({
      toolChoice: 'required',
      parallelToolCalls: false,
      maxTokens: 10,
      providerOptions: { anthropic: { top_k: 5 } },
    });
  });

  it('names the wire field of a bad block', () => {
    expect(
      fieldOf(() =>
        parseAnthropicRequest({
          model: 'm',
          max_tokens: 5,
          messages: [{ role: 'user', content: [{ type: 'audio' }] }],
        }),
      ),
    ).toBe('messages[0].content[0].type');
    expect(
      fieldOf(() =>
        parseAnthropicRequest({ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }),
      ),
    ).toBe('max_tokens');
    expect(
      fieldOf(() =>
        parseAnthropicRequest({
          model: 'm',
          max_tokens: 5,
          temperature: 3,
          messages: [{ role: 'user', content: 'x' }],
        }),
      ),
    ).toBe('temperature');
  });
});

describe('stream encoders', () => {
  const events: StreamEvent[] = [
    { type: 'start', id: 'abc', provider: 'p', model: 'gpt-4o' },
    { type: 'text-delta', text: 'Hi' },
    { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', argumentsDelta: '{"a"' },
    { type: 'tool-call-delta', index: 0, argumentsDelta: ':1}' },
    { type: 'usage', usage: { inputTokens: 12, outputTokens: 3, cachedInputTokens: 2, totalTokens: 15 } },
    { type: 'finish', finishReason: 'tool_calls' },
  ];

  it('writes Chat Completions chunks, the usage chunk and [DONE]', () => {
    const encoder = openAIFormat.streamEncoder({
      request: { model: 'm', messages: [] },
      stream: true,
      includeUsage: true,
    });
    const text = events.map((event) => encoder.encode(event)).join('') + encoder.end();
    const chunks = text
      .trim()
      .split('\n\n')
      .map((line) => line.slice('data: '.length));
    expect(chunks.at(-1)).toBe('[DONE]');
    const parsed = chunks.slice(0, -1).map((chunk) => JSON.parse(chunk));
    expect(parsed[1].choices[0].delta).toEqual({ content: 'Hi' });
    expect(parsed[2].choices[0].delta.tool_calls[0]).toEqual({
      index: 0,
      id: 'call_1',
      type: 'function',
      function: { name: 'f', arguments: '{"a"' },
    });
    expect(parsed[4].choices[0].finish_reason).toBe('tool_calls');
    expect(parsed[5]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } },
    });
  });

  it('writes Messages events with blocks opened and closed in order', () => {
    const encoder = anthropicFormat.streamEncoder({
      request: { model: 'm', messages: [] },
      stream: true,
      includeUsage: true,
    });
    const text = events.map((event) => encoder.encode(event)).join('') + encoder.end();
    const names = [...text.matchAll(/^event: (\S+)$/gm)].map((match) => match[1]);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toContain('"stop_reason":"tool_use"');
    expect(text).toContain(
      '"input_tokens":10,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":2',
    );
  });
});
