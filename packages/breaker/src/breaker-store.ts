import type { BreakerState, MaybePromise } from '@bulwark/core';

/**
 * The numbers a store needs to decide. Plain data (every field a finite number), so a shared store can
 * pass it to a script as arguments. The breaker fills in every field; stores never apply defaults.
 */
export interface BreakerPolicy {
  /** Consecutive counted failures that open the circuit. 0 switches the consecutive rule off. */
  failureThreshold: number;
  /** Failure ratio in (0, 1] over the window that opens the circuit (compared with ≥). 0 switches it off. */
  failureRatio: number;
  /** Calls (successes + failures) the window must hold before the ratio is considered. */
  minimumCalls: number;
  /** Length of the sliding window for the ratio rule, in ms. */
  windowMs: number;
  /**
   * Width of one window bucket, in ms. The window slides bucket by bucket: a bucket counts until its end
   * is more than `windowMs` old, so an outcome weighs for between `windowMs` and `windowMs + bucketMs`.
   */
  bucketMs: number;
  /** How long the circuit stays open the first time, in ms. */
  cooldownMs: number;
  /** Cap of the cooldown when it grows after failed probes, in ms. Equal to `cooldownMs`: no growth. */
  maxCooldownMs: number;
  /** Factor the cooldown grows by with each re-open without a close in between (≥ 1). */
  cooldownMultiplier: number;
  /** Probes admitted in half-open; the circuit closes once that many succeeded. */
  halfOpenProbes: number;
  /** A probe that has not reported after this long (ms) frees its slot, so a lost probe cannot wedge half-open. */
  probeTimeoutMs: number;
}

/**
 * What an admitted call carries back to `record`. `epoch` names the state period the call was admitted
 * in: an outcome from an earlier period (a call that started before the circuit opened) is ignored, so a
 * stale success cannot close a circuit, and a stale failure cannot extend a break.
 */
export interface BreakerTicket {
  epoch: number;
  /** Set when the call is a half-open probe: the id of the probe slot it holds. */
  probe?: number;
}

/** A state change the operation caused. `reason` is a short machine-readable word. */
export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** `consecutive`, `ratio`, `cooldown-elapsed`, `probe-failed`, `probes-succeeded`, `probe-timeout`. */
  reason: string;
}

/** The answer of `acquire`. */
export type BreakerAcquireResult =
  | {
      allowed: true;
      /** State after the operation. */
      state: BreakerState;
      ticket: BreakerTicket;
      /** Set when this acquire moved the state (open → half-open after the cooldown). */
      transition?: BreakerTransition;
    }
  | {
      allowed: false;
      state: BreakerState;
      /** Time until a call may be admitted again: the rest of the cooldown, or a probe slot's expiry. */
      retryAfterMs: number;
      transition?: BreakerTransition;
    };

/** How an admitted call ended. `ignored`: says nothing about the target (400, caller abort, local rejection). */
export type BreakerOutcome = 'success' | 'failure' | 'ignored';

/** The answer of `record`. */
export interface BreakerRecordResult {
  state: BreakerState;
  transition?: BreakerTransition;
}

/** One window bucket: `[bucketStart, calls, failures]`. */
export type BreakerBucket = [start: number, calls: number, failures: number];

/**
 * The whole state of one breaker: plain JSON, for export, restore and inspection. Times are absolute
 * milliseconds on the clock of the store that wrote them.
 */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Bumped on every transition; see `BreakerTicket.epoch`. */
  epoch: number;
  /** Counted failures in a row (closed state). */
  consecutiveFailures: number;
  /** Buckets of the sliding window, oldest first (closed state). */
  buckets: BreakerBucket[];
  /** When the circuit last opened. */
  openedAt?: number;
  /** When the current cooldown ends (open state). */
  openUntil?: number;
  /** Opens since the circuit was last closed; drives the growing cooldown. */
  opens: number;
  /** Probe slots held in half-open: `[probeId, expiresAt]`. */
  probes: Array<[id: number, expiresAt: number]>;
  /** Probes that succeeded in the current half-open period. */
  probeSuccesses: number;
  /** Next probe id to hand out. */
  nextProbeId: number;
}

