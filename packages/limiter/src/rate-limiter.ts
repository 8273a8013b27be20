import {
  AbortedError,
  BulwarkError,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type Clock,
  type CompleteHandler,
  ConfigError,
  type MiddlewareV1,
  RateLimitError,
  type RateLimitInfo,
  type StreamEvent,
  type StreamHandler,
  type Target,
  type TargetRef,
  throwIfAborted,
  type Usage,
} from '@bulwark/core';
import { emissionInterval } from './gcra.js';
import type { AcquireResult, LimiterStoreV1, RateDimension } from './limiter-store.js';
import { createMemoryLimiterStore } from './memory-limiter-store.js';
import { estimateTokens as defaultEstimator, type TokenEstimator } from './token-estimator.js';
import { type Waiter, WaiterQueue } from './waiter-queue.js';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** A target's limiter paused after a provider 429 (every caller of the scope waits `durationMs`). */
    'limiter:pause': TargetRef & { key: string; durationMs: number };
  }
}

/** Limits of one provider (or one scope). Every field is optional; absent means unlimited. */
export interface Limits {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens per minute: input estimate plus the output reservation (`maxTokens`), corrected by real usage. */
  tpm?: number;
  /** Calls in flight at once, held until a stream is fully consumed, aborted or failed (per process). */
  concurrency?: number;
  /**
   * Requests that may go back to back when the limiter is idle. Default: one second's worth,
   * `ceil(rpm / 60)`. Providers enforce per-minute limits over short windows, so a minute's worth at
   * once is never the default.
   */
  requestBurst?: number;
  /** Tokens that may go back to back when idle. Default one second's worth, `ceil(tpm / 60)`. */
  tokenBurst?: number;
}

/**
 * What one limiter state covers: `provider` (every model of a configured provider shares the limits),
 * `provider+model` (each model has its own, as OpenAI and Anthropic meter them), or a function that
 * returns the key (per tenant, per credential…).
 */
export type LimiterScope = 'provider' | 'provider+model' | ((target: Target, context: CallContext) => string);

export interface RateLimiterOptions {
  /**
   * Limits by configured provider name (as in the gateway's `providers.<name>.limits`), or a function
   * of the target. Targets without limits pass through untouched. A function is asked once per scope key.
   */
  limits: Record<string, Limits> | ((target: Target) => Limits | undefined);
  /** Which calls share one limit. Default `provider+model`. */
  scope?: LimiterScope;
  /** Where the admission math lives. Default: an in-process `createMemoryLimiterStore()`. */
  store?: LimiterStoreV1;
  /** Waiters per scope key; one more is rejected at once. Default 1000. */
  maxQueue?: number;
  /**
   * Longest a caller may wait in the queue, also capped by the call's deadline. A caller whose expected
   * wait is longer is rejected at once instead of timing out later. Default 30 000 ms.
   */
  maxWaitMs?: number | ((context: CallContext) => number);
  /** Output tokens reserved when a request sets no `maxTokens`. Default 1024. */
  defaultOutputTokens?: number;
  /** Input token counter. Default: the `estimateTokens` heuristic (chars/4 plus message overhead). */
  estimateTokens?: TokenEstimator;
  /** How long a scope pauses after a provider 429 that carries no `retry-after`. Default 1000 ms. */
  defaultPauseMs?: number;
  /** Follow the providers' `remaining`/`reset` headers and 429s. Default true. */
  adaptive?: boolean;
  /** Time source. Default: the clock of the calls' context. */
  clock?: Clock;
  /** Middleware name for logs and errors. Default `limiter`. */
  name?: string;
}

/** Counters of one scope key. */
export interface LimiterTargetStats {
  key: string;
  provider: string;
  model: string;
  /** Callers waiting now. */
  queueLength: number;
  /** Calls holding a concurrency permit now. */
  inFlight: number;
  admitted: number;
  /** Callers refused locally (full queue, expected or expired wait). */
  rejected: number;
  /** Callers that had to wait, and their total and longest wait. */
  waited: number;
  waitMsTotal: number;
  waitMsMax: number;
  /** Tokens reserved before calls, and the tokens the calls reported using (where they did). */
  tokensReserved: number;
  tokensUsed: number;
  /** Provider 429s seen. */
  rateLimited: number;
}

