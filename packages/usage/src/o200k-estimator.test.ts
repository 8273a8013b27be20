import { readFileSync } from 'node:fs';
import { ConfigError, createBulwark } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { createBudget } from './budget.js';
import { loadO200kTokenEstimator } from './o200k-estimator.js';
import { estimateRequestTokens } from './token-estimate.js';

const japanese = readFileSync(
  new URL('../../core/src/tokens/calibration-samples/japanese.txt', import.meta.url),
  'utf8',
);

describe('loadO200kTokenEstimator', () => {
  it('counts exactly what o200k counts, special-token text included', async () => {
    const estimator = await loadO200kTokenEstimator();
    expect(estimator).toMatchObject({ specificationVersion: 'v1', name: 'o200k', exact: true });
    expect(estimator.countText('')).toBe(0);
    expect(estimator.countText(japanese)).toBe(encode(japanese).length);
    expect(estimator.countText('a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('names the package to install when the tokenizer is missing', async () => {
    const missing = loadO200kTokenEstimator({
      importer: () => Promise.reject(new Error("Cannot find package 'gpt-tokenizer'")),
    });
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(missing).rejects.toThrow(/npm install gpt-tokenizer/);
  });

  it('sizes budget reservations when plugged into the budget', async () => {
    const estimator = await loadO200kTokenEstimator();
    const request = {
      model: 'gpt-4o',
      maxTokens: 10,
      messages: [{ role: 'user' as const, content: japanese }],
    };
    const exactInput = estimateRequestTokens(request, estimator);
    expect(exactInput).toBe(encode(japanese).length + 6);
    // A ceiling just above the exact worst case admits the call; just below refuses it.
    const priced = { prices: { prices: { 'gpt-4o': { input: 1, output: 1 } } } };
    const worst = ((exactInput + 10) * 1) / 1e6;
    const admit = createBudget({ ...priced, tokenEstimator: estimator, maxRequestCostUsd: worst * 1.001 });
    const refuse = createBudget({ ...priced, tokenEstimator: estimator, maxRequestCostUsd: worst * 0.999 });
    const providers = { mock: createMockProvider({ name: 'mock' }) };
    const models = { 'gpt-4o': { targets: [{ provider: 'mock', model: 'gpt-4o' }] } };
    await expect(
      createBulwark({ providers, models, middleware: [admit] }).chat(request),
    ).resolves.toMatchObject({
      provider: 'mock',
    });
    await expect(
      createBulwark({ providers, models, middleware: [refuse] }).chat(request),
    ).rejects.toMatchObject({
      code: 'budget_exceeded',
    });
  });
});
