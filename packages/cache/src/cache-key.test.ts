import type { ChatRequest, WireRequestV1 } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { computeCacheKey } from './cache-key.js';

const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'hi' }] };
const wire = (body: Record<string, unknown>, headers: Record<string, string> = {}): WireRequestV1 => ({
  format: 'anthropic-messages',
  body: { model: 'smart', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], ...body },
  headers,
});

describe('cache keys of passthrough calls', () => {
  it('hash the whole body as sent, invented fields included, whatever the key order', () => {
    const plain = computeCacheKey(request, {}, wire({}));
    expect(computeCacheKey(request, {}, wire({ invented: 1 }))).not.toBe(plain);
    const reordered: WireRequestV1 = {
      format: 'anthropic-messages',
      body: { messages: [{ content: 'hi', role: 'user' }], max_tokens: 5, model: 'other-name' },
      headers: {},
    };
    expect(computeCacheKey(request, {}, reordered)).toBe(plain);
    expect(plain).not.toBe(computeCacheKey(request));
    expect(computeCacheKey(request, {}, { ...wire({}), format: 'openai-chat' })).not.toBe(plain);
  });

  it('follow the headers that change the answer and ignore the others', () => {
    const plain = computeCacheKey(request, {}, wire({}));
    expect(computeCacheKey(request, {}, wire({}, { 'anthropic-beta': 'x' }))).not.toBe(plain);
    expect(computeCacheKey(request, {}, wire({}, { 'user-agent': 'sdk/1' }))).toBe(plain);
    expect(computeCacheKey({ ...request, model: 'fast' }, {}, wire({}))).not.toBe(plain);
  });
});
