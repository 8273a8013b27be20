import {
  BudgetExceededError,
  type ChatRequest,
  ConfigError,
  collectStream,
  createBulwark,
  createEventBus,
  createPluginRegistry,
  createVirtualClock,
  type MiddlewareV1,
  validateConfig,
} from '@bulwark/core';
import { createMockProvider, type MockProvider } from '@bulwark/provider-mock';
import { createTestCallContext } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { type BudgetOptions, createBudget } from './budget.js';
import type { BudgetExceededEvent } from './events.js';
import { budgetConfigSchema, budgetPlugin } from './plugin.js';
import type { SpendStoreV1 } from './spend-store.js';
import { captureLogger, testCache } from './test-helpers/pipeline.js';
import { estimateRequestTokens } from './token-estimate.js';
import { createUsageTracker } from './usage-tracker.js';

const request: ChatRequest = {
  model: 'metered',
  maxTokens: 100,
  messages: [{ role: 'user', content: 'Summarise the incident report.' }],
};
const inputTokens = estimateRequestTokens({ ...request, model: 'priced-model' });
// $10 per million tokens in and out: a call costs (input + 100) × 10 / 1e6 at worst.
const prices = { prices: { 'priced-model': { input: 10, output: 10 } } };
const perCall = ((inputTokens + 100) * 10) / 1e6;
const exactUsage = { inputTokens, outputTokens: 100, totalTokens: inputTokens + 100 };

function setup(
  budgetOptions: BudgetOptions,
  extra: { middleware?: MiddlewareV1[]; mock?: MockProvider } = {},
) {
  const clock = createVirtualClock(Date.UTC(2025, 0, 15, 22));
  const events = createEventBus();
  const logger = captureLogger();
  const exceeded: BudgetExceededEvent[] = [];
  events.on('budget:exceeded', (event) => exceeded.push(event));
  const mock =
    extra.mock ??
    createMockProvider({ name: 'main', clock, respond: () => ({ text: 'ok', usage: exactUsage }) });
  const budget = createBudget({ prices, ...budgetOptions });
  const bulwark = createBulwark({
    providers: [mock],
    models: {
      metered: [{ provider: 'main', model: 'priced-model' }],
      other: [{ provider: 'main', model: 'priced-model' }],
      unknown: [{ provider: 'main', model: 'mystery-model' }],
    },
    middleware: [...(extra.middleware ?? []), budget],
    clock,
    events,
    logger,
  });
  return { bulwark, budget, mock, clock, exceeded, logger };
}

