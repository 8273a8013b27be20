import {
  ConfigError,
  createEventBus,
  createVirtualClock,
  type PluginContext,
  silentLogger,
  systemClock,
  validateConfig,
} from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { windowAt } from './budget-window.js';
import { usageConfigSchema, usagePlugin } from './plugin.js';
import { costOf, createPriceTable, defaultPrices, pricesAsOf } from './price-table.js';
import { createMemorySpendStore } from './spend-store.js';
import { estimateRequestTokens, estimateTokens, estimateUsage } from './token-estimate.js';
import type { UsageTracker } from './usage-tracker.js';

describe('createPriceTable', () => {
  it('is dated and covers the common OpenAI and Anthropic models', () => {
    expect(pricesAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'o3', 'claude-sonnet-4', 'claude-3-5-haiku']) {
      expect(defaultPrices[model], model).toBeDefined();
    }
  });

  it('finds dated model versions and provider-specific overrides, and nothing fuzzy', () => {
    const prices = createPriceTable({ prices: { 'azure/gpt-4o': { input: 5, output: 15 } } });
    expect(prices.priceOf('openai', 'gpt-4o-2024-08-06')).toBe(defaultPrices['gpt-4o']);
    expect(prices.priceOf('claude', 'claude-sonnet-4-20250514')).toBe(defaultPrices['claude-sonnet-4']);
    expect(prices.priceOf('claude', 'claude-3-5-haiku-latest')).toBe(defaultPrices['claude-3-5-haiku']);
    expect(prices.priceOf('azure', 'gpt-4o')).toEqual({ input: 5, output: 15 });
    expect(prices.priceOf('azure', 'gpt-4o-2024-08-06')).toEqual({ input: 5, output: 15 });
    expect(prices.priceOf('openai', 'gpt-4o-audio-preview')).toBeUndefined();
    expect(prices.priceOf(undefined, 'my-finetune')).toBeUndefined();
  });

  it('can start empty', () => {
    const prices = createPriceTable({ includeDefaults: false, prices: { only: { input: 1, output: 1 } } });
    expect(prices.models).toEqual(['only']);
    expect(prices.priceOf(undefined, 'gpt-4o')).toBeUndefined();
  });

  it('charges cached reads and cache writes at their own prices', () => {
    const price = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 };
    const usage = {
      inputTokens: 2000,
      cachedInputTokens: 1000,
      cacheWriteTokens: 500,
      outputTokens: 100,
      totalTokens: 2100,
    };
    expect(costOf(usage, price)).toBe(0.005175);
    // Without cache prices, cached tokens cost the input price.
    expect(costOf(usage, { input: 3, output: 15 })).toBe(0.0075);
    expect(costOf(undefined, price)).toBeUndefined();
    expect(costOf(usage, undefined)).toBeUndefined();
  });

  it('rejects a bad price, naming it', () => {
    expect(() => createPriceTable({ prices: { broken: { input: -1, output: 1 } } })).toThrow(ConfigError);
    expect(() => createPriceTable({ prices: { broken: { input: 1, output: Number.NaN } } })).toThrow(
      /prices\.broken\.output/,
    );
  });
});

describe('token estimates', () => {
  it('counts with the fast per-script estimate plus the chat framing and images', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcde')).toBe(2);
    expect(
      estimateRequestTokens({
        model: 'm',
        messages: [
          { role: 'system', content: 'x'.repeat(40) },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'y'.repeat(20) },
              { type: 'image', url: 'https://example.com/a.png' },
            ],
          },
        ],
      }),
    ).toBe(3 + 2 * 3 + 10 + 5 + 765);
    expect(
      estimateUsage({ model: 'm', messages: [{ role: 'user', content: 'abcd' }] }, 'x'.repeat(9)),
    ).toEqual({
      inputTokens: 7,
      outputTokens: 3,
      totalTokens: 10,
      estimated: true,
    });
    expect(estimateTokens('速率限制器在每次调用之前预留令牌')).toBe(12);
    const unit = {
      specificationVersion: 'v1' as const,
      name: 'unit',
      exact: true,
      countText: (text: string) => text.length,
    };
    expect(estimateTokens('abcde', unit)).toBe(5);
    expect(estimateUsage({ model: 'm', messages: [{ role: 'user', content: 'abcd' }] }, 'xyz', unit)).toEqual(
      {
        inputTokens: 3 + 3 + 4,
        outputTokens: 3,
        totalTokens: 13,
        estimated: true,
      },
    );
  });
});

describe('windowAt', () => {
  it('cuts UTC days and months', () => {
    expect(windowAt(Date.UTC(2025, 0, 31, 23, 59), 'day')).toEqual({
      id: '2025-01-31',
      endsAt: Date.UTC(2025, 1, 1),
    });
    expect(windowAt(Date.UTC(2025, 11, 31, 12), 'month')).toEqual({
      id: '2025-12',
      endsAt: Date.UTC(2026, 0, 1),
    });
  });
});

describe('createMemorySpendStore', () => {
  it('reserves all or nothing and forgets counters after their TTL', async () => {
    const clock = createVirtualClock(0);
    const store = createMemorySpendStore({ clock });
    expect(await store.reserve([{ key: 'a', amount: 6, limit: 10, ttlMs: 1000 }])).toEqual({
      ok: true,
      before: [0],
    });
    expect(
      await store.reserve([
        { key: 'b', amount: 1, ttlMs: 1000 },
        { key: 'a', amount: 5, limit: 10, ttlMs: 1000 },
      ]),
    ).toEqual({ ok: false, before: [0, 6], refused: 1 });
    expect(await store.read(['a', 'b'])).toEqual([6, 0]);
    await clock.advance(1000);
    expect(await store.read(['a'])).toEqual([0]);
  });
});

describe('usage plugin', () => {
  it('validates its config and creates a tracker with the configured prices', async () => {
    const config = await validateConfig(
      usageConfigSchema,
      { prices: { 'in-house': { input: 1, output: 2 } }, includeDefaultPrices: false },
      'usage',
    );
    const context: PluginContext = {
      name: 'usage',
      path: 'usage',
      clock: systemClock,
      logger: silentLogger,
      events: createEventBus(),
      create: () => Promise.reject(new Error('not used')),
    };
    const tracker = (await usagePlugin.create(config, context)) as UsageTracker;
    expect(tracker.stage).toBe('observe');
    expect(tracker.prices.models).toEqual(['in-house']);
    await expect(
      validateConfig(usageConfigSchema, { prices: { x: { input: 'cheap' } } }, 'usage'),
    ).rejects.toThrow(/usage\.prices\.x\.input/);
  });
});
