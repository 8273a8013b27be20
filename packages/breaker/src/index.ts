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
