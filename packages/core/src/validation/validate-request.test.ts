import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../errors/errors.js';
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
