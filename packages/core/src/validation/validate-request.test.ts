import { describe, expect, it } from 'vitest';
import { createBulwark } from '../client/create-bulwark.js';
import { InvalidRequestError } from '../errors/errors.js';
import { createEchoProvider } from '../test-helpers/echo-provider.js';
import type { ChatRequest } from '../types/chat-request.js';
import { validateChatRequest } from './validate-request.js';

const valid: ChatRequest = {
  model: 'm',
  messages: [
    { role: 'system', content: 'Be brief.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is here?' },
        { type: 'image', url: 'https://example.test/a.png' },
      ],
    },
    { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'look', arguments: '{}' }] },
    { role: 'tool', toolCallId: 'c1', content: 'a cat' },
  ],
  tools: [
    {
      name: 'look',
      parameters: { type: 'object', properties: { at: { type: 'string' } }, required: ['at'] },
    },
  ],
  toolChoice: { type: 'tool', name: 'look' },
  temperature: 0.2,
  maxTokens: 100,
  stop: ['END'],
  responseFormat: { type: 'json_schema', name: 'answer', schema: { type: 'object' } },
};

function fieldOf(request: unknown): string | undefined {
  try {
    validateChatRequest(request as ChatRequest);
    return undefined;
  } catch (error) {
    expect(InvalidRequestError.isInstance(error)).toBe(true);
    return (error as InvalidRequestError).field;
  }
}

describe('validateChatRequest', () => {
  it('accepts a full valid request', () => {
    expect(fieldOf(valid)).toBeUndefined();
  });

  it.each([
    ['model', { ...valid, model: '' }],
    ['messages', { ...valid, messages: [] }],
    ['messages[0].role', { ...valid, messages: [{ role: 'robot', content: 'x' }] }],
    ['messages[0].content[0].type', { ...valid, messages: [{ role: 'user', content: [{ type: 'audio' }] }] }],
    ['messages[0].content[0]', { ...valid, messages: [{ role: 'user', content: [{ type: 'image' }] }] }],
    [
      'messages[0].content[0].mediaType',
      { ...valid, messages: [{ role: 'user', content: [{ type: 'image', data: 'AAAA' }] }] },
    ],
    ['messages[0].toolCallId', { ...valid, messages: [{ role: 'tool', content: 'x' }] }],
    ['tools[0].name', { ...valid, tools: [{ name: 'bad name!', parameters: {} }], toolChoice: 'auto' }],
    ['tools[0].parameters.type', { ...valid, tools: [{ name: 'look', parameters: { type: 'obj' } }] }],
    [
      'tools[0].parameters.properties.at.type',
      {
        ...valid,
        tools: [{ name: 'look', parameters: { type: 'object', properties: { at: { type: 7 } } } }],
      },
    ],
    [
      'tools[0].parameters.required',
      { ...valid, tools: [{ name: 'look', parameters: { type: 'object', required: 'at' } }] },
    ],
    ['toolChoice.name', { ...valid, toolChoice: { type: 'tool', name: 'missing' } }],
    ['temperature', { ...valid, temperature: 3 }],
    ['topP', { ...valid, topP: -0.1 }],
    ['maxTokens', { ...valid, maxTokens: 1.5 }],
    ['stop', { ...valid, stop: 'END' }],
    ['responseFormat.type', { ...valid, responseFormat: { type: 'xml' } }],
    ['metadata.user', { ...valid, metadata: { user: 42 } }],
  ])('names %s', (field, request) => {
    expect(fieldOf(request)).toBe(field);
  });
});

const deepArrays = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('validateChatRequest against hostile input', () => {
  it.each([
    [
      'tools[0].parameters.x[0]',
      { ...valid, tools: [{ name: 'look', parameters: { x: deepArrays(5000) } }] },
    ],
    [
      'responseFormat.schema.x[0]',
      { ...valid, responseFormat: { type: 'json_schema', name: 'a', schema: { x: deepArrays(5000) } } },
    ],
    ['messages[1]', { ...valid, messages: [valid.messages[0], deepArrays(5000)] }],
    [
      'providerOptions.openai.extra[0]',
      { ...valid, providerOptions: { openai: { extra: deepArrays(5000) } } },
    ],
    ['metadata.x[0]', { ...valid, metadata: { x: deepArrays(5000) } }],
  ])('names %s when arrays nest 5,000 deep, before anything recurses', (field, request) => {
    expect(fieldOf(request)).toBe(field);
  });

  it('counts providerOptions.<provider> as the top of a wire body', () => {
    const request = { ...valid, providerOptions: { openai: { extra: deepArrays(63) } } };
    expect(fieldOf(request)).toBeUndefined();
    request.providerOptions.openai.extra = deepArrays(64);
    expect(fieldOf(request)).toBe('providerOptions.openai.extra[0]');
  });

  it.each(['gpt-4o\r\nx-injected: 1', 'gpt\u0000', 'a\tb', 'model\u007f', 'model\u0085'])(
    'rejects the model name %j (control characters)',
    (model) => {
      expect(fieldOf({ ...valid, model })).toBe('model');
    },
  );

  it('accepts non-Latin-1 model names (the gateway encodes them in headers)', () => {
    expect(fieldOf({ ...valid, model: 'modèle-日本-🚀' })).toBeUndefined();
  });

  it('makes createBulwark().chat() fail with InvalidRequestError, not RangeError, and call nothing', async () => {
    const provider = createEchoProvider('a');
    const bulwark = createBulwark({ providers: [provider], models: { m: [{ provider: 'a', model: 'm1' }] } });
    const call = bulwark.chat({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'look', parameters: { type: 'object', x: deepArrays(5000) } as never }],
    });
    const error = await call.catch((thrown: unknown) => thrown);
    expect(InvalidRequestError.isInstance(error)).toBe(true);
    expect((error as InvalidRequestError).field).toBe('tools[0].parameters.x[0]');
    expect(provider.calls).toHaveLength(0);
  });
});
