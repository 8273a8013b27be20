import { describe, expect, it } from 'vitest';
import {
  countRequestTokens,
  estimateTextTokens,
  fastTokenEstimator,
  imageTokens,
  lowDetailImageTokens,
  messageFramingTokens,
  requestFramingTokens,
  type TokenEstimatorV1,
} from './token-estimator.js';

describe('estimateTextTokens', () => {
  it('weighs characters by script', () => {
    expect(estimateTextTokens('')).toBe(0);
    expect(estimateTextTokens('a')).toBe(1);
    expect(estimateTextTokens('abcdefghijklmnopqrstuvwxyz')).toBe(Math.ceil(26 / 4.3));
    expect(estimateTextTokens('日本語')).toBe(Math.ceil(3 * 0.7));
    expect(estimateTextTokens('ひらがな')).toBe(3);
    expect(estimateTextTokens('{};')).toBe(2);
    expect(estimateTextTokens('😀😀')).toBe(2);
  });

  it('counts long runs that mix letters and digits as dense (keys, hashes, base64)', () => {
    const key = 'sk0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e';
    expect(estimateTextTokens(key)).toBe(Math.ceil(key.length / 1.5));
    const word = 'a'.repeat(30);
    expect(estimateTextTokens(word)).toBe(Math.ceil(30 / 4.3));
  });
});

describe('countRequestTokens', () => {
  it('adds framing per message and per request, images, tool calls, tools and the response schema', () => {
    const unit: TokenEstimatorV1 = {
      specificationVersion: 'v1',
      name: 'unit',
      exact: true,
      countText: (t) => t.length,
    };
    expect(countRequestTokens({ messages: [{ role: 'user', content: 'abcd' }] }, unit)).toBe(
      requestFramingTokens + messageFramingTokens + 4,
    );
    const rich = countRequestTokens(
      {
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'abcdefgh' }] },
          {
            role: 'user',
            name: 'ab',
            content: [
              { type: 'image', url: 'https://example.invalid/a.png' },
              { type: 'image', url: 'https://example.invalid/b.png', detail: 'low' },
            ],
          },
          { role: 'assistant', content: null, toolCalls: [{ id: '1', name: 'abcd', arguments: '{}' }] },
          { role: 'tool', toolCallId: '1', content: 'ok' },
        ],
        tools: [{ name: 'abcd', parameters: { type: 'object' } }],
        responseFormat: { type: 'json_schema', name: 's', schema: { type: 'object' } },
      },
      unit,
    );
    expect(rich).toBe(
      requestFramingTokens +
        4 * messageFramingTokens +
        8 +
        (2 + 1 + imageTokens + lowDetailImageTokens) +
        (4 + 2 + 3) +
        2 +
        (4 + 0 + 17) +
        17,
    );
  });

  it('uses the fast estimator by default', () => {
    const request = { messages: [{ role: 'user' as const, content: '速率限制器在每次调用之前预留令牌' }] };
    expect(countRequestTokens(request)).toBe(countRequestTokens(request, fastTokenEstimator));
  });
});