export interface LimiterStats {
  queueLength: number;
  inFlight: number;
  admitted: number;
  rejected: number;
  rateLimited: number;
  tokensReserved: number;
  tokensUsed: number;
  targets: LimiterTargetStats[];
}

/** The limiter middleware, with its counters and a `close` that rejects every waiter. */
export interface RateLimiter extends MiddlewareV1 {
  stats(): LimiterStats;
  /** Rejects queued callers with `AbortedError`, cancels timers and closes the store it created. */
  close(): Promise<void>;
}

/** A server-reported allowance mirrored locally: a token bucket seeded from `remaining` and `reset`. */
interface ServerBudget {
  tokens: number;
  capacity: number;
  refillPerMs: number;
  updatedAt: number;
}

interface TargetState {
  key: string;
  provider: string;
  model: string;
  dimensions: RateDimension[];
  requestIndex: number;
  tokenIndex: number;
  concurrency: number;
  inFlight: number;
  queue: WaiterQueue;
  pausedUntil: number;
  serverBudgets: Array<ServerBudget | undefined>;
  pumpTimer: (() => void) | undefined;
  pumpAt: number;
  pumping: boolean;
  stats: LimiterTargetStats;
}

const minute = 60_000;
const noLimits = Symbol('no limits');

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}

function checkNumber(value: number | undefined, path: string, integer: boolean): void {
  if (value === undefined) return;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new ConfigError({
      path,
      message: `${path} must be a positive ${integer ? 'integer' : 'number'}; got ${String(value)}`,
    });
  }
}