/**
 * Where breaker state lives (version 1 of the contract). The default is `createMemoryBreakerStore()`;
 * `@bulwark/redis-stores` provides one shared through Redis; store plugins of kind `breaker-store` create it
 * (`breaker: { store: { plugin: redis, url, prefix } }`).
 *
 * Each operation is one atomic read-modify-write of one key, small enough for a single Lua script:
 * implement `acquire` and `record` with the reference semantics of `acquireBreaker` and `recordBreaker`
 * (exported from this package, pure functions over a `BreakerSnapshot`). `now` is the caller's clock; a
 * shared store may use its own authoritative time instead (Redis `TIME`), which is why every answer
 * speaks in durations (`retryAfterMs`) rather than absolute times.
 */
export interface BreakerStoreV1 {
  readonly specificationVersion: 'v1';
  /** Asks to run a call against `key`. Never throws for a rejection: `allowed: false` says it. */
  acquire(key: string, now: number, policy: BreakerPolicy): MaybePromise<BreakerAcquireResult>;
  /** Reports how an admitted call ended. An outcome whose ticket is stale changes nothing. */
  record(
    key: string,
    ticket: BreakerTicket,
    outcome: BreakerOutcome,
    now: number,
    policy: BreakerPolicy,
  ): MaybePromise<BreakerRecordResult>;
  /** The state of `key`, or undefined when it was never used (a never-used breaker is closed). */
  get(key: string): MaybePromise<BreakerSnapshot | undefined>;
  /** Replaces the state of `key` (restore, manual control). The store normalizes it with `restoreSnapshot`. */
  set(key: string, snapshot: BreakerSnapshot): MaybePromise<void>;
  /** Every key the store holds, when it can list them cheaply (used by `exportState`). */
  keys?(): MaybePromise<string[]>;
  /** Forgets `key` (back to closed). */
  delete?(key: string): MaybePromise<void>;
}

export type BreakerStore = BreakerStoreV1;

/** A closed breaker with empty statistics. */
export function initialSnapshot(): BreakerSnapshot {
  return {
    state: 'closed',
    epoch: 0,
    consecutiveFailures: 0,
    buckets: [],
    opens: 0,
    probes: [],
    probeSuccesses: 0,
    nextProbeId: 1,
  };
}

/**
 * Normalizes a snapshot about to be restored: a half-open state holds no live probes after a restore
 * (their calls belong to another process), so it restarts as open with an elapsed cooldown
 * (`openUntil: 0`) and probes on the next call; the epoch moves on so outcomes of calls admitted before the restore are ignored.
 */
export function restoreSnapshot(snapshot: BreakerSnapshot): BreakerSnapshot {
  const copy: BreakerSnapshot = {
    ...snapshot,
    buckets: snapshot.buckets.map((bucket) => [...bucket] as BreakerBucket),
    probes: [],
    probeSuccesses: 0,
    epoch: snapshot.epoch + 1,
  };
  if (copy.state === 'half-open') {
    copy.state = 'open';
    copy.openUntil = 0;
  }
  return copy;
}

function cooldownFor(opens: number, policy: BreakerPolicy): number {
  const grown = policy.cooldownMs * policy.cooldownMultiplier ** Math.max(0, opens - 1);
  return Math.min(Math.max(policy.cooldownMs, policy.maxCooldownMs), grown);
}

function open(
  snapshot: BreakerSnapshot,
  now: number,
  policy: BreakerPolicy,
  reason: string,
): BreakerTransition {
  const from = snapshot.state;
  snapshot.opens += 1;
  snapshot.state = 'open';
  snapshot.epoch += 1;
  snapshot.openedAt = now;
  snapshot.openUntil = now + cooldownFor(snapshot.opens, policy);
  snapshot.consecutiveFailures = 0;
  snapshot.buckets = [];
  snapshot.probes = [];
  snapshot.probeSuccesses = 0;
  return { from, to: 'open', reason };
}

