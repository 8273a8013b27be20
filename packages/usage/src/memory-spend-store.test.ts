import { describeSpendStoreConformance } from '@bulwark/testkit';
import { createMemorySpendStore } from './spend-store.js';

// The memory store is the reference: the suite's fixed vectors check it (TTLs on the virtual clock),
// and a second instance replays the differential sequence.
describeSpendStoreConformance({
  name: 'memory',
  virtualTime: true,
  create: ({ clock }) => createMemorySpendStore({ clock }),
  reference: () => createMemorySpendStore(),
});
