import { describe, expect, it } from 'vitest';
import {
  type BreakerAcquireResult,
  type BreakerPolicy,
  type BreakerTicket,
  createMemoryBreakerStore,
  initialSnapshot,
  restoreSnapshot,
} from './breaker-store.js';

const policy: BreakerPolicy = {
  failureThreshold: 3,
  failureRatio: 0.5,
  minimumCalls: 10,
  windowMs: 10_000,
  bucketMs: 1000,
  cooldownMs: 1000,
  maxCooldownMs: 8000,
  cooldownMultiplier: 2,
  halfOpenProbes: 1,
  probeTimeoutMs: 5000,
};

function admitted(result: BreakerAcquireResult): BreakerTicket {
  if (!result.allowed) throw new Error(`expected admission, got ${JSON.stringify(result)}`);
  return result.ticket;
}

describe('memory breaker store', () => {
  it('opens after consecutive failures; a success resets the run', () => {
    const store = createMemoryBreakerStore();
    const run = (outcome: 'success' | 'failure', now: number) =>
      store.record('k', admitted(store.acquire('k', now, policy)), outcome, now, policy);
    run('failure', 0);
    run('failure', 1);
    run('success', 2);
    run('failure', 3);
    expect(run('failure', 4)).toEqual({ state: 'closed' });
    expect(run('failure', 5)).toEqual({
      state: 'open',
      transition: { from: 'closed', to: 'open', reason: 'consecutive' },
    });
    expect(store.acquire('k', 5, policy)).toEqual({ allowed: false, state: 'open', retryAfterMs: 1000 });
    expect(store.acquire('k', 1004, policy)).toEqual({ allowed: false, state: 'open', retryAfterMs: 1 });
  });

  it('opens on the ratio only at the minimum number of calls, comparing with ≥', () => {
    const store = createMemoryBreakerStore();
    const ratioOnly = { ...policy, failureThreshold: 0 };
    const run = (outcome: 'success' | 'failure', now: number) =>
      store.record('k', admitted(store.acquire('k', now, ratioOnly)), outcome, now, ratioOnly);
    for (let index = 0; index < 5; index += 1) run('success', index);
    for (let index = 0; index < 4; index += 1) expect(run('failure', 10 + index).state).toBe('closed');
    expect(run('failure', 20)).toEqual({
      state: 'open',
      transition: { from: 'closed', to: 'open', reason: 'ratio' },
    });
  });

  it('forgets failures that slid out of the window', () => {
    const store = createMemoryBreakerStore();
    const ratioOnly = { ...policy, failureThreshold: 0 };
    const run = (outcome: 'success' | 'failure', now: number) =>
      store.record('k', admitted(store.acquire('k', now, ratioOnly)), outcome, now, ratioOnly);
    for (let index = 0; index < 6; index += 1) run('failure', 0);
    for (let index = 0; index < 3; index += 1) run('success', 11_000);
    expect(run('failure', 11_000).state).toBe('closed');
    expect(store.get('k')?.buckets).toEqual([[11_000, 4, 1]]);
  });

  it('admits exactly the probe count in half-open, frees ignored probes, reclaims stuck ones', () => {
    const store = createMemoryBreakerStore();
    const twoProbes = { ...policy, halfOpenProbes: 2 };
    for (let index = 0; index < 3; index += 1) {
      store.record('k', admitted(store.acquire('k', 0, twoProbes)), 'failure', 0, twoProbes);
    }
    const first = store.acquire('k', 1000, twoProbes);
    expect(first).toMatchObject({
      allowed: true,
      state: 'half-open',
      transition: { from: 'open', to: 'half-open', reason: 'cooldown-elapsed' },
    });
    const second = admitted(store.acquire('k', 1000, twoProbes));
    expect(store.acquire('k', 1000, twoProbes)).toEqual({
      allowed: false,
      state: 'half-open',
      retryAfterMs: 5000,
    });
    expect(store.record('k', second, 'ignored', 1001, twoProbes)).toEqual({ state: 'half-open' });
    const third = admitted(store.acquire('k', 1001, twoProbes));
    expect(store.record('k', third, 'success', 1002, twoProbes)).toEqual({ state: 'half-open' });
    // The first probe never reports: its slot is reclaimed after probeTimeoutMs and its late answer ignored.
    const replacement = admitted(store.acquire('k', 6000, twoProbes));
    expect(store.record('k', admitted(first), 'failure', 6001, twoProbes)).toEqual({ state: 'half-open' });
    expect(store.record('k', replacement, 'success', 6002, twoProbes)).toEqual({
      state: 'closed',
      transition: { from: 'half-open', to: 'closed', reason: 'probes-succeeded' },
    });
  });

  it('grows the cooldown on each failed probe, capped, and resets it on close', () => {
    const store = createMemoryBreakerStore();
    for (let index = 0; index < 3; index += 1) {
      store.record('k', admitted(store.acquire('k', 0, policy)), 'failure', 0, policy);
    }
    let now = 0;
    const cooldowns: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      const snapshot = store.get('k') as { openUntil: number; openedAt: number };
      cooldowns.push(snapshot.openUntil - snapshot.openedAt);
      now = snapshot.openUntil;
      store.record('k', admitted(store.acquire('k', now, policy)), 'failure', now, policy);
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 8000, 8000]);
    now = (store.get('k') as { openUntil: number }).openUntil;
    store.record('k', admitted(store.acquire('k', now, policy)), 'success', now, policy);
    for (let index = 0; index < 3; index += 1) {
      store.record('k', admitted(store.acquire('k', now, policy)), 'failure', now, policy);
    }
    const reopened = store.get('k') as { openUntil: number; openedAt: number };
    expect(reopened.openUntil - reopened.openedAt).toBe(1000);
  });

  it('ignores outcomes of calls admitted before the state changed', () => {
    const store = createMemoryBreakerStore();
    const tickets = Array.from({ length: 5 }, () => admitted(store.acquire('k', 0, policy)));
    for (let index = 0; index < 3; index += 1) {
      store.record('k', admitted(store.acquire('k', 0, policy)), 'failure', 0, policy);
    }
    const before = store.get('k');
    for (const ticket of tickets)
      expect(store.record('k', ticket, 'success', 10, policy)).toEqual({ state: 'open' });
    for (const ticket of tickets)
      expect(store.record('k', ticket, 'failure', 10, policy)).toEqual({ state: 'open' });
    expect(store.get('k')).toEqual(before);
  });

  it('restores a half-open snapshot as open with the cooldown elapsed, and survives JSON', () => {
    const snapshot = {
      ...initialSnapshot(),
      state: 'half-open' as const,
      probes: [[4, 99]] as Array<[number, number]>,
    };
    const restored = restoreSnapshot(JSON.parse(JSON.stringify(snapshot)));
    expect(restored).toMatchObject({ state: 'open', openUntil: 0, probes: [], epoch: 1 });
    const store = createMemoryBreakerStore({ initial: { k: snapshot } });
    expect(store.acquire('k', 50, policy)).toMatchObject({ allowed: true, state: 'half-open' });
    expect(store.keys?.()).toEqual(['k']);
  });
});
