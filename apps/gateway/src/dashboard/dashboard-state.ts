import type { AttemptRecord, BreakerState, Clock, EventBus, EventName, RateLimitInfo } from '@bulwark/core';

/** One attempt of a recent call as the dashboard shows it. */
export interface DashboardAttempt {
  target: string;
  /** Error code when the attempt failed. */
  error?: string;
  status?: number;
  durationMs: number;
  /** No provider call was made (breaker open, limiter rejection). */
  local?: boolean;
  /** Backoff waited before the next attempt (ms), when a retry was scheduled after this one. */
  waitMs?: number;
}

/** One finished call: what answered it and how it got there. No prompt or answer text. */
export interface DashboardCall {
  at: number;
  model: string;
  stream: boolean;
  durationMs: number;
  /** `provider/model` that answered, when one did. */
  answeredBy?: string;
  /** True when the answer came from a target other than the first one tried. */
  fallback: boolean;
  error?: string;
  cache?: string;
  /** Time the call waited in a limiter queue (ms). */
  queuedMs?: number;
  attempts: DashboardAttempt[];
}

/** What the dashboard knows about one target (`provider/model`). */
export interface DashboardTarget {
  target: string;
  breaker: BreakerState;
  /** When the breaker entered its state (ms, clock time). */
  breakerSince: number;
  /** When an open breaker lets a probe through (ms, clock time), from the configured cooldown. */
  nextProbeAt?: number;
  /** Breaker openings since start. */
  openings: number;
  attempts: number;
  failures: number;
  /** Failed attempts by error code. */
  errors: Record<string, number>;
  p50Ms?: number;
  p99Ms?: number;
  /** Limiter queue length at the last admission (0 once no call has waited for a few seconds). */
  queueLength: number;
  /** The provider's remaining allowance from its last rate-limit headers. */
  remainingRequests?: number;
  remainingTokens?: number;
  /** USD spent on this target (priced attempts only). */
  spendUsd: number;
}

/** The whole dashboard: what `/dashboard/events` sends. */
export interface DashboardSnapshot {
  now: number;
  startedAt: number;
  targets: DashboardTarget[];
  totals: {
    calls: number;
    failedCalls: number;
    retries: number;
    fallbacks: number;
    breakerOpenings: number;
    limiterWaits: number;
    limiterRejects: number;
    spendUsd: number;
  };
  cache: { hits: number; misses: number; hitRatio: number; savedUsd: number };
  recent: DashboardCall[];
  /** Requests and errors per bucket, oldest first; the last bucket is the current one. */
  series: { bucketMs: number; requests: number[]; errors: number[] };
}

export interface DashboardStateOptions {
  events: EventBus;
  clock: Clock;
  /** The breaker's cooldown (ms): an opened target's next probe is this long after it opened. */
  breakerCooldownMs?: number;
  /** Cap of the growing cooldown (the breaker's `maxCooldownMs`). Default `breakerCooldownMs` (no growth). */
  breakerMaxCooldownMs?: number;
  /** Growth of the cooldown after each failed probe (the breaker's `cooldownMultiplier`). Default 2. */
  breakerCooldownMultiplier?: number;
  /** Finished calls kept for the "last calls" table. Default 25. */
  recentCalls?: number;
  /** Width of one chart bucket (ms). Default 5000. */
  bucketMs?: number;
  /** Buckets in the chart. Default 60 (five minutes). */
  buckets?: number;
}

export interface DashboardState {
  snapshot(): DashboardSnapshot;
  /** Called (synchronously, at most once per event) whenever an event changed the state. */
  onChange(listener: () => void): () => void;
  close(): void;
}

const latencySamples = 200;
const queueQuietMs = 3000;

interface TargetEntry {
  target: string;
  breaker: BreakerState;
  breakerSince: number;
  nextProbeAt?: number;
  openings: number;
  /** Probes that failed since the last close: each one grows the cooldown. */
  failedProbes: number;
  attempts: number;
  failures: number;
  errors: Map<string, number>;
  latencies: number[];
  queueLength: number;
  queueAt: number;
  rateLimit?: RateLimitInfo;
  spendUsd: number;
}

interface PendingCall {
  waits: Map<number, number>;
  queuedMs: number;
}

function percentile(sorted: readonly number[], fraction: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return Math.round(sorted[index]! * 10) / 10;
}

const targetName = (provider: string, model: string): string => `${provider}/${model}`;

/**
 * Aggregates the gateway's event bus into what the dashboard shows. It reads only event fields that
 * carry no prompt or answer text and no key (targets, error codes, timings, counts, costs); tenant names
 * and cache keys are not kept.
 */
