import { type ChatRequest, InvalidRequestError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { type AnthropicMappingOptions, jsonInstruction, toAnthropicBody } from './request-mapping.js';

const options: AnthropicMappingOptions = { name: 'anthropic', defaultMaxTokens: 4096 };
const hello = [{ role: 'user' as const, content: 'hi' }];

function invalidField(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(InvalidRequestError.isInstance(error)).toBe(true);
    return (error as InvalidRequestError).field;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('toAnthropicBody', () => {
  it('moves system messages to the system prompt, maps images, tool use and tool results, merges turns', () => {
    const request: ChatRequest = {
      model: 'claude-sonnet-4-20250514',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look:' },
            { type: 'image', url: 'https://example.com/a.png' },
            { type: 'image', url: 'data:image/jpeg;base64,/9j/4AAQ' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          toolCalls: [
            { id: 'toolu_1', name: 'lookup', arguments: '{"q":"a"}' },
            { id: 'toolu_2', name: 'time', arguments: '' },
          ],
        },
        { role: 'tool', toolCallId: 'toolu_1', content: 'found' },
        { role: 'tool', toolCallId: 'toolu_2', content: [{ type: 'text', text: 'boom' }], isError: true },
        { role: 'system', content: [{ type: 'text', text: 'Use metric units.' }] },
        { role: 'user', content: 'And?' },
      ],
    };
    const body = toAnthropicBody(request, options, false);
    expect(body.system).toEqual([
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'Use metric units.' },
    ]);
    expect(body.max_tokens).toBe(4096);
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look:' },
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'a' } },
          { type: 'tool_use', id: 'toolu_2', name: 'time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'found' },
          {
            type: 'tool_result',
            tool_use_id: 'toolu_2',
            content: [{ type: 'text', text: 'boom' }],
            is_error: true,
          },
          { type: 'text', text: 'And?' },
        ],
      },
    ]);
    expect(body).not.toHaveProperty('stream');
  });

  it('maps tools, tool choice, parallel tool calls, sampling, stop sequences and metadata user id', () => {
    const tools = [
      { name: 'f', description: 'does f', parameters: { type: 'object', properties: {} }, strict: true },
    ];
    const body = toAnthropicBody(
      {
        model: 'm',
        messages: hello,
        tools,
        toolChoice: 'required',
        parallelToolCalls: false,
        temperature: 0.5,
        topP: 0.8,
        maxTokens: 100,
        stop: ['###'],
        seed: 3,
        metadata: { user_id: 'u-7', team: 'x' },
      },
      options,
      true,
    );
    expect(body).toEqual({
      model: 'm',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      tools: [
        { name: 'f', description: 'does f', input_schema: { type: 'object', properties: {} }, strict: true },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      temperature: 0.5,
      top_p: 0.8,
      stop_sequences: ['###'],
      metadata: { user_id: 'u-7' },
      stream: true,
    });
    const base = { model: 'm', messages: hello, tools };
    expect(toAnthropicBody({ ...base, toolChoice: 'none' }, options, false).tool_choice).toEqual({
      type: 'none',
    });
    expect(toAnthropicBody({ ...base, toolChoice: 'auto' }, options, false).tool_choice).toEqual({
      type: 'auto',
    });
    expect(
      toAnthropicBody({ ...base, toolChoice: { type: 'tool', name: 'f' } }, options, false).tool_choice,
    ).toEqual({
      type: 'tool',
      name: 'f',
    });
    expect(toAnthropicBody({ ...base, parallelToolCalls: false }, options, false).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(toAnthropicBody(base, options, false)).not.toHaveProperty('tool_choice');
  });

  it('maps JSON schema output natively and plain JSON mode as a system instruction', () => {
    const schema = {
      type: 'object',
      properties: { n: { type: 'number' } },
      required: ['n'],
      additionalProperties: false,
    };
    const structured = toAnthropicBody(
      { model: 'm', messages: hello, responseFormat: { type: 'json_schema', name: 'answer', schema } },
      options,
      false,
    );
    expect(structured.output_config).toEqual({ format: { type: 'json_schema', schema } });
    const json = toAnthropicBody(
      {
        model: 'm',
        messages: [{ role: 'system', content: 'Be nice.' }, ...hello],
        responseFormat: { type: 'json' },
      },
      options,
      false,
    );
    expect(json.system).toEqual([
      { type: 'text', text: 'Be nice.' },
      { type: 'text', text: jsonInstruction },
    ]);
  });

  it('merges the escape hatch last without letting it switch streaming', () => {
    const body = toAnthropicBody(
      {
        model: 'm',
        messages: hello,
        providerOptions: {
          anthropic: { thinking: { type: 'enabled', budget_tokens: 1024 }, stream: true },
          claude: { top_k: 5 },
        },
      },
      { ...options, name: 'claude' },
      false,
    );
    expect(body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, top_k: 5 });
    expect(body).not.toHaveProperty('stream');
  });

  it('rejects bad input with the field named, before anything is sent', () => {
    expect(
      invalidField(() =>
        toAnthropicBody(
          // An unknown content part type, as untyped callers can send.
          { model: 'm', messages: [{ role: 'user', content: [{ type: 'video', url: 'x' } as never] }] },
          options,
          false,
        ),
      ),
    ).toBe('messages[0].content[0].type');
    expect(
      invalidField(() =>
        toAnthropicBody(
          {
            model: 'm',
            messages: hello,
            tools: [{ name: 'f', parameters: { type: 'object', required: 'a' } }],
          },
          options,
          false,
        ),
      ),
    ).toBe('tools[0].parameters.required');
    expect(
      invalidField(() =>
        toAnthropicBody(
          { model: 'm', messages: hello, tools: [{ name: 'f', parameters: { type: 'string' } }] },
          options,
          false,
        ),
      ),
    ).toBe('tools[0].parameters.type');
    expect(
      invalidField(() => toAnthropicBody({ model: 'm', messages: hello, temperature: 1.5 }, options, false)),
    ).toBe('temperature');
    expect(
      invalidField(() =>
        toAnthropicBody(
          {
            model: 'm',
            messages: [{ role: 'user', content: [{ type: 'image', data: 'AAAA', mediaType: 'image/bmp' }] }],
          },
          options,
          false,
        ),
      ),
    ).toBe('messages[0].content[0].mediaType');
    expect(
      invalidField(() =>
        toAnthropicBody(
          {
            model: 'm',
            messages: [{ role: 'user', content: [{ type: 'image', url: 'data:image/png,notbase64' }] }],
          },
          options,
          false,
        ),
      ),
    ).toBe('messages[0].content[0].url');
    expect(
      invalidField(() =>
        toAnthropicBody(
          {
            model: 'm',
            messages: [
              ...hello,
              { role: 'assistant', content: null, toolCalls: [{ id: 't', name: 'f', arguments: '{oops' }] },
            ],
          },
          options,
          false,
        ),
      ),
    ).toBe('messages[1].toolCalls[0].arguments');
    expect(
      invalidField(() =>
        toAnthropicBody({ model: 'm', messages: [{ role: 'system', content: 'x' }] }, options, false),
      ),
    ).toBe('messages');
  });
});
