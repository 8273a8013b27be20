export { emissionInterval, gcraAcquire, gcraAdjust, gcraPause } from './gcra.js';
export type { AcquireResult, LimiterStore, LimiterStoreV1, RateDimension } from './limiter-store.js';
export type { MemoryLimiterStoreOptions } from './memory-limiter-store.js';
export { createMemoryLimiterStore } from './memory-limiter-store.js';
export type { LimiterConfig } from './plugin.js';
export { limiterConfigSchema, plugin } from './plugin.js';
export type {
  LimiterScope,
  LimiterStats,
  LimiterTargetStats,
  Limits,
  RateLimiter,
  RateLimiterOptions,
} from './rate-limiter.js';
export { createRateLimiter, limitsToDimensions } from './rate-limiter.js';
export type { TokenEstimator } from './token-estimator.js';
export { estimateTokens, textTokens } from './token-estimator.js';