function prune(snapshot: BreakerSnapshot, now: number, policy: BreakerPolicy): void {
  const oldest = now - policy.windowMs;
  let drop = 0;
  while (drop < snapshot.buckets.length && snapshot.buckets[drop]![0] + policy.bucketMs <= oldest) drop += 1;
  if (drop > 0) snapshot.buckets.splice(0, drop);
}

/**
 * Reference semantics of `BreakerStoreV1.acquire`, mutating `snapshot` in place. Closed admits; open
 * rejects until the cooldown ends, then turns half-open; half-open admits up to `halfOpenProbes` probes
 * (expired probe slots are reclaimed first) and rejects everyone else.
 */
export function acquireBreaker(
  snapshot: BreakerSnapshot,
  now: number,
  policy: BreakerPolicy,
): BreakerAcquireResult {
  if (snapshot.state === 'closed')
    return { allowed: true, state: 'closed', ticket: { epoch: snapshot.epoch } };
  let transition: BreakerTransition | undefined;
  if (snapshot.state === 'open') {
    const remaining = (snapshot.openUntil ?? 0) - now;
    if (remaining > 0) return { allowed: false, state: 'open', retryAfterMs: remaining };
    snapshot.state = 'half-open';
    snapshot.epoch += 1;
    snapshot.probes = [];
    snapshot.probeSuccesses = 0;
    transition = { from: 'open', to: 'half-open', reason: 'cooldown-elapsed' };
  }
  if (snapshot.probes.some(([, expiresAt]) => expiresAt <= now)) {
    snapshot.probes = snapshot.probes.filter(([, expiresAt]) => expiresAt > now);
  }
  if (snapshot.probes.length + snapshot.probeSuccesses < policy.halfOpenProbes) {
    const probe = snapshot.nextProbeId;
    snapshot.nextProbeId += 1;
    snapshot.probes.push([probe, now + policy.probeTimeoutMs]);
    const result: BreakerAcquireResult = {
      allowed: true,
      state: 'half-open',
      ticket: { epoch: snapshot.epoch, probe },
    };
    if (transition) result.transition = transition;
    return result;
  }
  let soonest = Number.POSITIVE_INFINITY;
  for (const [, expiresAt] of snapshot.probes) soonest = Math.min(soonest, expiresAt);
  const result: BreakerAcquireResult = {
    allowed: false,
    state: 'half-open',
    retryAfterMs: Number.isFinite(soonest) ? Math.max(1, soonest - now) : policy.probeTimeoutMs,
  };
  if (transition) result.transition = transition;
  return result;
}

/**
 * Reference semantics of `BreakerStoreV1.record`, mutating `snapshot` in place.
 *
 * Closed: a failure counts towards both rules (consecutive ≥ `failureThreshold`, or window calls ≥
 * `minimumCalls` and failures/calls ≥ `failureRatio`); a success resets the run of failures. Half-open: a
 * probe failure re-opens with a longer cooldown; `halfOpenProbes` successes close and reset statistics; an
 * ignored probe frees its slot. Open, or a stale ticket: nothing changes.
 */
