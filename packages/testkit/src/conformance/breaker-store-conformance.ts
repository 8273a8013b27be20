import { randomBytes } from 'node:crypto';
import type { BreakerState, MaybePromise } from '@bulwark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from './seeded-random.js';

/** `BreakerPolicy` of `@bulwark/breaker` (repeated here: testkit does not depend on the breaker). */
export interface BreakerPolicyLike {
  failureThreshold: number;
  failureRatio: number;
  minimumCalls: number;
  windowMs: number;
  bucketMs: number;
  cooldownMs: number;
  maxCooldownMs: number;
  cooldownMultiplier: number;
  halfOpenProbes: number;
  probeTimeoutMs: number;
}

interface TicketLike {
  epoch: number;
  probe?: number;
}

interface TransitionLike {
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

type AcquireLike =
  | { allowed: true; state: BreakerState; ticket: TicketLike; transition?: TransitionLike }
  | { allowed: false; state: BreakerState; retryAfterMs: number; transition?: TransitionLike };

/** The shape of `BreakerStoreV1` the suite drives (any `@bulwark/breaker` store fits). */
export interface BreakerStoreLike {
  readonly specificationVersion: 'v1';
  acquire(key: string, now: number, policy: BreakerPolicyLike): MaybePromise<AcquireLike>;
  record(
    key: string,
    ticket: TicketLike,
    outcome: 'success' | 'failure' | 'ignored',
    now: number,
    policy: BreakerPolicyLike,
  ): MaybePromise<{ state: BreakerState; transition?: TransitionLike }>;
  get(key: string): MaybePromise<{ state: BreakerState; epoch: number; opens: number } | undefined>;
  set(key: string, snapshot: never): MaybePromise<void>;
  keys?(): MaybePromise<string[]>;
  delete?(key: string): MaybePromise<void>;
  close?(): MaybePromise<void>;
}

export interface BreakerStoreConformanceOptions {
  /** Suite title (`memory`, `redis`…). */
  name: string;
  /** Creates the store under test, once. It must decide on the `now` it is given (`timeSource: 'caller'`). */
  create: () => MaybePromise<BreakerStoreLike>;
  /** The reference semantics: `createMemoryBreakerStore` of `@bulwark/breaker`. A fresh one per call. */
  reference: () => BreakerStoreLike;
  /** Steps of the differential run. Default 300. */
  steps?: number;
  /** Seed of the differential run. Default 7. */
  seed?: number;
  /** Called after the suite (the suite closes the store first). */
  teardown?: () => MaybePromise<void>;
}

const basePolicy: BreakerPolicyLike = {
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

/** What the suite compares of an answer (a store may add fields of its own). */
function summary(result: AcquireLike | { state: BreakerState; transition?: TransitionLike }): unknown {
  const transition = result.transition
    ? { from: result.transition.from, to: result.transition.to, reason: result.transition.reason }
    : undefined;
  if (!('allowed' in result)) return { state: result.state, transition };
  if (result.allowed) {
    return {
      allowed: true,
      state: result.state,
      ticket: { epoch: result.ticket.epoch, probe: result.ticket.probe },
      transition,
    };
  }
  return { allowed: false, state: result.state, retryAfterMs: result.retryAfterMs, transition };
}

/**
 * The behaviour every breaker store must have (consecutive and ratio triggers, cooldown, limited half-open
 * probes, stale tickets, a growing cooldown), then a differential run: a seeded random sequence of
 * admissions, outcomes and time steps (cooldowns, windows and probe timeouts elapse) compared answer by
 * answer with the reference store. Times are the caller's, so the comparison is exact.
 */
export function describeBreakerStoreConformance(options: BreakerStoreConformanceOptions): void {
  describe(`breaker store conformance: ${options.name}`, () => {
    let store: BreakerStoreLike;
    const run = randomBytes(4).toString('hex');
    let sequence = 0;
    const key = (label: string): string => `conformance-${run}-${label}-${sequence++}`;
    const start = 1_000_000;

    beforeAll(async () => {
      store = await options.create();
    });
    afterAll(async () => {
      await store?.close?.();
      await options.teardown?.();
    });

    const admit = async (target: string, now: number, policy = basePolicy): Promise<TicketLike> => {
      const result = await store.acquire(target, now, policy);
      if (!result.allowed) throw new Error(`expected ${target} to admit, got ${JSON.stringify(result)}`);
      return result.ticket;
    };

    it('declares the v1 contract', () => {
      expect(store.specificationVersion).toBe('v1');
    });

    it('opens after consecutive failures, refuses for the cooldown, probes once, closes on success', async () => {
      const target = key('cycle');
      for (let index = 0; index < 2; index += 1) {
        expect(await store.record(target, await admit(target, start), 'failure', start, basePolicy)).toEqual({
          state: 'closed',
        });
      }
      expect(
        summary(await store.record(target, await admit(target, start), 'failure', start, basePolicy)),
      ).toEqual({ state: 'open', transition: { from: 'closed', to: 'open', reason: 'consecutive' } });
      expect(summary(await store.acquire(target, start + 100, basePolicy))).toEqual({
        allowed: false,
        state: 'open',
        retryAfterMs: 200,
        transition: undefined,
      });
      const probe = await store.acquire(target, start + 300, basePolicy);
      expect(probe).toMatchObject({
        allowed: true,
        state: 'half-open',
        transition: { from: 'open', to: 'half-open', reason: 'cooldown-elapsed' },
      });
      // One probe at a time: the next caller waits for the probe's slot.
      expect(summary(await store.acquire(target, start + 301, basePolicy))).toEqual({
        allowed: false,
        state: 'half-open',
        retryAfterMs: 4999,
        transition: undefined,
      });
      if (!probe.allowed) throw new Error('unreachable');
      expect(probe.ticket.probe).toBeGreaterThan(0);
      expect(summary(await store.record(target, probe.ticket, 'success', start + 302, basePolicy))).toEqual({
        state: 'closed',
        transition: { from: 'half-open', to: 'closed', reason: 'probes-succeeded' },
      });
      expect(await store.acquire(target, start + 303, basePolicy)).toMatchObject({
        allowed: true,
        state: 'closed',
      });
    });

    it('ignores a stale ticket and grows the cooldown after a failed probe', async () => {
      const target = key('stale');
      const stale = await admit(target, start);
      for (let index = 0; index < 3; index += 1) {
        await store.record(target, await admit(target, start), 'failure', start, basePolicy);
      }
      expect(await store.record(target, stale, 'success', start, basePolicy)).toEqual({ state: 'open' });
      const probe = await admit(target, start + 300);
      expect(summary(await store.record(target, probe, 'failure', start + 300, basePolicy))).toEqual({
        state: 'open',
        transition: { from: 'half-open', to: 'open', reason: 'probe-failed' },
      });
      expect(await store.get(target)).toMatchObject({ state: 'open', opens: 2 });
      // The second cooldown is 300 × 2.
      expect(summary(await store.acquire(target, start + 300, basePolicy))).toMatchObject({
        allowed: false,
        retryAfterMs: 600,
      });
    });

    it('frees the slot of a probe that never reports after probeTimeoutMs', async () => {
      const target = key('lost-probe');
      const policy = { ...basePolicy, failureThreshold: 1, probeTimeoutMs: 1000 };
      await store.record(target, await admit(target, start, policy), 'failure', start, policy);
      const lost = await admit(target, start + 300, policy);
      expect(lost.probe).toBeGreaterThan(0);
      expect(summary(await store.acquire(target, start + 1299, policy))).toMatchObject({
        allowed: false,
        state: 'half-open',
        retryAfterMs: 1,
      });
      const next = await store.acquire(target, start + 1300, policy);
      expect(next).toMatchObject({ allowed: true, state: 'half-open' });
      if (!next.allowed) throw new Error('unreachable');
      expect(next.ticket.probe).not.toBe(lost.probe);
    });

    it('opens on the failure ratio once the window holds the minimum calls', async () => {
      const target = key('ratio');
      const policy = { ...basePolicy, failureThreshold: 0, failureRatio: 0.5, minimumCalls: 4 };
      const states = [];
      for (const outcome of ['success', 'failure', 'success', 'failure'] as const) {
        states.push(
          (await store.record(target, await admit(target, start, policy), outcome, start, policy)).state,
        );
      }
      expect(states).toEqual(['closed', 'closed', 'closed', 'open']);
    });

    it('forgets a key on delete when it offers delete', async () => {
      if (!store.delete) return;
      const target = key('delete');
      await store.record(target, await admit(target, start), 'failure', start, basePolicy);
      expect(await store.get(target)).toBeDefined();
      if (store.keys) expect(await store.keys()).toContain(target);
      await store.delete(target);
      expect(await store.get(target)).toBeUndefined();
    });

    it('answers as the reference semantics over a random sequence', async () => {
      const reference = options.reference();
      const random = createSeededRandom(options.seed ?? 7);
      const policy: BreakerPolicyLike = {
        failureThreshold: 4,
        failureRatio: 0.6,
        minimumCalls: 5,
        windowMs: 2000,
        bucketMs: 500,
        cooldownMs: 400,
        maxCooldownMs: 1500,
        cooldownMultiplier: 2,
        halfOpenProbes: 2,
        probeTimeoutMs: 700,
      };
      const targets = [key('differential'), key('differential')];
      const held: Array<{ target: string; actual: TicketLike; wanted: TicketLike }> = [];
      const trace: string[] = [];
      const expected: string[] = [];
      const reasons = new Set<string>();
      let now = start;
      for (let step = 0; step < (options.steps ?? 300); step += 1) {
        const roll = random.next();
        if (roll < 0.15) {
          now += random.int(500);
          continue;
        }
        if (held.length === 0 || roll < 0.55) {
          const target = targets[random.int(targets.length)]!;
          const actual = await store.acquire(target, now, policy);
          const wanted = await reference.acquire(target, now, policy);
          trace.push(`#${step} acquire ${target.slice(-2)} ${JSON.stringify(summary(actual))}`);
          expected.push(`#${step} acquire ${target.slice(-2)} ${JSON.stringify(summary(wanted))}`);
          if (wanted.transition) reasons.add(wanted.transition.reason);
          if (actual.allowed && wanted.allowed)
            held.push({ target, actual: actual.ticket, wanted: wanted.ticket });
        } else {
          const [ticket] = held.splice(random.int(held.length), 1);
          // Sometimes a call never reports (a lost probe must free its slot after probeTimeoutMs).
          if (random.next() < 0.1) continue;
          const outcomeRoll = random.next();
          const outcome = outcomeRoll < 0.5 ? 'failure' : outcomeRoll < 0.92 ? 'success' : 'ignored';
          const actual = await store.record(ticket!.target, ticket!.actual, outcome, now, policy);
          const wanted = await reference.record(ticket!.target, ticket!.wanted, outcome, now, policy);
          trace.push(
            `#${step} record ${ticket!.target.slice(-2)} ${outcome} ${JSON.stringify(summary(actual))}`,
          );
          expected.push(
            `#${step} record ${ticket!.target.slice(-2)} ${outcome} ${JSON.stringify(summary(wanted))}`,
          );
          if (wanted.transition) reasons.add(wanted.transition.reason);
        }
      }
      await reference.close?.();
      expect(trace).toEqual(expected);
      // The sequence opened, half-opened, re-opened and closed circuits, so the comparison covered them.
      if ((options.steps ?? 300) >= 200) expect(reasons.size).toBeGreaterThanOrEqual(4);
    });
  });
}
