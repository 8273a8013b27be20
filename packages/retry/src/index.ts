/** The retry budget lives in `@bulwark/core` (hedges draw on it too); re-exported for existing imports. */
export type { RetryBudget, RetryBudgetOptions } from '@bulwark/core';
export { createRetryBudget } from '@bulwark/core';
export type { BackoffInput, JitterStrategy } from './backoff.js';
export { backoffDelay, jitterStrategies } from './backoff.js';
export type { RetryConfig } from './plugin.js';
export { plugin, retryConfigSchema } from './plugin.js';
export type { RetryGiveUpReason, RetryOptions } from './retry-policy.js';
export { createRetry } from './retry-policy.js';
