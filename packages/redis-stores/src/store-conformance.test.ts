import { createMemoryBreakerStore } from '@bulwark/breaker';
import { createMemoryLimiterStore } from '@bulwark/limiter';
import {
  describeBreakerStoreConformance,
  describeLimiterStoreConformance,
  describeSpendStoreConformance,
  type TestRedis,
  useTestRedis,
} from '@bulwark/testkit';
import { createMemorySpendStore } from '@bulwark/usage';
import { createRedisBreakerStore } from './redis-breaker-store.js';
import { createRedisLimiterStore } from './redis-limiter-store.js';
import { createRedisSpendStore } from './redis-spend-store.js';

/*
 * The Redis stores against the conformance suites of @bulwark/testkit, each checked differentially
 * against the in-memory reference store. The scripts run on the caller's clock (`timeSource: 'caller'`)
 * so the comparison with the reference is exact and deterministic: with Redis `TIME` the two stores would
 * see different instants and only a tolerance could compare them. The Redis-time path is covered by the
 * real-time tests of each store (redis-limiter-store.test.ts, redis-breaker-store.test.ts).
 */
let redis: Promise<TestRedis> | undefined;
let suites = 0;
const testRedis = (): Promise<TestRedis> => {
  suites += 1;
  redis ??= useTestRedis();
  return redis;
};
/** The last suite to finish removes the run's keys (and stops a server the helper started). */
const release = async (): Promise<void> => {
  suites -= 1;
  if (suites === 0) await (await redis)?.stop();
};

describeLimiterStoreConformance({
  name: 'redis (GCRA Lua, caller time)',
  create: async () => {
    const { url, prefix } = await testRedis();
    const store = createRedisLimiterStore({ url, prefix, timeSource: 'caller', commandTimeoutMs: 2000 });
    return store;
  },
  reference: () => createMemoryLimiterStore(),
  steps: 400,
  teardown: release,
});

describeBreakerStoreConformance({
  name: 'redis (breaker Lua, caller time)',
  create: async () => {
    const { url, prefix } = await testRedis();
    return createRedisBreakerStore({ url, prefix, timeSource: 'caller', commandTimeoutMs: 2000 });
  },
  reference: () => createMemoryBreakerStore(),
  steps: 400,
  teardown: release,
});

// Spend counters have no time in their answers; only expiry is time-based, and Redis measures TTLs in
// real time (the suite waits for them).
describeSpendStoreConformance({
  name: 'redis (spend Lua)',
  create: async () => {
    const { url, prefix } = await testRedis();
    return createRedisSpendStore({ url, prefix });
  },
  reference: () => createMemorySpendStore(),
  steps: 400,
  teardown: release,
});