describe('createBudget', () => {
  it('refuses a call that would exceed a hard tenant budget before any provider call', async () => {
    const { bulwark, mock, exceeded } = setup({
      budgets: [{ scope: 'tenant', window: 'day', limitUsd: perCall * 3 }],
    });
    for (let call = 0; call < 3; call += 1) await bulwark.chat(request, { metadata: { tenant: 'acme' } });
    const error = await bulwark.chat(request, { metadata: { tenant: 'acme' } }).catch((thrown) => thrown);
    expect(BudgetExceededError.isInstance(error)).toBe(true);
    expect(error.budget).toBe('tenant-day');
    expect(error.local).toBe(true);
    expect(error.message).toContain('for tenant "acme"');
    // 22:00 UTC: the day window resets in two hours.
    expect(error.retryAfterMs).toBe(2 * 60 * 60 * 1000);
    expect(mock.callCount).toBe(3);
    expect(exceeded).toEqual([
      expect.objectContaining({
        budget: 'tenant-day',
        scope: 'tenant',
        subject: 'acme',
        mode: 'hard',
        tenant: 'acme',
      }),
    ]);
    // Another tenant has its own allowance.
    await bulwark.chat(request, { metadata: { tenant: 'globex' } });
    expect(mock.callCount).toBe(4);
  });

  it('opens a fresh window at midnight UTC', async () => {
    const { bulwark, clock, budget } = setup({
      budgets: [{ scope: 'global', window: 'day', limitUsd: perCall }],
    });
    await bulwark.chat(request);
    await expect(bulwark.chat(request)).rejects.toMatchObject({ code: 'budget_exceeded' });
    await clock.advance(2 * 60 * 60 * 1000);
    await bulwark.chat(request);
    const [status] = await budget.status();
    expect(status).toMatchObject({ budget: 'global-day', windowId: '2025-01-16', remainingUsd: 0 });
    expect(status!.spentUsd).toBeCloseTo(perCall, 9);
  });

  it('applies model budgets to the alias the caller asked for', async () => {
    const { bulwark } = setup({
      budgets: [{ scope: 'model', match: 'metered', window: 'month', limitUsd: perCall }],
    });
    await bulwark.chat(request);
    await expect(bulwark.chat(request)).rejects.toMatchObject({ budget: 'model-month-metered' });
    await bulwark.chat({ ...request, model: 'other' });
  });

  it('refuses a single call above the per-request ceiling from the estimate plus maxTokens', async () => {
    const { bulwark, mock, exceeded } = setup({ maxRequestCostUsd: perCall * 1.5 });
    await bulwark.chat(request);
    const error = await bulwark.chat({ ...request, maxTokens: 1000 }).catch((thrown) => thrown);
    expect(error).toMatchObject({ code: 'budget_exceeded', budget: 'request' });
    expect(error.message).toContain('per-request ceiling');
    expect(mock.callCount).toBe(1);
    expect(exceeded[0]).toMatchObject({ scope: 'request', mode: 'hard' });
    expect(exceeded[0]!.estimateUsd).toBeCloseTo(((inputTokens + 1000) * 10) / 1e6, 9);
  });

  it('lets calls through a soft budget with an event each time and one log line', async () => {
    const { bulwark, mock, exceeded, logger } = setup({
      budgets: [{ scope: 'global', window: 'month', limitUsd: perCall, mode: 'soft' }],
    });
    for (let call = 0; call < 3; call += 1) await bulwark.chat(request);
    expect(mock.callCount).toBe(3);
    expect(exceeded.map((event) => event.mode)).toEqual(['soft', 'soft']);
    expect(exceeded[1]!.spentUsd).toBeCloseTo(perCall * 2, 9);
    expect(logger.lines.filter((line) => line.message === 'soft budget exceeded')).toHaveLength(1);
  });

  it('settles the reservation to the actual cost', async () => {
    const mock = createMockProvider({
      name: 'main',
      respond: () => ({
        text: 'ok',
        usage: { inputTokens, outputTokens: 10, totalTokens: inputTokens + 10 },
      }),
    });
    const { bulwark, budget } = setup(
      { budgets: [{ scope: 'global', window: 'day', limitUsd: perCall * 2 }] },
      { mock },
    );
    // Each call reserves its worst case (100 output tokens) but costs 10 output tokens: 4 calls fit in 2 reservations' room.
    for (let call = 0; call < 4; call += 1) await bulwark.chat(request);
    const [status] = await budget.status();
    expect(status!.spentUsd).toBeCloseTo((4 * (inputTokens + 10) * 10) / 1e6, 9);
  });

  it('settles a streamed call from its final usage chunk', async () => {
    const { bulwark, budget } = setup({ budgets: [{ scope: 'global', window: 'day', limitUsd: 1 }] });
    await collectStream(bulwark.stream(request));
    const [status] = await budget.status();
    expect(status!.spentUsd).toBeCloseTo(perCall, 9);
  });

  it('settles a stream the consumer stopped early at its estimate', async () => {
    const mock = createMockProvider({
      name: 'main',
      chunkSize: 8,
      respond: () => ({ text: 'w'.repeat(80) }),
    });
    const { bulwark, budget } = setup(
      { budgets: [{ scope: 'global', window: 'day', limitUsd: 1 }] },
      { mock },
    );
    for await (const event of bulwark.stream(request)) if (event.type === 'text-delta') break;
    const [status] = await budget.status();
    // One chunk of 8 characters reached the caller: 2 output tokens, plus the prompt estimate.
    expect(status!.spentUsd).toBeCloseTo(((inputTokens + 2) * 10) / 1e6, 9);
  });

  it('gives back the reservation of a call that failed without billing', async () => {
    const mock = createMockProvider({ name: 'main', script: ['invalid_request'] });
    const { bulwark, budget } = setup(
      { budgets: [{ scope: 'global', window: 'day', limitUsd: 1 }] },
      { mock },
    );
    await expect(bulwark.chat(request)).rejects.toMatchObject({ code: 'invalid_request' });
    const [status] = await budget.status();
    expect(status!.spentUsd).toBe(0);
  });

  it('does not count cache hits', async () => {
    const { bulwark, budget, mock } = setup(
      { budgets: [{ scope: 'global', window: 'day', limitUsd: perCall }] },
      { middleware: [createUsageTracker({ prices }), testCache()] },
    );
    await bulwark.chat(request);
    const hit = await bulwark.chat(request);
    expect(hit.cache).toBe('hit');
    expect(hit.costUsd).toBe(0);
    expect(mock.callCount).toBe(1);
    const [status] = await budget.status();
    expect(status!.spentUsd).toBeCloseTo(perCall, 9);
  });

  it('refuses unpriced models under a hard budget unless told to allow them', async () => {
    const strict = setup({ budgets: [{ scope: 'global', window: 'day', limitUsd: 1 }] });
    const error = await strict.bulwark.chat({ ...request, model: 'unknown' }).catch((thrown) => thrown);
    expect(error).toMatchObject({ code: 'budget_exceeded' });
    expect(error.message).toContain('No price for main/mystery-model');
    const lenient = setup({
      budgets: [{ scope: 'global', window: 'day', limitUsd: 1 }],
      unpricedModels: 'allow',
    });
    await lenient.bulwark.chat({ ...request, model: 'unknown' });
  });

  it('prices the dearest target of the alias, read from the route on the call context', async () => {
    const clock = createVirtualClock(Date.UTC(2025, 0, 15));
    const mock = createMockProvider({
      name: 'main',
      clock,
      respond: () => ({ text: 'ok', usage: exactUsage }),
    });
    const models = {
      mixed: [
        { provider: 'main', model: 'priced-model' },
        { provider: 'main', model: 'dear-model' },
      ],
    };
    const budget = createBudget({
      prices: { prices: { ...prices.prices, 'dear-model': { input: 100, output: 100 } } },
      maxRequestCostUsd: perCall * 2,
    });
    const bulwark = createBulwark({ providers: [mock], models, middleware: [budget], clock });
    await expect(bulwark.chat({ ...request, model: 'mixed' })).rejects.toMatchObject({ budget: 'request' });
    expect(mock.callCount).toBe(0);
  });

  it('prices by targetsOf when a call carries no route (the middleware run outside createBulwark)', async () => {
    const budget = createBudget({
      prices,
      budgets: [{ scope: 'global', window: 'day', limitUsd: 1 }],
      targetsOf: (model) => (model === 'house' ? [{ provider: 'main', model: 'priced-model' }] : undefined),
    });
    const context = createTestCallContext({
      clock: createVirtualClock(Date.UTC(2025, 0, 15)),
      logger: captureLogger(),
    });
    const answer = { text: 'ok', usage: exactUsage, provider: 'main', model: 'priced-model' } as never;
    await expect(budget.complete!({ ...request, model: 'house' }, context, async () => answer)).resolves.toBe(
      answer,
    );
    await expect(
      budget.complete!({ ...request, model: 'elsewhere' }, context, async () => answer),
    ).rejects.toThrow(/No price for elsewhere/);
  });

  it('lets exactly 10 of 100 concurrent calls through a budget for 10 (memory store)', async () => {
    const { bulwark, mock } = setup({
      budgets: [{ scope: 'tenant', window: 'month', limitUsd: perCall * 10 }],
    });
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => bulwark.chat(request, { metadata: { tenant: 'acme' } })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);
    expect(
      results.filter((result) => result.status === 'rejected' && result.reason.code === 'budget_exceeded'),
    ).toHaveLength(90);
    expect(mock.callCount).toBe(10);
  });

  it('lets calls through uncounted when the store fails, or refuses them with onStoreError: deny', async () => {
    const broken: SpendStoreV1 = {
      specificationVersion: 'v1',
      reserve: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390')),
      add: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390')),
      read: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390')),
    };
    const budgets = [{ scope: 'global' as const, window: 'day' as const, limitUsd: 1 }];
    const lenient = setup({ budgets, store: broken });
    await lenient.bulwark.chat(request);
    expect(lenient.mock.callCount).toBe(1);
    expect(lenient.logger.lines).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'budget store failed; the call is not counted' }),
    );
    const strict = setup({ budgets, store: broken, onStoreError: 'deny' });
    await expect(strict.bulwark.chat(request)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(strict.mock.callCount).toBe(0);
  });

  it('validates its options, naming the field', () => {
    expect(() =>
      createBudget({ budgets: [{ scope: 'tenant', window: 'week' as 'day', limitUsd: 1 }] }),
    ).toThrow(/budgets\[0\]\.window/);
    expect(() => createBudget({ budgets: [{ scope: 'global', window: 'day', limitUsd: -1 }] })).toThrow(
      ConfigError,
    );
    expect(() =>
      createBudget({
        budgets: [
          { scope: 'global', window: 'day', limitUsd: 1 },
          { scope: 'global', window: 'day', limitUsd: 2 },
        ],
      }),
    ).toThrow(/budgets\[1\]\.name/);
    expect(() => createBudget({ maxRequestCostUsd: Number.NaN })).toThrow(/maxRequestCostUsd/);
  });

  it('has a plugin descriptor whose schema names bad fields', async () => {
    expect(budgetPlugin).toMatchObject({ kind: 'middleware', name: 'budget', packageName: '@bulwark/usage' });
    await expect(
      validateConfig(budgetConfigSchema, { store: 'redis', url: 'redis://127.0.0.1:6379' }, 'budget'),
    ).rejects.toThrow(/budget\.store: store must be an object.*budget\.url: url moved into the store/);
    await expect(
      createPluginRegistry({ plugins: [budgetPlugin] }).create(
        'middleware',
        'budget',
        { store: { plugin: 'redis', url: 'redis://127.0.0.1:6379' } },
        'budget',
      ),
    ).rejects.toThrow(/No spend-store plugin named "redis".*@bulwark\/redis-stores/);
    await expect(
      validateConfig(
        budgetConfigSchema,
        { budgets: [{ scope: 'team', window: 'day', limitUsd: 1 }] },
        'budget',
      ),
    ).rejects.toThrow(/budget\.budgets\[0\]\.scope/);
  });
});
