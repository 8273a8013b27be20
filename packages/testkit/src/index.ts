export type { VirtualClock } from '@bulwark/core';
export { createVirtualClock } from '@bulwark/core';
export type {
  BreakerPolicyLike,
  BreakerStoreConformanceOptions,
  BreakerStoreLike,
} from './conformance/breaker-store-conformance.js';
export { describeBreakerStoreConformance } from './conformance/breaker-store-conformance.js';
export {
  type CacheBackendConformanceOptions,
  describeCacheBackendConformance,
} from './conformance/cache-backend-conformance.js';
export type {
  LimiterDimensionLike,
  LimiterStoreConformanceOptions,
  LimiterStoreLike,
} from './conformance/limiter-store-conformance.js';
export { describeLimiterStoreConformance } from './conformance/limiter-store-conformance.js';
export type {
  ProviderConformanceOptions,
  ProviderConformanceSkip,
} from './conformance/provider-conformance.js';
export {
  describeProviderConformance,
  providerObligations,
  streamEventProblems,
} from './conformance/provider-conformance.js';
export type { SeededRandom } from './conformance/seeded-random.js';
export { createSeededRandom } from './conformance/seeded-random.js';
export type {
  SpendEntryLike,
  SpendStoreConformanceOptions,
  SpendStoreLike,
} from './conformance/spend-store-conformance.js';
export { describeSpendStoreConformance } from './conformance/spend-store-conformance.js';
export type { TestCallContextOptions } from './conformance/test-call-context.js';
export { createTestCallContext } from './conformance/test-call-context.js';
export { embedText } from './fake-upstream/embeddings-format.js';
export { createFakeUpstream } from './fake-upstream/fake-upstream.js';
export type { TokenBucket } from './fake-upstream/token-bucket.js';
export { createTokenBucket, formatGoDuration, formatResetTime } from './fake-upstream/token-bucket.js';
export type {
  FakeBehavior,
  FakeRateLimit,
  FakeToolCall,
  FakeUpstream,
  FakeUpstreamOptions,
  FakeUsage,
  RawBehavior,
  RecordedRequest,
  ReplyBehavior,
  RequestFormat,
  StatusBehavior,
} from './fake-upstream/types.js';
export type { TestRedis } from './redis/test-redis.js';
export {
  deleteKeysWithPrefix,
  freePort,
  redisCommand,
  startRedisServer,
  useTestRedis,
} from './redis/test-redis.js';
