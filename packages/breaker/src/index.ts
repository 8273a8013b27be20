export type {
  BreakerAcquireResult,
  BreakerBucket,
  BreakerOutcome,
  BreakerPolicy,
  BreakerRecordResult,
  BreakerSnapshot,
  BreakerStore,
  BreakerStoreV1,
  BreakerTicket,
  BreakerTransition,
  MemoryBreakerStore,
  MemoryBreakerStoreOptions,
} from './breaker-store.js';
export {
  acquireBreaker,
  createMemoryBreakerStore,
  initialSnapshot,
  recordBreaker,
  restoreSnapshot,
} from './breaker-store.js';
export type { CircuitBreaker, CircuitBreakerOptions } from './circuit-breaker.js';
export { createCircuitBreaker, resolveBreakerPolicy } from './circuit-breaker.js';
export type { BreakerConfig } from './plugin.js';
export { breakerConfigSchema, plugin } from './plugin.js';
