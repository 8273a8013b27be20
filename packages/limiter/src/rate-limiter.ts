import {
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type Clock,
  type CompleteHandler,
  ConfigError,
  type MiddlewareV1,
  type StreamEvent,
  type StreamHandler,
  type Target,
  type TargetRef,
  type TokenEstimatorV1,
  type Usage,
} from '@bulwark/core';
import { createAdmission } from './admission-queue.js';
import { createLimiterFeedback } from './feedback.js';
import type { LimiterStoreV1 } from './limiter-store.js';
import { checkNumber, type Limits, limitsToDimensions } from './limits.js';
import { createMemoryLimiterStore } from './memory-limiter-store.js';
import {
  collectStats,
  createLimiterClock,
  createTargetStates,
  type LimiterScope,
  type LimiterStats,
} from './target-state.js';
import {
  estimateTokens as defaultEstimator,
  requestCounterFor,
  type TokenEstimator,
} from './token-estimator.js';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** A target's limiter paused after a provider 429 (every caller of the scope waits `durationMs`). */
    'limiter:pause': TargetRef & { key: string; durationMs: number };
  }
}

export interface RateLimiterOptions {
  /**
   * Limits by configured provider name (as in the gateway's `providers.<name>.limits`), or a function
   * of the target (and the call, for limits per caller with a `scope` function such as a gateway's per-key
   * limits). Targets without limits pass through untouched. A function is asked once per scope key.
   */
  limits: Record<string, Limits> | ((target: Target, context: CallContext) => Limits | undefined);
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
  /**
   * Counts text tokens for the input charge. Default: core's fast per-script estimate; pass
   * `await loadO200kTokenEstimator()` (`@bulwark/usage`) for exact o200k counts. Share one with usage so
   * the limiter and the budget count alike.
   */
  tokenEstimator?: TokenEstimatorV1;
  /** A whole-request counter; overrides `tokenEstimator`. Default: core's `countRequestTokens`. */
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

/** The limiter middleware, with its counters and a `close` that rejects every waiter. */
export interface RateLimiter extends MiddlewareV1 {
  stats(): LimiterStats;
  /** Rejects queued callers with `AbortedError`, cancels timers and closes the store it created. */
  close(): Promise<void>;
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
    estimateTokens = options.tokenEstimator ? requestCounterFor(options.tokenEstimator) : defaultEstimator,
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
  const clock = createLimiterClock(options.clock);
  const states = createTargetStates(limits, scope);
  const admission = createAdmission({ store, clock, maxQueue, maxWaitMs });
  const feedback = createLimiterFeedback({
    store,
    clock,
    adaptive,
    defaultPauseMs,
    defaultOutputTokens,
    estimateTokens,
  });

  const limiter: RateLimiter = {
    specificationVersion: 'v1',
    name,
    stage: 'limiter',
    async complete(request: ChatRequest, context: CallContext, next: CompleteHandler): Promise<ChatResponse> {
      const state = states.stateFor(context);
      if (!state) return next(request, context);
      const costs = feedback.costsOf(state, request);
      await admission.acquire(state, costs, context);
      try {
        const response = await next(request, context);
        if (response.rateLimit) feedback.adapt(state, response.rateLimit);
        if (response.usage) feedback.correct(state, costs, response.usage, context);
        return response;
      } catch (error) {
        feedback.onFailure(state, costs, request, error, context);
        throw error;
      } finally {
        admission.release(state);
      }
    },
    async *stream(
      request: ChatRequest,
      context: CallContext,
      next: StreamHandler,
    ): AsyncIterable<StreamEvent> {
      const state = states.stateFor(context);
      if (!state) {
        yield* next(request, context);
        return;
      }
      const costs = feedback.costsOf(state, request);
      await admission.acquire(state, costs, context);
      let usage: Usage | undefined;
      try {
        for await (const event of next(request, context)) {
          if (event.type === 'start') {
            if (event.rateLimit) feedback.adapt(state, event.rateLimit);
          } else if (event.type === 'usage') {
            usage = event.usage;
          }
          yield event;
        }
      } catch (error) {
        if (!usage) feedback.onFailure(state, costs, request, error, context);
        throw error;
      } finally {
        // Without a usage event (aborted or cut stream) the reservation stands.
        if (usage) feedback.correct(state, costs, usage, context);
        admission.release(state);
      }
    },
    stats: () => collectStats(states.all()),
    async close() {
      for (const state of states.all()) admission.close(state);
      if (ownsStore) await store.close?.();
    },
  };
  return limiter;
}