export function createDashboardState(options: DashboardStateOptions): DashboardState {
  const { events, clock } = options;
  const recentLimit = options.recentCalls ?? 25;
  const bucketMs = options.bucketMs ?? 5000;
  const bucketCount = options.buckets ?? 60;
  const startedAt = clock.now();
  const targets = new Map<string, TargetEntry>();
  const pending = new Map<string, PendingCall>();
  const recent: DashboardCall[] = [];
  const requests = new Array<number>(bucketCount).fill(0);
  const errors = new Array<number>(bucketCount).fill(0);
  let bucketStart = Math.floor(startedAt / bucketMs) * bucketMs;
  const totals = {
    calls: 0,
    failedCalls: 0,
    retries: 0,
    fallbacks: 0,
    breakerOpenings: 0,
    limiterWaits: 0,
    limiterRejects: 0,
    spendUsd: 0,
  };
  const cache = { hits: 0, misses: 0, savedUsd: 0 };
  const listeners = new Set<() => void>();

  const entry = (provider: string, model: string): TargetEntry => {
    const name = targetName(provider, model);
    let found = targets.get(name);
    if (!found) {
      found = {
        target: name,
        breaker: 'closed',
        breakerSince: clock.now(),
        openings: 0,
        failedProbes: 0,
        attempts: 0,
        failures: 0,
        errors: new Map(),
        latencies: [],
        queueLength: 0,
        queueAt: 0,
        spendUsd: 0,
      };
      targets.set(name, found);
    }
    return found;
  };

  const pendingCall = (callId: string): PendingCall => {
    let found = pending.get(callId);
    if (!found) {
      found = { waits: new Map(), queuedMs: 0 };
      pending.set(callId, found);
      // A call whose end never arrives (a crashed plugin) must not grow the map forever.
      if (pending.size > 10_000) pending.delete(pending.keys().next().value as string);
    }
    return found;
  };

  const advanceBuckets = (): void => {
    const current = Math.floor(clock.now() / bucketMs) * bucketMs;
    const steps = Math.min(bucketCount, Math.max(0, Math.round((current - bucketStart) / bucketMs)));
    for (let step = 0; step < steps; step += 1) {
      requests.shift();
      requests.push(0);
      errors.shift();
      errors.push(0);
    }
    if (steps > 0) bucketStart = current;
  };

  const handle = (name: EventName, payload: unknown): boolean => {
    switch (name) {
      case 'attempt:success':
      case 'attempt:failure': {
        const event = payload as { provider: string; model: string; durationMs: number; error?: string };
        const target = entry(event.provider, event.model);
        target.attempts += 1;
        target.latencies.push(event.durationMs);
        if (target.latencies.length > latencySamples) target.latencies.shift();
        if (event.error !== undefined) {
          target.failures += 1;
          target.errors.set(event.error, (target.errors.get(event.error) ?? 0) + 1);
        }
        return true;
      }
      case 'retry:scheduled': {
        const event = payload as {
          callId: string;
          attempt: number;
          delayMs: number;
          provider: string;
          model: string;
        };
        totals.retries += 1;
        pendingCall(event.callId).waits.set(event.attempt, event.delayMs);
        return true;
      }
      case 'fallback:taken':
        totals.fallbacks += 1;
        return true;
      case 'breaker:state': {
        const event = payload as { provider: string; model: string; from: BreakerState; to: BreakerState };
        const target = entry(event.provider, event.model);
        target.breaker = event.to;
        target.breakerSince = clock.now();
        delete target.nextProbeAt;
        if (event.to === 'closed') target.failedProbes = 0;
        if (event.to === 'open') {
          target.openings += 1;
          totals.breakerOpenings += 1;
          if (event.from === 'half-open') target.failedProbes += 1;
          const cooldown = options.breakerCooldownMs;
          if (cooldown !== undefined) {
            const grown = cooldown * (options.breakerCooldownMultiplier ?? 2) ** target.failedProbes;
            target.nextProbeAt =
              target.breakerSince +
              Math.min(Math.max(cooldown, options.breakerMaxCooldownMs ?? cooldown), grown);
          }
        }
        return true;
      }
      case 'limiter:wait': {
        const event = payload as {
          callId: string;
          provider: string;
          model: string;
          waitedMs: number;
          queueLength: number;
        };
        const target = entry(event.provider, event.model);
        target.queueLength = event.queueLength;
        target.queueAt = clock.now();
        totals.limiterWaits += 1;
        pendingCall(event.callId).queuedMs += event.waitedMs;
        return true;
      }
      case 'limiter:reject':
        totals.limiterRejects += 1;
        return true;
      case 'ratelimit:headers': {
        const event = payload as { provider: string; model: string; rateLimit: RateLimitInfo };
        entry(event.provider, event.model).rateLimit = event.rateLimit;
        return true;
      }
      case 'cache:lookup': {
        const event = payload as { status: string };
        if (event.status === 'hit') cache.hits += 1;
        else if (event.status === 'miss') cache.misses += 1;
        else return false;
        return true;
      }
      case 'usage:recorded': {
        const event = payload as {
          costUsd?: number;
          savedUsd?: number;
          attempts: Array<{ provider: string; model: string; costUsd?: number }>;
        };
        if (event.savedUsd !== undefined) cache.savedUsd += event.savedUsd;
        for (const attempt of event.attempts) {
          if (attempt.costUsd === undefined) continue;
          entry(attempt.provider, attempt.model).spendUsd += attempt.costUsd;
          totals.spendUsd += attempt.costUsd;
        }
        return true;
      }
      case 'call:end': {
        const event = payload as {
          callId: string;
          model: string;
          stream: boolean;
          durationMs: number;
          error?: string;
          target?: { provider: string; model: string };
          attempts: AttemptRecord[];
          cache?: string;
        };
        const call = pending.get(event.callId);
        pending.delete(event.callId);
        advanceBuckets();
        requests[bucketCount - 1]! += 1;
        totals.calls += 1;
        if (event.error !== undefined) {
          errors[bucketCount - 1]! += 1;
          totals.failedCalls += 1;
        }
        const first = event.attempts[0];
        const answeredBy = event.target ? targetName(event.target.provider, event.target.model) : undefined;
        const attempts: DashboardAttempt[] = event.attempts.map((attempt) => {
          const wait = call?.waits.get(attempt.attempt);
          return {
            target: targetName(attempt.provider, attempt.model),
            ...(attempt.error !== undefined ? { error: attempt.error } : {}),
            ...(attempt.status !== undefined ? { status: attempt.status } : {}),
            durationMs: Math.round(attempt.durationMs),
            ...(attempt.local ? { local: true } : {}),
            ...(wait !== undefined && attempt.error !== undefined ? { waitMs: Math.round(wait) } : {}),
          };
        });
        recent.unshift({
          at: clock.now(),
          model: event.model,
          stream: event.stream,
          durationMs: Math.round(event.durationMs),
          ...(answeredBy !== undefined ? { answeredBy } : {}),
          fallback:
            answeredBy !== undefined &&
            first !== undefined &&
            targetName(first.provider, first.model) !== answeredBy,
          ...(event.error !== undefined ? { error: event.error } : {}),
          ...(event.cache !== undefined ? { cache: event.cache } : {}),
          ...(call && call.queuedMs > 0 ? { queuedMs: Math.round(call.queuedMs) } : {}),
          attempts,
        });
        if (recent.length > recentLimit) recent.pop();
        return true;
      }
      default:
        return false;
    }
  };

  const unsubscribe = events.onAny((name, payload) => {
    if (!handle(name, payload)) return;
    for (const listener of listeners) listener();
  });

  return {
    snapshot() {
      advanceBuckets();
      const now = clock.now();
      return {
        now,
        startedAt,
        targets: [...targets.values()].map((target) => {
          const sorted = [...target.latencies].sort((a, b) => a - b);
          const p50 = percentile(sorted, 0.5);
          const p99 = percentile(sorted, 0.99);
          return {
            target: target.target,
            breaker: target.breaker,
            breakerSince: target.breakerSince,
            ...(target.nextProbeAt !== undefined ? { nextProbeAt: target.nextProbeAt } : {}),
            openings: target.openings,
            attempts: target.attempts,
            failures: target.failures,
            errors: Object.fromEntries(target.errors),
            ...(p50 !== undefined ? { p50Ms: p50 } : {}),
            ...(p99 !== undefined ? { p99Ms: p99 } : {}),
            queueLength: now - target.queueAt > queueQuietMs ? 0 : target.queueLength,
            ...(target.rateLimit?.remainingRequests !== undefined
              ? { remainingRequests: target.rateLimit.remainingRequests }
              : {}),
            ...(target.rateLimit?.remainingTokens !== undefined
              ? { remainingTokens: target.rateLimit.remainingTokens }
              : {}),
            spendUsd: target.spendUsd,
          };
        }),
        totals: { ...totals },
        cache: {
          hits: cache.hits,
          misses: cache.misses,
          hitRatio: cache.hits + cache.misses === 0 ? 0 : cache.hits / (cache.hits + cache.misses),
          savedUsd: cache.savedUsd,
        },
        recent: recent.map((call) => ({ ...call, attempts: [...call.attempts] })),
        series: { bucketMs, requests: [...requests], errors: [...errors] },
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      unsubscribe();
      listeners.clear();
    },
  };
}
