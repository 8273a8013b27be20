export type { BackoffInput, JitterStrategy } from './backoff.js';
export { backoffDelay, jitterStrategies } from './backoff.js';
export type { RetryConfig } from './plugin.js';
export { plugin, retryConfigSchema } from './plugin.js';
export type { RetryBudget, RetryBudgetOptions } from './retry-budget.js';
export { createRetryBudget } from './retry-budget.js';
export type { RetryGiveUpReason, RetryOptions } from './retry-policy.js';
export { createRetry } from './retry-policy.js';
