import {
  BreakerOpenError,
  type BreakerState,
  type CallContext,
  type Clock,
  ConfigError,
  isContentEvent,
  isHealthFailure,
  type Logger,
  type MiddlewareV1,
  systemClock,
  type TargetRef,
  targetId,
} from '@bulwark/core';
import {
  type BreakerAcquireResult,
  type BreakerOutcome,
  type BreakerPolicy,
  type BreakerRecordResult,
  type BreakerSnapshot,
  type BreakerStoreV1,
  type BreakerTicket,
  type BreakerTransition,
  createMemoryBreakerStore,
  initialSnapshot,
} from './breaker-store.js';

/** Options of `createCircuitBreaker`. Every duration is in milliseconds. */
export interface CircuitBreakerOptions {
  /** Counted failures in a row that open the circuit. 0 switches the rule off. Default 5. */
  failureThreshold?: number;
  /** Failure ratio over `windowMs` that opens the circuit, compared with ≥. 0 switches the rule off. Default 0.5. */
  failureRatio?: number;
  /** Calls the window must hold before `failureRatio` is considered. Default 10. */
  minimumCalls?: number;
  /** Length of the sliding window of the ratio rule. Default 30 000. */
  windowMs?: number;
  /** Buckets the window is divided into (it slides one bucket at a time). Default 10. */
  windowBuckets?: number;
  /** How long the circuit stays open before it lets a probe through. Default 15 000. */
  cooldownMs?: number;
  /**
   * Cap of a growing cooldown: each failed probe multiplies the cooldown by `cooldownMultiplier` up to
   * this value; a close resets it. Default `cooldownMs` (no growth).
   */
  maxCooldownMs?: number;
  /** Growth factor of the cooldown after a failed probe (≥ 1). Default 2. */
  cooldownMultiplier?: number;
  /** Probe calls admitted in half-open; they must all succeed to close. Others are rejected meanwhile. Default 1. */
  halfOpenProbes?: number;
  /** A probe that has not reported after this long frees its slot for a new probe. Default max(cooldownMs, 120 000). */
  probeTimeoutMs?: number;
  /**
   * Calls slower than this count as failures: time to the first content event for streams, total
   * duration for plain calls. Default off.
   */
  slowCallMs?: number;
  /** Count provider rate limits (429) as failures. Bulwark's own limiter rejections never count. Default true. */
  countRateLimits?: boolean;
  /** Where state lives. Default: a new in-memory store. */
  store?: BreakerStoreV1;
  /** The breaker key of a target. Default `provider/model`. */
  key?: (target: TargetRef) => string;
  /** Clock for durations and cooldowns. Default: the call's clock. */
  clock?: Clock;
  /** Where store failures are reported. Default: the call's logger. */
  logger?: Logger;
}

/** The breaker middleware, plus inspection and persistence. */
export interface CircuitBreaker extends MiddlewareV1 {
  /** The policy every store operation receives (defaults applied). */
  readonly policy: Readonly<BreakerPolicy>;
  readonly store: BreakerStoreV1;
  /**
   * Current state of a target's breaker; an open breaker whose cooldown is over reads as half-open.
   * `now` defaults to the `clock` option's time (or the system clock's when none was given).
   */
  state(target: TargetRef, now?: number): Promise<BreakerState>;
  /** The state of every breaker the store can list (or this instance has used), as plain JSON. */
  exportState(): Promise<Record<string, BreakerSnapshot>>;
  /** Restores what `exportState` gave; half-open states restart as open with the cooldown elapsed. */
  restoreState(state: Record<string, BreakerSnapshot>): Promise<void>;
  /** Forgets a target's state: the breaker is closed again. */
  reset(target: TargetRef): Promise<void>;
}

function checkNumber(
  name: string,
  value: number | undefined,
  fallback: number,
  rule: { min: number; max?: number; integer?: boolean },
): number {
  const resolved = value ?? fallback;
  const valid =
    typeof resolved === 'number' &&
    Number.isFinite(resolved) &&
    resolved >= rule.min &&
    (rule.max === undefined || resolved <= rule.max) &&
    (!rule.integer || Number.isInteger(resolved));
  if (!valid) {
    throw new ConfigError({
      path: name,
      message: `${name} must be ${rule.integer ? 'an integer' : 'a number'} ≥ ${rule.min}${rule.max === undefined ? '' : ` and ≤ ${rule.max}`}; got ${String(value)}`,
    });
  }
  return resolved;
}