/** Validates `limits` and turns them into GCRA dimensions. */
export function limitsToDimensions(
  limits: Limits,
  path = 'limits',
): {
  dimensions: RateDimension[];
  requestIndex: number;
  tokenIndex: number;
  concurrency: number;
} {
  checkNumber(limits.rpm, `${path}.rpm`, false);
  checkNumber(limits.tpm, `${path}.tpm`, false);
  checkNumber(limits.concurrency, `${path}.concurrency`, true);
  checkNumber(limits.requestBurst, `${path}.requestBurst`, false);
  checkNumber(limits.tokenBurst, `${path}.tokenBurst`, false);
  const dimensions: RateDimension[] = [];
  let requestIndex = -1;
  let tokenIndex = -1;
  if (limits.rpm !== undefined) {
    requestIndex = dimensions.length;
    dimensions.push({
      name: 'requests',
      limit: limits.rpm,
      periodMs: minute,
      burst: limits.requestBurst ?? Math.max(1, Math.ceil(limits.rpm / 60)),
    });
  }
  if (limits.tpm !== undefined) {
    tokenIndex = dimensions.length;
    dimensions.push({
      name: 'tokens',
      limit: limits.tpm,
      periodMs: minute,
      burst: limits.tokenBurst ?? Math.max(1, Math.ceil(limits.tpm / 60)),
    });
  }
  return {
    dimensions,
    requestIndex,
    tokenIndex,
    concurrency: limits.concurrency ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * Rate limiter middleware (stage `limiter`, run per target): requests and tokens per minute through
 * GCRA with a small burst, a concurrency cap, and a bounded priority queue in front of them. It adapts
 * to the provider: `remaining`/`reset` headers lower the local allowance, a 429 pauses the scope until
 * `retry-after` and the backlog then leaves at the steady rate. Refusals are `RateLimitError` with
 * `local: true`, `scope: 'limiter'` and a `retryAfterMs` estimate.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const {
    limits,
    scope = 'provider+model',
    maxQueue = 1000,
    maxWaitMs = 30_000,
    defaultOutputTokens = 1024,
    estimateTokens = defaultEstimator,
    defaultPauseMs = 1000,
    adaptive = true,
    name = 'limiter',
  } = options;
  if (typeof limits !== 'function' && (typeof limits !== 'object' || limits === null)) {
    throw new ConfigError({
      path: 'limits',
      message: 'limits must be an object by provider name or a function',
    });
  }
  if (typeof limits === 'object') {
    for (const [provider, entry] of Object.entries(limits)) limitsToDimensions(entry, `limits.${provider}`);
  }
  checkNumber(maxQueue, 'maxQueue', true);
  checkNumber(defaultOutputTokens, 'defaultOutputTokens', true);
  checkNumber(defaultPauseMs, 'defaultPauseMs', false);
  if (typeof maxWaitMs === 'number' && !(maxWaitMs >= 0)) {
    throw new ConfigError({ path: 'maxWaitMs', message: `maxWaitMs must be ≥ 0; got ${String(maxWaitMs)}` });
  }
  const ownsStore = options.store === undefined;
  const store = options.store ?? createMemoryLimiterStore();
  let clock = options.clock;
  const byKey = new Map<string, TargetState | typeof noLimits>();
  const byProvider = new Map<string, Map<string, TargetState | typeof noLimits>>();

  const createState = (key: string, target: Target): TargetState | typeof noLimits => {
    const found = typeof limits === 'function' ? limits(target) : limits[target.provider];
    if (!found) return noLimits;
    const { dimensions, requestIndex, tokenIndex, concurrency } = limitsToDimensions(
      found,
      `limits.${target.provider}`,
    );
    if (dimensions.length === 0 && concurrency === Number.POSITIVE_INFINITY) return noLimits;
    return {
      key,
      provider: target.provider,
      model: target.model,
      dimensions,
      requestIndex,
      tokenIndex,
      concurrency,
      inFlight: 0,
      queue: new WaiterQueue(dimensions.length),
      pausedUntil: 0,
      serverBudgets: new Array(dimensions.length).fill(undefined),
      pumpTimer: undefined,
      pumpAt: 0,
      pumping: false,
      stats: {
        key,
        provider: target.provider,
        model: scope === 'provider' ? '*' : target.model,
        queueLength: 0,
        inFlight: 0,
        admitted: 0,
        rejected: 0,
        waited: 0,
        waitMsTotal: 0,
        waitMsMax: 0,
        tokensReserved: 0,
        tokensUsed: 0,
        rateLimited: 0,
      },
    };
  };

  const stateFor = (context: CallContext): TargetState | undefined => {
    const target = context.target;
    if (!target) return undefined;
    let found: TargetState | typeof noLimits | undefined;
    if (typeof scope === 'function') {
      const key = scope(target, context);
      found = byKey.get(key);
      if (found === undefined) {
        found = createState(key, target);
        byKey.set(key, found);
      }
    } else {
      let models = byProvider.get(target.provider);
      if (!models) {
        models = new Map();
        byProvider.set(target.provider, models);
      }
      const modelKey = scope === 'provider' ? '' : target.model;
      found = models.get(modelKey);
      if (found === undefined) {
        const key = scope === 'provider' ? target.provider : `${target.provider}/${target.model}`;
        found = byKey.get(key) ?? createState(key, target);
        models.set(modelKey, found);
        byKey.set(key, found);
      }
    }
    return found === noLimits ? undefined : found;
  };

  const clockOf = (context: CallContext): Clock => {
    if (!clock) clock = context.clock;
    return clock;
  };

  const costsOf = (state: TargetState, request: ChatRequest): number[] => {
    const costs = new Array<number>(state.dimensions.length);
    if (state.requestIndex >= 0) costs[state.requestIndex] = 1;
    if (state.tokenIndex >= 0) {
      const tokens = estimateTokens(request) + (request.maxTokens ?? defaultOutputTokens);
      costs[state.tokenIndex] = tokens;
    }
    return costs;
  };

  const serverWait = (state: TargetState, costs: readonly number[], now: number): number => {
    let wait = state.pausedUntil > now ? state.pausedUntil - now : 0;
    for (let index = 0; index < state.serverBudgets.length; index += 1) {
      const budget = state.serverBudgets[index];
      if (!budget) continue;
      refillBudget(budget, now);
      if (budget.tokens >= budget.capacity) {
        state.serverBudgets[index] = undefined;
        continue;
      }
      const cost = costs[index] ?? 0;
      if (budget.tokens >= cost) continue;
      const needed = budget.refillPerMs > 0 ? (cost - budget.tokens) / budget.refillPerMs : minute;
      if (needed > wait) wait = needed;
    }
    return wait > 0 ? Math.ceil(wait) : 0;
  };

  const chargeServerBudgets = (state: TargetState, costs: readonly number[]): void => {
    for (let index = 0; index < state.serverBudgets.length; index += 1) {
      const budget = state.serverBudgets[index];
      if (budget) budget.tokens -= costs[index] ?? 0;
    }
  };

  const estimateWait = (state: TargetState, priority: number, retryAfterMs: number, now: number): number => {
    const headWait = state.pumpTimer ? state.pumpAt - now : 0;
    let wait = Math.max(retryAfterMs, headWait, state.pausedUntil - now, 0);
    for (let index = 0; index < state.dimensions.length; index += 1) {
      const ahead = state.queue.ahead(priority, index);
      const queued = wait + ahead.cost * emissionInterval(state.dimensions[index]!);
      if (queued > wait) wait = queued;
    }
    return Math.ceil(wait);
  };

  const reject = (
    state: TargetState,
    context: CallContext,
    reason: 'queue-full' | 'expected-wait' | 'max-wait',
    retryAfterMs: number,
  ): RateLimitError => {
    state.stats.rejected += 1;
    if (context.events.has('limiter:reject')) {
      context.events.emit('limiter:reject', {
        callId: context.callId,
        tenant: context.metadata.tenant,
        provider: state.provider,
        model: context.target?.model ?? state.model,
        reason,
        retryAfterMs,
      });
    }
    const messages = {
      'queue-full': `the queue of ${state.key} is full (${maxQueue} waiting)`,
      'expected-wait': `${state.key} has no capacity within this call's maximum wait`,
      'max-wait': `waited the maximum time for ${state.key}`,
    } as const;
    return new RateLimitError({
      scope: 'limiter',
      local: true,
      retryAfterMs,
      provider: state.provider,
      model: context.target?.model ?? state.model,
      message: `Rate limited by Bulwark's limiter: ${messages[reason]}; retry in about ${retryAfterMs} ms`,
    });
  };

  const cancelPumpTimer = (state: TargetState): void => {
    state.pumpTimer?.();
    state.pumpTimer = undefined;
  };

  const schedulePump = (state: TargetState, delayMs: number, now: number): void => {
    const at = now + Math.max(1, delayMs);
    if (state.pumpTimer && state.pumpAt <= at) return;
    cancelPumpTimer(state);
    state.pumpAt = at;
    state.pumpTimer = clock!.setTimer(at - now, () => {
      state.pumpTimer = undefined;
      void pump(state);
    });
  };

  const countAdmission = (state: TargetState, costs: readonly number[]): void => {
    state.stats.admitted += 1;
    if (state.tokenIndex >= 0) state.stats.tokensReserved += costs[state.tokenIndex] ?? 0;
  };

  const grant = (state: TargetState, waiter: Waiter, now: number): void => {
    waiter.cleanup();
    const waited = now - waiter.enqueuedAt;
    const stats = state.stats;
    countAdmission(state, waiter.costs);
    stats.waited += 1;
    stats.waitMsTotal += waited;
    if (waited > stats.waitMsMax) stats.waitMsMax = waited;
    const context = waiter.context;
    if (context.events.has('limiter:wait')) {
      context.events.emit('limiter:wait', {
        callId: context.callId,
        tenant: context.metadata.tenant,
        provider: state.provider,
        model: context.target?.model ?? state.model,
        waitedMs: waited,
        queueLength: state.queue.size,
      });
    }
    waiter.resolve();
  };

  /** Admits queued callers in order while capacity lasts; one pump per scope at a time. */
  const pump = async (state: TargetState): Promise<void> => {
    if (state.pumping) return;
    state.pumping = true;
    try {
      while (state.queue.size > 0) {
        const head = state.queue.peek()!;
        if (state.inFlight >= state.concurrency) return;
        let now = clock!.now();
        const wait = serverWait(state, head.costs, now);
        if (wait > 0) {
          schedulePump(state, wait, now);
          return;
        }
        state.inFlight += 1;
        let result: AcquireResult;
        try {
          const pending = store.acquire(state.key, head.costs, state.dimensions, now);
          result = isPromise(pending) ? await pending : pending;
        } catch (error) {
          state.inFlight -= 1;
          if (state.queue.remove(head)) {
            head.cleanup();
            head.reject(error);
          }
          continue;
        }
        now = clock!.now();
        if (!result.allowed) {
          state.inFlight -= 1;
          if (state.queue.size > 0) schedulePump(state, result.retryAfterMs, now);
          return;
        }
        if (!state.queue.remove(head)) {
          // The waiter left (abort or max wait) while the store answered: give back what it was charged.
          state.inFlight -= 1;
          await refund(state, head.costs, now);
          continue;
        }
        chargeServerBudgets(state, head.costs);
        grant(state, head, now);
      }
    } finally {
      state.pumping = false;
      if (state.queue.size === 0) cancelPumpTimer(state);
    }
  };

  const refund = async (state: TargetState, costs: readonly number[], now: number): Promise<void> => {
    const deltas = costs.map((cost) => -cost);
    try {
      await store.adjust(state.key, deltas, state.dimensions, now);
    } catch {
      // A failed refund only leaves the limiter a little conservative.
    }
  };

  const enqueue = (
    state: TargetState,
    costs: readonly number[],
    context: CallContext,
    retryAfterMs: number,
    now: number,
  ): Promise<void> => {
    if (context.signal.aborted) return Promise.reject(new AbortedError({ cause: context.signal.reason }));
    const priority = context.metadata.priority ?? 0;
    const estimate = estimateWait(state, priority, retryAfterMs, now);
    if (state.queue.size >= maxQueue) return Promise.reject(reject(state, context, 'queue-full', estimate));
    let allowed = typeof maxWaitMs === 'function' ? maxWaitMs(context) : maxWaitMs;
    if (context.deadline !== undefined) allowed = Math.min(allowed, context.deadline - now);
    if (estimate > allowed) return Promise.reject(reject(state, context, 'expected-wait', estimate));
    return new Promise<void>((resolve, rejectWaiter) => {
      const onAbort = (): void => {
        if (!state.queue.remove(waiter)) return;
        waiter.cleanup();
        if (state.queue.size === 0) cancelPumpTimer(state);
        rejectWaiter(new AbortedError({ cause: context.signal.reason }));
      };
      const cancelTimer = clock!.setTimer(allowed, () => {
        if (!state.queue.remove(waiter)) return;
        context.signal.removeEventListener('abort', onAbort);
        if (state.queue.size === 0) cancelPumpTimer(state);
        const at = clock!.now();
        rejectWaiter(reject(state, context, 'max-wait', estimateWait(state, priority, 0, at)));
      });
      const waiter: Waiter = {
        priority,
        costs,
        context,
        enqueuedAt: now,
        resolve,
        reject: rejectWaiter,
        cleanup: () => {
          cancelTimer();
          context.signal.removeEventListener('abort', onAbort);
        },
      };
      context.signal.addEventListener('abort', onAbort, { once: true });
      state.queue.push(waiter);
      if (state.queue.peek() === waiter && state.inFlight < state.concurrency) {
        schedulePump(state, retryAfterMs, now);
      }
    });
  };

  /** Takes capacity for one call: at once when the queue is empty and capacity allows, else queued. */
  const acquire = async (
    state: TargetState,
    costs: readonly number[],
    context: CallContext,
  ): Promise<void> => {
    const activeClock = clockOf(context);
    throwIfAborted(context.signal);
    let now = activeClock.now();
    let retryAfterMs = 0;
    if (state.queue.size === 0 && state.inFlight < state.concurrency) {
      retryAfterMs = serverWait(state, costs, now);
      if (retryAfterMs === 0) {
        state.inFlight += 1;
        let result: AcquireResult;
        try {
          const pending = store.acquire(state.key, costs, state.dimensions, now);
          result = isPromise(pending) ? await pending : pending;
        } catch (error) {
          state.inFlight -= 1;
          throw error;
        }
        if (result.allowed) {
          chargeServerBudgets(state, costs);
          countAdmission(state, costs);
          return;
        }
        state.inFlight -= 1;
        retryAfterMs = result.retryAfterMs;
        now = activeClock.now();
      }
    }
    await enqueue(state, costs, context, retryAfterMs, now);
  };

  const release = (state: TargetState): void => {
    state.inFlight -= 1;
    if (state.queue.size > 0 && !state.pumpTimer) void pump(state);
  };

  const adapt = (state: TargetState, rateLimit: RateLimitInfo, now: number): void => {
    if (!adaptive) return;
    if (state.requestIndex >= 0) {
      updateBudget(
        state,
        state.requestIndex,
        rateLimit.limitRequests,
        rateLimit.remainingRequests,
        rateLimit.resetRequestsMs,
        now,
      );
    }
    if (state.tokenIndex >= 0) {
      updateBudget(
        state,
        state.tokenIndex,
        rateLimit.limitTokens,
        rateLimit.remainingTokens,
        rateLimit.resetTokensMs,
        now,
      );
    }
  };

  const updateBudget = (
    state: TargetState,
    index: number,
    limit: number | undefined,
    remaining: number | undefined,
    resetMs: number | undefined,
    now: number,
  ): void => {
    // Azure sends -1 and 0 placeholders; a header that cannot describe a real allowance is ignored.
    if (remaining === undefined || !Number.isFinite(remaining) || remaining < 0) return;
    if (limit !== undefined && (!Number.isFinite(limit) || limit <= 0)) return;
    if (resetMs === undefined || !Number.isFinite(resetMs) || resetMs < 0) return;
    const capacity = limit ?? Math.max(remaining, state.dimensions[index]!.burst);
    if (remaining >= capacity || resetMs === 0) {
      state.serverBudgets[index] = undefined;
      return;
    }
    state.serverBudgets[index] = {
      tokens: remaining,
      capacity,
      refillPerMs: (capacity - remaining) / resetMs,
      updatedAt: now,
    };
  };

  const pause = (state: TargetState, error: RateLimitError, context: CallContext, now: number): void => {
    state.stats.rateLimited += 1;
    if (!adaptive || error.scope === 'quota') return;
    const durationMs = error.retryAfterMs ?? defaultPauseMs;
    if (now + durationMs > state.pausedUntil) state.pausedUntil = now + durationMs;
    if (context.events.has('limiter:pause')) {
      context.events.emit('limiter:pause', {
        provider: state.provider,
        model: context.target?.model ?? state.model,
        key: state.key,
        durationMs,
      });
    }
    try {
      const pending = store.pause(state.key, durationMs, state.dimensions, now);
      if (isPromise(pending)) {
        pending.catch((cause: unknown) =>
          context.logger.warn('limiter store pause failed', { key: state.key, error: cause }),
        );
      }
    } catch (cause) {
      context.logger.warn('limiter store pause failed', { key: state.key, error: cause });
    }
  };

  /** Settles the token reservation once the real usage is known (both ways). */
  const correct = (
    state: TargetState,
    costs: readonly number[],
    usage: Usage,
    context: CallContext,
  ): void => {
    if (state.tokenIndex < 0) return;
    const used = usage.inputTokens + usage.outputTokens;
    state.stats.tokensUsed += used;
    const delta = used - (costs[state.tokenIndex] ?? 0);
    adjustTokens(state, delta, context);
  };

  const adjustTokens = (state: TargetState, delta: number, context: CallContext): void => {
    if (delta === 0) return;
    const budget = state.serverBudgets[state.tokenIndex];
    if (budget) budget.tokens -= delta;
    const deltas = new Array<number>(state.dimensions.length).fill(0);
    deltas[state.tokenIndex] = delta;
    try {
      const pending = store.adjust(state.key, deltas, state.dimensions, clock!.now());
      if (isPromise(pending)) {
        pending.catch((cause: unknown) =>
          context.logger.warn('limiter store adjust failed', { key: state.key, error: cause }),
        );
      }
    } catch (cause) {
      context.logger.warn('limiter store adjust failed', { key: state.key, error: cause });
    }
  };

  const onFailure = (
    state: TargetState,
    costs: readonly number[],
    request: ChatRequest,
    error: unknown,
    context: CallContext,
  ): void => {
    if (!BulwarkError.isInstance(error)) return;
    if (RateLimitError.isInstance(error) && !error.local) pause(state, error, context, clock!.now());
    if (error.usage) {
      correct(state, costs, error.usage, context);
      return;
    }
    // Aborted or timed-out calls may have generated tokens the provider bills: keep the reservation.
    if (error.code === 'aborted' || error.code === 'timeout' || error.local) return;
    if (error.status !== undefined && state.tokenIndex >= 0) {
      // The provider answered with an error before generating: the output reservation was not used.
      adjustTokens(state, -(request.maxTokens ?? defaultOutputTokens), context);
    }
  };

  const limiter: RateLimiter = {
    specificationVersion: 'v1',
    name,
    stage: 'limiter',
    async complete(request: ChatRequest, context: CallContext, next: CompleteHandler): Promise<ChatResponse> {
      const state = stateFor(context);
      if (!state) return next(request, context);
      const costs = costsOf(state, request);
      await acquire(state, costs, context);
      try {
        const response = await next(request, context);
        if (response.rateLimit) adapt(state, response.rateLimit, clock!.now());
        if (response.usage) correct(state, costs, response.usage, context);
        return response;
      } catch (error) {
        onFailure(state, costs, request, error, context);
        throw error;
      } finally {
        release(state);
      }
    },
    async *stream(
      request: ChatRequest,
      context: CallContext,
      next: StreamHandler,
    ): AsyncIterable<StreamEvent> {
      const state = stateFor(context);
      if (!state) {
        yield* next(request, context);
        return;
      }
      const costs = costsOf(state, request);
      await acquire(state, costs, context);
      let usage: Usage | undefined;
      try {
        for await (const event of next(request, context)) {
          if (event.type === 'start') {
            if (event.rateLimit) adapt(state, event.rateLimit, clock!.now());
          } else if (event.type === 'usage') {
            usage = event.usage;
          }
          yield event;
        }
      } catch (error) {
        if (!usage) onFailure(state, costs, request, error, context);
        throw error;
      } finally {
        // Without a usage event (aborted or cut stream) the reservation stands.
        if (usage) correct(state, costs, usage, context);
        release(state);
      }
    },
    stats() {
      const targets: LimiterTargetStats[] = [];
      const total: LimiterStats = {
        queueLength: 0,
        inFlight: 0,
        admitted: 0,
        rejected: 0,
        rateLimited: 0,
        tokensReserved: 0,
        tokensUsed: 0,
        targets,
      };
      for (const state of new Set(byKey.values())) {
        if (state === noLimits) continue;
        const stats = { ...state.stats, queueLength: state.queue.size, inFlight: state.inFlight };
        targets.push(stats);
        total.queueLength += stats.queueLength;
        total.inFlight += stats.inFlight;
        total.admitted += stats.admitted;
        total.rejected += stats.rejected;
        total.rateLimited += stats.rateLimited;
        total.tokensReserved += stats.tokensReserved;
        total.tokensUsed += stats.tokensUsed;
      }
      return total;
    },
    async close() {
      for (const state of byKey.values()) {
        if (state === noLimits) continue;
        cancelPumpTimer(state);
        for (const waiter of state.queue.drain()) {
          waiter.cleanup();
          waiter.reject(new AbortedError({ message: 'The rate limiter was closed' }));
        }
      }
      if (ownsStore) await store.close?.();
    },
  };
  return limiter;
}

function refillBudget(budget: ServerBudget, now: number): void {
  if (now <= budget.updatedAt) return;
  budget.tokens = Math.min(budget.capacity, budget.tokens + (now - budget.updatedAt) * budget.refillPerMs);
  budget.updatedAt = now;
}
