export type { Budget, BudgetOptions, BudgetRule, BudgetStatus, TargetsOf } from './budget.js';
export { createBudget } from './budget.js';
export type { BudgetWindow } from './budget-window.js';
export { windowAt, windowGraceMs } from './budget-window.js';
export type { AttemptCost, CallAccount } from './call-account.js';
export { accountCall, StreamWatch } from './call-account.js';
export type { BudgetExceededEvent, BudgetScope, UsageRecordedEvent } from './events.js';
export type { O200kEncoder } from './o200k-estimator.js';
export { loadO200kTokenEstimator, o200kTokenizerPackage } from './o200k-estimator.js';
export { budgetConfigSchema, budgetPlugin, plugins, usageConfigSchema, usagePlugin } from './plugin.js';
export type { ModelPrice, PriceTable, PriceTableOptions } from './price-table.js';
export { costOf, createPriceTable, defaultPrices, pricesAsOf, roundUsd } from './price-table.js';
export type { RedisClientLike, RedisSpendStoreOptions } from './redis-spend-store.js';
/** @deprecated Moved to `@bulwark/redis-stores`. */
export { createRedisSpendStore } from './redis-spend-store.js';
export type {
  MemorySpendStoreOptions,
  ReserveResult,
  SpendEntry,
  SpendStore,
  SpendStoreV1,
} from './spend-store.js';
export { createMemorySpendStore } from './spend-store.js';
export {
  charactersPerToken,
  estimateRequestTokens,
  estimateTokens,
  estimateUsage,
  tokensPerImage,
  tokensPerMessage,
} from './token-estimate.js';
export type { UsageSample, UsageTracker, UsageTrackerOptions } from './usage-tracker.js';
export { createUsageTracker } from './usage-tracker.js';