export function recordBreaker(
  snapshot: BreakerSnapshot,
  ticket: BreakerTicket,
  outcome: BreakerOutcome,
  now: number,
  policy: BreakerPolicy,
): BreakerRecordResult {
  if (ticket.epoch !== snapshot.epoch) return { state: snapshot.state };
  if (snapshot.state === 'half-open') {
    const slot = snapshot.probes.findIndex(([id]) => id === ticket.probe);
    if (ticket.probe === undefined || slot < 0) return { state: 'half-open' };
    snapshot.probes.splice(slot, 1);
    if (outcome === 'failure')
      return { state: 'open', transition: open(snapshot, now, policy, 'probe-failed') };
    if (outcome === 'success') {
      snapshot.probeSuccesses += 1;
      if (snapshot.probeSuccesses >= policy.halfOpenProbes) {
        snapshot.state = 'closed';
        snapshot.epoch += 1;
        snapshot.opens = 0;
        snapshot.consecutiveFailures = 0;
        snapshot.buckets = [];
        snapshot.probes = [];
        snapshot.probeSuccesses = 0;
        return {
          state: 'closed',
          transition: { from: 'half-open', to: 'closed', reason: 'probes-succeeded' },
        };
      }
    }
    return { state: 'half-open' };
  }
  if (snapshot.state !== 'closed' || outcome === 'ignored') return { state: snapshot.state };
  prune(snapshot, now, policy);
  const start = now - (((now % policy.bucketMs) + policy.bucketMs) % policy.bucketMs);
  let bucket = snapshot.buckets.at(-1);
  if (!bucket || bucket[0] !== start) {
    bucket = [start, 0, 0];
    snapshot.buckets.push(bucket);
  }
  bucket[1] += 1;
  if (outcome === 'success') {
    snapshot.consecutiveFailures = 0;
    return { state: 'closed' };
  }
  bucket[2] += 1;
  snapshot.consecutiveFailures += 1;
  if (policy.failureThreshold > 0 && snapshot.consecutiveFailures >= policy.failureThreshold) {
    return { state: 'open', transition: open(snapshot, now, policy, 'consecutive') };
  }
  if (policy.failureRatio > 0) {
    let calls = 0;
    let failures = 0;
    for (const [, bucketCalls, bucketFailures] of snapshot.buckets) {
      calls += bucketCalls;
      failures += bucketFailures;
    }
    if (calls >= policy.minimumCalls && failures >= policy.failureRatio * calls) {
      return { state: 'open', transition: open(snapshot, now, policy, 'ratio') };
    }
  }
  return { state: 'closed' };
}

/** Options of `createMemoryBreakerStore`. */
export interface MemoryBreakerStoreOptions {
  /** Initial states by key (they are normalized with `restoreSnapshot`). */
  initial?: Record<string, BreakerSnapshot>;
}

/** The in-memory store: the same contract, every operation synchronous. */
export interface MemoryBreakerStore extends BreakerStoreV1 {
  acquire(key: string, now: number, policy: BreakerPolicy): BreakerAcquireResult;
  record(
    key: string,
    ticket: BreakerTicket,
    outcome: BreakerOutcome,
    now: number,
    policy: BreakerPolicy,
  ): BreakerRecordResult;
  get(key: string): BreakerSnapshot | undefined;
  set(key: string, snapshot: BreakerSnapshot): void;
  keys(): string[];
  delete(key: string): void;
}

/**
 * The default store: state in a `Map` of this process. Every operation is synchronous, so an open
 * breaker rejects without a single `await`.
 */
export function createMemoryBreakerStore(options: MemoryBreakerStoreOptions = {}): MemoryBreakerStore {
  const states = new Map<string, BreakerSnapshot>();
  for (const [key, snapshot] of Object.entries(options.initial ?? {}))
    states.set(key, restoreSnapshot(snapshot));
  const stateOf = (key: string): BreakerSnapshot => {
    let snapshot = states.get(key);
    if (!snapshot) {
      snapshot = initialSnapshot();
      states.set(key, snapshot);
    }
    return snapshot;
  };
  return {
    specificationVersion: 'v1',
    acquire: (key, now, policy) => acquireBreaker(stateOf(key), now, policy),
    record: (key, ticket, outcome, now, policy) => recordBreaker(stateOf(key), ticket, outcome, now, policy),
    get(key) {
      const snapshot = states.get(key);
      return snapshot ? structuredClone(snapshot) : undefined;
    },
    set(key, snapshot) {
      states.set(key, restoreSnapshot(snapshot));
    },
    keys: () => [...states.keys()],
    delete(key) {
      states.delete(key);
    },
  };
}

declare module '@bulwark/core' {
  interface StoreContractMap {
    /** A circuit-breaker store: what a `breaker-store` plugin creates. */
    'breaker-store': BreakerStoreV1;
  }
}
