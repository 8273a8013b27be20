import { readFileSync } from 'node:fs';
import { ConfigError, createBulwark, type MiddlewareV1 } from '@bulwark/core';
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

describe('tokenEstimator in the plugin configs', () => {
  it('usage and budget plugins take tokenEstimator: o200k and count with it', async () => {
    const { createEventBus, silentLogger, systemClock, validateConfig } = await import('@bulwark/core');
    const { budgetConfigSchema, budgetPlugin, usageConfigSchema, usagePlugin } = await import('./plugin.js');
    const context = {
      name: 'usage',
      path: 'usage',
      clock: systemClock,
      logger: silentLogger,
      events: createEventBus(),
      create: () => Promise.reject(new Error('not used')),
    };
    const chinese = readFileSync(
      new URL('../../core/src/tokens/calibration-samples/chinese.txt', import.meta.url),
      'utf8',
    );
    const prompt = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: chinese }] };
    const exactInput = estimateRequestTokens(prompt, await loadO200kTokenEstimator());
    // The fast estimate of this text is above the exact count: a budget counting fast would refuse.
    expect(estimateRequestTokens(prompt)).toBeGreaterThan(exactInput + 1);
    const usageConfig = await validateConfig(usageConfigSchema, { tokenEstimator: 'o200k' }, 'usage');
    expect(await usagePlugin.create(usageConfig, context)).toMatchObject({ name: 'usage' });
    // A ceiling just above the exact prompt's price admits the call only when the budget counts exactly.
    const budgetConfig = await validateConfig(
      budgetConfigSchema,
      {
        tokenEstimator: 'o200k',
        prices: { 'gpt-4o': { input: 1, output: 0 } },
        includeDefaultPrices: false,
        maxRequestCostUsd: (exactInput + 1) / 1e6,
        defaultMaxTokens: 1,
      },
      'budget',
    );
    const budget = await budgetPlugin.create(budgetConfig, context);
    const bulwark = createBulwark({
      providers: { mock: createMockProvider({ name: 'mock' }) },
      models: { 'gpt-4o': { targets: [{ provider: 'mock', model: 'gpt-4o' }] } },
      middleware: [budget as MiddlewareV1],
    });
    await expect(bulwark.chat({ ...prompt, maxTokens: 1 })).resolves.toMatchObject({ provider: 'mock' });
    await expect(validateConfig(usageConfigSchema, { tokenEstimator: 'exact' }, 'usage')).rejects.toThrow(
      /usage\.tokenEstimator/,
    );
  });
});
