import { createConfiguredStore, type PluginDescriptor, type TokenEstimatorV1 } from '@bulwark/core';
import { z } from 'zod';
import { createBudget } from './budget.js';
import { loadO200kTokenEstimator } from './o200k-estimator.js';
import { createPriceTable } from './price-table.js';
import { createMemorySpendStore } from './spend-store.js';
import { createUsageTracker } from './usage-tracker.js';

const usd = z.number().finite().nonnegative();

const priceSchema = z.strictObject({
  input: usd,
  output: usd,
  cachedInput: usd.optional(),
  cacheWrite: usd.optional(),
});

const pricingFields = {
  /** Extra or overriding prices, USD per million tokens, by `model` or `provider/model`. */
  prices: z.record(z.string().min(1), priceSchema).optional(),
  /** Start from the built-in price list. Default true. */
  includeDefaultPrices: z.boolean().optional(),
};

/** `o200k`: exact OpenAI o200k counts (needs `gpt-tokenizer` installed); `fast` (default): core's per-script estimate. */
const tokenEstimatorField = { tokenEstimator: z.enum(['fast', 'o200k']).optional() };

async function estimatorFor(
  name: 'fast' | 'o200k' | undefined,
): Promise<{ tokenEstimator?: TokenEstimatorV1 }> {
  return name === 'o200k' ? { tokenEstimator: await loadO200kTokenEstimator() } : {};
}

/** Config of the `usage` middleware (gateway section `usage`). */
export const usageConfigSchema = z.strictObject({
  ...pricingFields,
  ...tokenEstimatorField,
  maxTenants: z.number().int().positive().optional(),
  maxModels: z.number().int().positive().optional(),
});

const ruleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  scope: z.enum(['tenant', 'model', 'global']),
  match: z.string().min(1).optional(),
  window: z.enum(['day', 'month']),
  limitUsd: usd,
  mode: z.enum(['hard', 'soft']).optional(),
});

/** Config of the `budget` middleware (gateway section `budget`). */
export const budgetConfigSchema = z.strictObject({
  ...pricingFields,
  budgets: z.array(ruleSchema).optional(),
  maxRequestCostUsd: usd.optional(),
  /**
   * Where spend counters are kept: `{ plugin: memory }` (this process, the default) or a `spend-store`
   * plugin with its options, e.g. `{ plugin: redis, url, prefix }` from `@bulwark/redis-stores`.
   */
  store: z
    .looseObject(
      { plugin: z.string().min(1) },
      { error: 'store must be an object: { plugin: memory } or { plugin: redis, url, prefix }' },
    )
    .optional(),
  url: z.never({ error: 'url moved into the store: write store: { plugin: redis, url, prefix }' }).optional(),
  prefix: z
    .never({ error: 'prefix moved into the store: write store: { plugin: redis, url, prefix }' })
    .optional(),
  defaultMaxTokens: z.number().int().positive().optional(),
  unpricedModels: z.enum(['deny', 'allow']).optional(),
  onStoreError: z.enum(['allow', 'deny']).optional(),
  ...tokenEstimatorField,
});

/** Middleware plugin `usage`: per-call usage, cost and cache savings. */
export const usagePlugin: PluginDescriptor<'middleware', z.infer<typeof usageConfigSchema>> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'usage',
  packageName: '@bulwark/usage',
  description: 'Usage and cost of every call (each billed attempt once), cache savings, totals for metrics.',
  configSchema: usageConfigSchema,
  async create(config) {
    return createUsageTracker({
      ...(await estimatorFor(config.tokenEstimator)),
      prices: createPriceTable({
        ...(config.prices ? { prices: config.prices } : {}),
        ...(config.includeDefaultPrices === undefined
          ? {}
          : { includeDefaults: config.includeDefaultPrices }),
      }),
      ...(config.maxTenants === undefined ? {} : { maxTenants: config.maxTenants }),
      ...(config.maxModels === undefined ? {} : { maxModels: config.maxModels }),
    });
  },
};

/** Middleware plugin `budget`: hard and soft spend limits, checked before any provider call. */
export const budgetPlugin: PluginDescriptor<'middleware', z.infer<typeof budgetConfigSchema>> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'budget',
  packageName: '@bulwark/usage',
  description:
    'Budgets per tenant, model alias or gateway over day/month windows, and a per-request ceiling.',
  configSchema: budgetConfigSchema,
  async create(config, context) {
    const store =
      (await createConfiguredStore(context, 'spend-store', config.store)) ??
      createMemorySpendStore({ clock: context.clock });
    return createBudget({
      ...(await estimatorFor(config.tokenEstimator)),
      store,
      clock: context.clock,
      prices: createPriceTable({
        ...(config.prices ? { prices: config.prices } : {}),
        ...(config.includeDefaultPrices === undefined
          ? {}
          : { includeDefaults: config.includeDefaultPrices }),
      }),
      ...(config.budgets ? { budgets: config.budgets } : {}),
      ...(config.maxRequestCostUsd === undefined ? {} : { maxRequestCostUsd: config.maxRequestCostUsd }),
      ...(config.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: config.defaultMaxTokens }),
      ...(config.unpricedModels === undefined ? {} : { unpricedModels: config.unpricedModels }),
      ...(config.onStoreError === undefined ? {} : { onStoreError: config.onStoreError }),
    });
  },
};

/** Both plugins, for `registry.load('@bulwark/usage')`. */
export const plugins = [usagePlugin, budgetPlugin] as const;
