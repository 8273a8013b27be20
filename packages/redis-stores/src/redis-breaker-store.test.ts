import { type BreakerPolicy, type BreakerTicket, createMemoryBreakerStore } from '@bulwark/breaker';
import { type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBreakerStore, type RedisBreakerStore } from './redis-breaker-store.js';

const policy: BreakerPolicy = {
  failureThreshold: 3,
  failureRatio: 0,
  minimumCalls: 10,
  windowMs: 10_000,
  bucketMs: 1000,
  cooldownMs: 300,
  maxCooldownMs: 1200,
  cooldownMultiplier: 2,
  halfOpenProbes: 1,
  probeTimeoutMs: 5000,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createRedisBreakerStore (real Redis)', () => {
  let redis: TestRedis;
  const stores: RedisBreakerStore[] = [];
  const open = async () => {
    const store = createRedisBreakerStore({ url: redis.url, prefix: redis.prefix });
    stores.push(store);
    if (store.client.status !== 'ready') await new Promise((resolve) => store.client.once('ready', resolve));
    return store;
  };

  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await redis.stop();
  });

  it('opens on one replica and the other sees it; one probe across replicas; a probe success closes (T-D7)', async () => {
    const replicas = await Promise.all(Array.from({ length: 10 }, () => open()));
    const [a, b] = replicas as [RedisBreakerStore, RedisBreakerStore];
    for (let index = 0; index < 2; index += 1) {
      const admitted = await a.acquire('openai/gpt', 0, policy);
      if (!admitted.allowed) throw new Error('expected closed');
      expect(await a.record('openai/gpt', admitted.ticket, 'failure', 0, policy)).toEqual({
        state: 'closed',
      });
    }
    const third = await b.acquire('openai/gpt', 0, policy);
    if (!third.allowed) throw new Error('expected closed');
    expect(await b.record('openai/gpt', third.ticket, 'failure', 0, policy)).toEqual({
      state: 'open',
      transition: { from: 'closed', to: 'open', reason: 'consecutive' },
    });
    const rejected = await a.acquire('openai/gpt', 0, policy);
    expect(rejected).toMatchObject({ allowed: false, state: 'open' });
    expect(rejected.allowed === false && rejected.retryAfterMs).toBeGreaterThan(200);

    await sleep(320);
    const attempts = await Promise.all(replicas.map((replica) => replica.acquire('openai/gpt', 0, policy)));
    const probes = attempts.filter((attempt) => attempt.allowed);
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ state: 'half-open', transition: { from: 'open', to: 'half-open' } });
    expect(
      attempts.filter((attempt) => !attempt.allowed).every((attempt) => attempt.state === 'half-open'),
    ).toBe(true);
    const probe = probes[0]!;
    if (!probe.allowed) throw new Error('unreachable');
    expect(probe.ticket.probe).toBeGreaterThan(0);
    expect(await b.record('openai/gpt', probe.ticket, 'success', 0, policy)).toEqual({
      state: 'closed',
      transition: { from: 'half-open', to: 'closed', reason: 'probes-succeeded' },
    });
    expect(await a.acquire('openai/gpt', 0, policy)).toMatchObject({ allowed: true, state: 'closed' });
    expect(await a.get('openai/gpt')).toMatchObject({ state: 'closed', buckets: [], probes: [], opens: 0 });
  });

  it('ignores a stale ticket and grows the cooldown after a failed probe', async () => {
    const store = await open();
    const stale = await store.acquire('stale', 0, policy);
    if (!stale.allowed) throw new Error('expected closed');
    for (let index = 0; index < 3; index += 1) {
      const admitted = await store.acquire('stale', 0, policy);
      if (admitted.allowed) await store.record('stale', admitted.ticket, 'failure', 0, policy);
    }
    // The call admitted before the circuit opened reports success: it must not close it.
    expect(await store.record('stale', stale.ticket, 'success', 0, policy)).toEqual({ state: 'open' });
    await sleep(320);
    const probe = await store.acquire('stale', 0, policy);
    if (!probe.allowed) throw new Error('expected a probe');
    expect(await store.record('stale', probe.ticket, 'failure', 0, policy)).toMatchObject({
      state: 'open',
      transition: { reason: 'probe-failed' },
    });
    const snapshot = await store.get('stale');
    expect(snapshot!.opens).toBe(2);
    expect(snapshot!.openUntil! - snapshot!.openedAt!).toBe(600);
  });

  it('opens on the failure ratio', async () => {
    const store = await open();
    const ratioPolicy = { ...policy, failureThreshold: 0, failureRatio: 0.5, minimumCalls: 4 };
    const outcomes = ['success', 'failure', 'success', 'failure'] as const;
    const states = [];
    for (const outcome of outcomes) {
      const admitted = await store.acquire('ratio', 0, ratioPolicy);
      if (!admitted.allowed) throw new Error('expected closed');
      states.push((await store.record('ratio', admitted.ticket, outcome, 0, ratioPolicy)).state);
    }
    expect(states).toEqual(['closed', 'closed', 'closed', 'open']);
  });

  it('sets, lists and deletes snapshots', async () => {
    const store = await open();
    await store.set('manual/one', {
      state: 'open',
      epoch: 3,
      consecutiveFailures: 0,
      buckets: [],
      opens: 1,
      probes: [],
      probeSuccesses: 0,
      nextProbeId: 1,
      openedAt: 0,
      openUntil: 0,
    });
    expect(await store.get('manual/one')).toMatchObject({ state: 'open', epoch: 4 });
    expect(await store.keys()).toContain('manual/one');
    const probe = await store.acquire('manual/one', 0, policy);
    expect(probe).toMatchObject({ allowed: true, state: 'half-open' });
    await store.delete('manual/one');
    expect(await store.get('manual/one')).toBeUndefined();
  });

  it('survives a corrupt snapshot field without arithmetic on nil', async () => {
    const store = await open();
    const admin = new Redis(redis.url);
    await admin.set(`${redis.prefix}breaker:v1:{corrupt}`, JSON.stringify({ state: 'open', epoch: 'x' }));
    admin.disconnect();
    expect(await store.acquire('corrupt', 0, policy)).toMatchObject({ allowed: true, state: 'half-open' });
  });

  it('makes the same decisions as the reference semantics over a random sequence', async () => {
    const store = await open();
    const reference = createMemoryBreakerStore();
    // No cooldown and hour-long windows: decisions do not depend on which clock is used.
    const timeless: BreakerPolicy = {
      ...policy,
      failureThreshold: 4,
      failureRatio: 0.6,
      minimumCalls: 5,
      windowMs: 3_600_000,
      bucketMs: 3_600_000,
      cooldownMs: 0,
      maxCooldownMs: 0,
      halfOpenProbes: 2,
      probeTimeoutMs: 3_600_000,
    };
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const held: Array<{ redis: BreakerTicket; memory: BreakerTicket }> = [];
    const trace: string[] = [];
    const expected: string[] = [];
    for (let step = 0; step < 300; step += 1) {
      if (held.length === 0 || random() < 0.5) {
        const fromRedis = await store.acquire('differential', Date.now(), timeless);
        const fromMemory = reference.acquire('differential', Date.now(), timeless);
        trace.push(`acquire ${fromRedis.allowed} ${fromRedis.state} ${fromRedis.transition?.reason ?? ''}`);
        expected.push(
          `acquire ${fromMemory.allowed} ${fromMemory.state} ${fromMemory.transition?.reason ?? ''}`,
        );
        if (fromRedis.allowed && fromMemory.allowed)
          held.push({ redis: fromRedis.ticket, memory: fromMemory.ticket });
      } else {
        const [tickets] = held.splice(Math.floor(random() * held.length), 1);
        const roll = random();
        const outcome = roll < 0.45 ? 'failure' : roll < 0.9 ? 'success' : 'ignored';
        const fromRedis = await store.record('differential', tickets!.redis, outcome, Date.now(), timeless);
        const fromMemory = reference.record('differential', tickets!.memory, outcome, Date.now(), timeless);
        trace.push(`record ${outcome} ${fromRedis.state} ${fromRedis.transition?.reason ?? ''}`);
        expected.push(`record ${outcome} ${fromMemory.state} ${fromMemory.transition?.reason ?? ''}`);
      }
    }
    expect(trace).toEqual(expected);
    expect(new Set(expected.map((line) => line.split(' ').at(-1))).size).toBeGreaterThan(3);
  });
});