/** Resolves the options into the plain policy a store receives; throws `ConfigError` naming a bad field. */
export function resolveBreakerPolicy(options: CircuitBreakerOptions = {}): BreakerPolicy {
  const windowMs = checkNumber('windowMs', options.windowMs, 30_000, { min: 1 });
  const windowBuckets = checkNumber('windowBuckets', options.windowBuckets, 10, { min: 1, integer: true });
  const cooldownMs = checkNumber('cooldownMs', options.cooldownMs, 15_000, { min: 0 });
  const maxCooldownMs = checkNumber('maxCooldownMs', options.maxCooldownMs, cooldownMs, { min: 0 });
  if (maxCooldownMs < cooldownMs) {
    throw new ConfigError({
      path: 'maxCooldownMs',
      message: `maxCooldownMs (${maxCooldownMs}) must be ≥ cooldownMs (${cooldownMs})`,
    });
  }
  const policy: BreakerPolicy = {
    failureThreshold: checkNumber('failureThreshold', options.failureThreshold, 5, { min: 0, integer: true }),
    failureRatio: checkNumber('failureRatio', options.failureRatio, 0.5, { min: 0, max: 1 }),
    minimumCalls: checkNumber('minimumCalls', options.minimumCalls, 10, { min: 1, integer: true }),
    windowMs,
    bucketMs: Math.max(1, Math.ceil(windowMs / windowBuckets)),
    cooldownMs,
    maxCooldownMs,
    cooldownMultiplier: checkNumber('cooldownMultiplier', options.cooldownMultiplier, 2, { min: 1 }),
    halfOpenProbes: checkNumber('halfOpenProbes', options.halfOpenProbes, 1, { min: 1, integer: true }),
    probeTimeoutMs: checkNumber('probeTimeoutMs', options.probeTimeoutMs, Math.max(cooldownMs, 120_000), {
      min: 1,
    }),
  };
  if (policy.failureThreshold === 0 && policy.failureRatio === 0) {
    throw new ConfigError({
      path: 'failureThreshold',
      message: 'failureThreshold and failureRatio are both 0: the breaker could never open',
    });
  }
  return policy;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/**
 * A circuit breaker per target (provider + model), as the `breaker` stage of the pipeline: inside
 * retry, so it sees every attempt, and outside the limiter, so an open circuit never queues.
 *
 * Closed → open after `failureThreshold` counted failures in a row, or when the failure ratio over
 * `windowMs` reaches `failureRatio` with at least `minimumCalls` calls. Open: calls fail at once with
 * `BreakerOpenError` (`retryAfterMs` = rest of the cooldown), which the router takes as "next target".
 * After the cooldown, half-open admits `halfOpenProbes` probes and rejects everyone else; success closes,
 * failure re-opens with a cooldown that may grow. Only `isHealthFailure` errors count; 400s, caller
 * aborts and Bulwark's own rejections are ignored. A stream's outcome is known when it ends; a stream
 * the consumer abandoned is neither success nor failure.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const policy = resolveBreakerPolicy(options);
  const store = options.store ?? createMemoryBreakerStore();
  if (store.specificationVersion !== 'v1') {
    throw new ConfigError({
      path: 'store',
      message: `store has specificationVersion ${String(store.specificationVersion)}; expected "v1"`,
    });
  }
  const slowCallMs =
    options.slowCallMs === undefined
      ? undefined
      : checkNumber('slowCallMs', options.slowCallMs, 0, { min: 1 });
  const classifyOptions = { countRateLimits: options.countRateLimits ?? true };
  const keyOf = options.key ?? targetId;
  const used = new Map<string, TargetRef>();

  const emit = (context: CallContext, target: TargetRef, transition: BreakerTransition | undefined): void => {
    if (!transition || !context.events.has('breaker:state')) return;
    context.events.emit('breaker:state', {
      provider: target.provider,
      model: target.model,
      from: transition.from,
      to: transition.to,
      reason: transition.reason,
    });
  };

  const targetOf = (context: CallContext): TargetRef => {
    const target = context.target;
    if (!target) {
      throw new ConfigError({
        path: 'middleware',
        message: 'The circuit breaker runs per target: give it stage "breaker" so it sits below the router',
      });
    }
    return target;
  };

  const reject = (target: TargetRef, result: BreakerAcquireResult & { allowed: false }): BreakerOpenError =>
    new BreakerOpenError({
      message: `Circuit breaker for ${target.provider}/${target.model} is ${result.state}; retry in ${Math.ceil(result.retryAfterMs)} ms`,
      retryAfterMs: result.retryAfterMs,
      provider: target.provider,
      model: target.model,
    });

  /** Admits or rejects; undefined ticket means the store failed and the call runs unguarded. */
  const admit = (
    context: CallContext,
    target: TargetRef,
    key: string,
  ): BreakerTicket | undefined | Promise<BreakerTicket | undefined> => {
    const handle = (result: BreakerAcquireResult): BreakerTicket => {
      emit(context, target, result.transition);
      if (!result.allowed) throw reject(target, result);
      return result.ticket;
    };
    const clock = options.clock ?? context.clock;
    let result: BreakerAcquireResult | Promise<BreakerAcquireResult>;
    try {
      result = store.acquire(key, clock.now(), policy);
    } catch (error) {
      storeFailed(context, 'acquire', error);
      return undefined;
    }
    if (!isPromise(result)) return handle(result);
    return result.then(handle, (error: unknown) => {
      storeFailed(context, 'acquire', error);
      return undefined;
    });
  };

  const storeFailed = (context: CallContext, operation: string, error: unknown): void => {
    (options.logger ?? context.logger).warn('breaker store failed; the call runs unguarded', {
      operation,
      error: error instanceof Error ? error.message : String(error),
    });
  };

  const report = (
    context: CallContext,
    target: TargetRef,
    key: string,
    ticket: BreakerTicket | undefined,
    outcome: BreakerOutcome,
  ): void => {
    if (!ticket) return;
    const clock = options.clock ?? context.clock;
    let result: BreakerRecordResult | Promise<BreakerRecordResult>;
    try {
      result = store.record(key, ticket, outcome, clock.now(), policy);
    } catch (error) {
      storeFailed(context, 'record', error);
      return;
    }
    if (!isPromise(result)) emit(context, target, result.transition);
    else
      result.then(
        (settled) => emit(context, target, settled.transition),
        (error: unknown) => storeFailed(context, 'record', error),
      );
  };

  const failureOutcome = (error: unknown, context: CallContext): BreakerOutcome =>
    !context.signal.aborted && isHealthFailure(error, classifyOptions) ? 'failure' : 'ignored';

  const remember = (key: string, target: TargetRef): void => {
    if (!used.has(key)) used.set(key, { provider: target.provider, model: target.model });
  };

  const breaker: CircuitBreaker = {
    specificationVersion: 'v1',
    name: 'breaker',
    stage: 'breaker',
    policy,
    store,
    async complete(request, context, next) {
      const target = targetOf(context);
      const key = keyOf(target);
      remember(key, target);
      const admitted = admit(context, target, key);
      const ticket = isPromise(admitted) ? await admitted : admitted;
      const clock = options.clock ?? context.clock;
      const started = clock.now();
      let response: Awaited<ReturnType<typeof next>>;
      try {
        response = await next(request, context);
      } catch (error) {
        report(context, target, key, ticket, failureOutcome(error, context));
        throw error;
      }
      const slow = slowCallMs !== undefined && clock.now() - started > slowCallMs;
      report(context, target, key, ticket, slow ? 'failure' : 'success');
      return response;
    },
    async *stream(request, context, next) {
      const target = targetOf(context);
      const key = keyOf(target);
      remember(key, target);
      const admitted = admit(context, target, key);
      const ticket = isPromise(admitted) ? await admitted : admitted;
      const clock = options.clock ?? context.clock;
      const started = clock.now();
      let firstContentAt: number | undefined;
      let outcome: BreakerOutcome = 'ignored';
      try {
        for await (const event of next(request, context)) {
          if (firstContentAt === undefined && (isContentEvent(event) || event.type === 'finish')) {
            firstContentAt = clock.now();
          }
          yield event;
        }
        const slow = slowCallMs !== undefined && (firstContentAt ?? clock.now()) - started > slowCallMs;
        outcome = slow ? 'failure' : 'success';
      } catch (error) {
        outcome = failureOutcome(error, context);
        throw error;
      } finally {
        // Reached with 'ignored' when the consumer stopped early: that says nothing about the target.
        report(context, target, key, ticket, outcome);
      }
    },
    async state(target, now) {
      const snapshot = await store.get(keyOf(target));
      if (!snapshot) return 'closed';
      if (
        snapshot.state === 'open' &&
        (snapshot.openUntil ?? 0) <= (now ?? (options.clock ?? systemClock).now())
      ) {
        return 'half-open';
      }
      return snapshot.state;
    },
    async exportState() {
      const keys = new Set<string>([...((await store.keys?.()) ?? []), ...used.keys()]);
      const exported: Record<string, BreakerSnapshot> = {};
      for (const key of keys) {
        const snapshot = await store.get(key);
        if (snapshot) exported[key] = snapshot;
      }
      return exported;
    },
    async restoreState(state) {
      for (const [key, snapshot] of Object.entries(state)) await store.set(key, snapshot);
    },
    async reset(target) {
      const key = keyOf(target);
      if (store.delete) await store.delete(key);
      else await store.set(key, initialSnapshot());
    },
  };
  return breaker;
}
