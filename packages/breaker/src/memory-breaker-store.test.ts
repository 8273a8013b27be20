import { describeBreakerStoreConformance } from '@bulwark/testkit';
import { createMemoryBreakerStore } from './breaker-store.js';

// The memory store is the reference: the suite's fixed vectors check it, and a second instance
// replays the differential sequence.
describeBreakerStoreConformance({
  name: 'memory',
  create: () => createMemoryBreakerStore(),
  reference: () => createMemoryBreakerStore(),
});
