import { describeLimiterStoreConformance } from '@bulwark/testkit';
import { createMemoryLimiterStore } from './memory-limiter-store.js';

// The memory store is the reference: the suite's fixed vectors check it, and a second instance
// replays the differential sequence (so the suite's bookkeeping itself is exercised).
describeLimiterStoreConformance({
  name: 'memory',
  create: () => createMemoryLimiterStore(),
  reference: () => createMemoryLimiterStore(),
});
