import { type ChatRequest, InvalidRequestError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { type OpenAIMappingOptions, toOpenAIChatBody } from './request-mapping.js';

const options: OpenAIMappingOptions = {
  name: 'openai',
  maxTokensField: 'max_tokens',
  forwardMetadata: false,
  includeUsage: true,
};

function invalidField(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(InvalidRequestError.isInstance(error)).toBe(true);
    return (error as InvalidRequestError).field;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('toOpenAIChatBody', () => {
  it('maps system, multi-part user content, images, assistant tool calls and tool results', () => {
    const request: ChatRequest = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
        {
          role: 'user',
          name: 'ada',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image', url: 'https://example.com/cat.png', detail: 'low' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me ' },
            { type: 'text', text: 'look.' },
          ],
          toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"cat"}' }],
        },
        { role: 'tool', toolCallId: 'call_1', content: 'a cat' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'call_2', name: 'lookup', arguments: '{}' }] },
        { role: 'tool', toolCallId: 'call_2', content: [{ type: 'text', text: 'nothing' }] },
      ],
    };
    const body = toOpenAIChatBody(request, options, false);
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
      {
        role: 'user',
        name: 'ada',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'nothing' }] },
    ]);
    expect(body).not.toHaveProperty('stream');
  });

  it('maps tools, tool choice, sampling, stop, seed and parallel tool calls', () => {
    const body = toOpenAIChatBody(
      {
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [
          {
            name: 'get_weather',
            description: 'Weather by city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            strict: true,
          },
        ],
        toolChoice: { type: 'tool', name: 'get_weather' },
        parallelToolCalls: false,
        temperature: 0.2,
        topP: 0.9,
        maxTokens: 64,
        stop: ['END'],
        seed: 7,
      },
      options,
      false,
    );
    expect(body).toMatchObject({
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather by city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            strict: true,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ['END'],
      seed: 7,
    });
    const named = toOpenAIChatBody(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        maxTokens: 10,
        toolChoice: 'required',
        tools: [],
      },
      { ...options, maxTokensField: 'max_completion_tokens' },
      false,
    );
    expect(named.max_completion_tokens).toBe(10);
    expect(named).not.toHaveProperty('max_tokens');
    expect(named.tool_choice).toBe('required');
  });

  it('maps the response formats', () => {
    const base = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };
    expect(
      toOpenAIChatBody({ ...base, responseFormat: { type: 'json' } }, options, false).response_format,
    ).toEqual({
      type: 'json_object',
    });
    expect(
      toOpenAIChatBody({ ...base, responseFormat: { type: 'text' } }, options, false).response_format,
    ).toEqual({
      type: 'text',
    });
    expect(
      toOpenAIChatBody(
        {
          ...base,
          responseFormat: {
            type: 'json_schema',
            name: 'answer',
            description: 'The answer',
            strict: true,
            schema: { type: 'object', properties: { n: { type: 'number' } } },
          },
        },
        options,
        false,
      ).response_format,
    ).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        description: 'The answer',
        strict: true,
        schema: { type: 'object', properties: { n: { type: 'number' } } },
      },
    });
  });

  it('asks for usage when streaming and lets the escape hatch add fields but not switch streaming', () => {
    const request: ChatRequest = {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      metadata: { team: 'a' },
      providerOptions: {
        openai: { logprobs: true, stream: false },
        main: { user: 'u-1' },
        other: { nope: 1 },
      },
    };
    const streamed = toOpenAIChatBody(request, { ...options, name: 'main' }, true);
    expect(streamed).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
      user: 'u-1',
    });
    expect(streamed).not.toHaveProperty('nope');
    expect(streamed).not.toHaveProperty('metadata');
    const plain = toOpenAIChatBody(
      { ...request, providerOptions: { openai: { stream: true } } },
      { ...options, forwardMetadata: true, includeUsage: false },
      false,
    );
    expect(plain).not.toHaveProperty('stream');
    expect(plain.metadata).toEqual({ team: 'a' });
    const noUsage = toOpenAIChatBody(request, { ...options, includeUsage: false }, true);
    expect(noUsage).not.toHaveProperty('stream_options');
  });

  it('rejects bad input with the field named, before anything is sent', () => {
    expect(
      invalidField(() =>
        toOpenAIChatBody(
          // @ts-expect-error an unknown content part type
          { model: 'm', messages: [{ role: 'user', content: [{ type: 'audio', data: 'x' }] }] },
          options,
          false,
        ),
      ),
    ).toBe('messages[0].content[0].type');
    expect(
      invalidField(() =>
        toOpenAIChatBody(
          {
            model: 'm',
            messages: [{ role: 'user', content: 'x' }],
            tools: [{ name: 'f', parameters: { type: 'object', properties: { a: { type: 'strnig' } } } }],
          },
          options,
          false,
        ),
      ),
    ).toBe('tools[0].parameters.properties.a.type');
    expect(invalidField(() => toOpenAIChatBody({ model: '', messages: [] }, options, false))).toBe('model');
    expect(
      invalidField(() =>
        toOpenAIChatBody(
          { model: 'm', messages: [{ role: 'user', content: 'x' }], providerOptions: { openai: 3 as never } },
          options,
          false,
        ),
      ),
    ).toBe('providerOptions.openai');
  });
});
