import { readFileSync } from 'node:fs';
import { countRequestTokens, estimateTextTokens } from '@bulwark/core';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateTokens, requestCounterFor, textTokens } from './token-estimator.js';

const sample = (name: string) =>
  readFileSync(new URL(`../../core/src/tokens/calibration-samples/${name}`, import.meta.url), 'utf8');

describe('the limiter counts with the project estimator', () => {
  it('is core’s count, so the limiter and the budget agree', () => {
    const request = { model: 'm', messages: [{ role: 'user' as const, content: sample('chinese.txt') }] };
    expect(estimateTokens(request)).toBe(countRequestTokens(request));
    expect(textTokens('日本語のテキスト')).toBe(estimateTextTokens('日本語のテキスト'));
  });

  // Before: one token per CJK character here, chars/4 in usage — 4× apart. Now both within ±25 % of o200k.
  for (const name of ['chinese.txt', 'japanese.txt', 'english.txt', 'code.txt', 'base64.txt']) {
    it(`charges ${name} within ±25 % of o200k`, () => {
      const text = sample(name);
      const ratio = textTokens(text) / encode(text).length;
      expect(ratio).toBeGreaterThanOrEqual(0.75);
      expect(ratio).toBeLessThanOrEqual(1.25);
    });
  }

  it('takes an exact estimator', () => {
    const count = requestCounterFor({
      specificationVersion: 'v1',
      name: 'o200k',
      exact: true,
      countText: (text) => encode(text).length,
    });
    const text = sample('japanese.txt');
    expect(count({ model: 'm', messages: [{ role: 'user', content: text }] })).toBe(encode(text).length + 6);
  });
});
