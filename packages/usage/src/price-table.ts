import { ConfigError, type Usage } from '@bulwark/core';

/** What a model costs, in USD per million tokens. */
export interface ModelPrice {
  /** Uncached prompt tokens. */
  input: number;
  /** Generated tokens. */
  output: number;
  /** Prompt tokens read from the provider's prompt cache. Default: `input` (no discount known). */
  cachedInput?: number;
  /** Prompt tokens written to the provider's prompt cache (Anthropic's premium). Default: `input`. */
  cacheWrite?: number;
}

/** The day the built-in prices were last checked against the providers' public price pages. */
export const pricesAsOf = '2025-11-24';

/**
 * Built-in list prices (USD per million tokens, standard tier, no batch discount) as of
 * {@link pricesAsOf}. Anthropic cache writes use the 5-minute TTL price. Providers change prices:
 * override or extend them with `createPriceTable({ prices })` rather than trusting this list forever.
 */
export const defaultPrices: Readonly<Record<string, Readonly<ModelPrice>>> = {
  // OpenAI
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  // OpenAI embeddings (input only)
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  o1: { input: 15, cachedInput: 7.5, output: 60 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  // Anthropic
  'claude-opus-4-5': { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25 },
  'claude-opus-4-1': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-opus-4': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-sonnet-4-5': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-sonnet-4': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-3-7-sonnet': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-3-5-sonnet': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-haiku-4-5': { input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5 },
  'claude-3-5-haiku': { input: 0.8, cachedInput: 0.08, cacheWrite: 1, output: 4 },
  'claude-3-haiku': { input: 0.25, cachedInput: 0.03, cacheWrite: 0.3, output: 1.25 },
  'claude-3-opus': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
};

/** Looks up prices and turns usage into USD. */
export interface PriceTable {
  /**
   * The price of `model` served by the provider instance `provider`, or `undefined` when unknown.
   * Tried in order: `provider/model`, `model`, then both without a date suffix (`-2024-08-06`,
   * `-20250514`) or a `-latest` suffix. No other fuzzy matching: `gpt-4o-audio-preview` is not `gpt-4o`.
   */
  priceOf(provider: string | undefined, model: string): ModelPrice | undefined;
  /** USD for `usage` at `price`, or `undefined` when either is missing. */
  cost(usage: Usage | undefined, price: ModelPrice | undefined): number | undefined;
  /** The models priced, for listings and metric label allow-lists. */
  readonly models: readonly string[];
}

export interface PriceTableOptions {
  /**
   * Prices to add or override, by model name (`gpt-4o`) or by `provider/model` for one configured
   * provider instance (`azure/gpt-4o`). USD per million tokens.
   */
  prices?: Record<string, ModelPrice>;
  /** Start from {@link defaultPrices}. Default true. */
  includeDefaults?: boolean;
}

const dateSuffix = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/**
 * A price table: the built-in prices plus yours. Prices are validated: a negative or non-finite number
 * throws `ConfigError` naming the entry.
 *
 * ```ts
 * const prices = createPriceTable({ prices: { 'my-finetune': { input: 3, output: 12 } } });
 * prices.cost({ inputTokens: 1000, outputTokens: 500, totalTokens: 1500 }, prices.priceOf(undefined, 'my-finetune'));
 * ```
 */
export function createPriceTable(options: PriceTableOptions = {}): PriceTable {
  const table = new Map<string, ModelPrice>();
  if (options.includeDefaults ?? true) {
    for (const [model, price] of Object.entries(defaultPrices)) table.set(model, price);
  }
  for (const [model, price] of Object.entries(options.prices ?? {})) {
    table.set(model, validatePrice(price, `prices.${model}`));
  }
  const find = (key: string): ModelPrice | undefined =>
    table.get(key) ?? (dateSuffix.test(key) ? table.get(key.replace(dateSuffix, '')) : undefined);
  return {
    priceOf(provider, model) {
      return (provider === undefined ? undefined : find(`${provider}/${model}`)) ?? find(model);
    },
    cost: costOf,
    models: [...table.keys()],
  };
}

function validatePrice(price: ModelPrice, path: string): ModelPrice {
  for (const field of ['input', 'output', 'cachedInput', 'cacheWrite'] as const) {
    const value = price?.[field];
    const required = field === 'input' || field === 'output';
    if (value === undefined && !required) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ConfigError({
        path: `${path}.${field}`,
        message: `${path}.${field} must be a non-negative number of USD per million tokens (got ${String(value)})`,
      });
    }
  }
  return price;
}

/**
 * USD for `usage` at `price`. `inputTokens` includes cached reads and cache writes (the core `Usage`
 * contract), so the uncached part is `inputTokens − cachedInputTokens − cacheWriteTokens`.
 */
export function costOf(usage: Usage | undefined, price: ModelPrice | undefined): number | undefined {
  if (!usage || !price) return undefined;
  const cachedRead = usage.cachedInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  const uncached = Math.max(0, usage.inputTokens - cachedRead - cacheWrite);
  const micro =
    uncached * price.input +
    cachedRead * (price.cachedInput ?? price.input) +
    cacheWrite * (price.cacheWrite ?? price.input) +
    usage.outputTokens * price.output;
  return roundUsd(micro / 1_000_000);
}

/** Rounds to a nano-dollar, so sums of many small costs stay exact enough to compare. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
