import {
  BulwarkError,
  type CallContext,
  type ChatRequest,
  RateLimitError,
  type RateLimitInfo,
  type Usage,
} from '@bulwark/core';
import { isPromise } from './admission-queue.js';
import type { LimiterStoreV1 } from './limiter-store.js';
import { chargeServerTokens, mirrorRateLimit } from './server-mirror.js';
import type { LimiterClock, TargetState } from './target-state.js';
import type { TokenEstimator } from './token-estimator.js';

/**
 * What the limiter learns from each call: the costs it reserves up front, the provider's rate-limit
 * headers (mirrored), the real usage (the token reservation is corrected both ways) and 429s (the
 * scope pauses).
 */
export interface LimiterFeedback {
  /** The call's cost per dimension: 1 request, and input estimate + output reservation in tokens. */
  costsOf(state: TargetState, request: ChatRequest): number[];
  /** Follows the provider's `remaining`/`reset` headers (when adaptive). */
  adapt(state: TargetState, rateLimit: RateLimitInfo): void;
  /** Settles the token reservation once the real usage is known (both ways). */
  correct(state: TargetState, costs: readonly number[], usage: Usage, context: CallContext): void;
  /** A failed call: a provider 429 pauses the scope; the reservation is corrected or kept. */
  onFailure(
    state: TargetState,
    costs: readonly number[],
    request: ChatRequest,
    error: unknown,
    context: CallContext,
  ): void;
}

export interface LimiterFeedbackOptions {
  store: LimiterStoreV1;
  clock: LimiterClock;
  adaptive: boolean;
  defaultPauseMs: number;
  defaultOutputTokens: number;
  estimateTokens: TokenEstimator;
}

export function createLimiterFeedback(options: LimiterFeedbackOptions): LimiterFeedback {
  const { store, clock, adaptive, defaultPauseMs, defaultOutputTokens, estimateTokens } = options;

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

  const adjustTokens = (state: TargetState, delta: number, context: CallContext): void => {
    if (delta === 0) return;
    chargeServerTokens(state, delta);
    const deltas = new Array<number>(state.dimensions.length).fill(0);
    deltas[state.tokenIndex] = delta;
    try {
      const pending = store.adjust(state.key, deltas, state.dimensions, clock.current.now());
      if (isPromise(pending)) {
        pending.catch((cause: unknown) =>
          context.logger.warn('limiter store adjust failed', { key: state.key, error: cause }),
        );
      }
    } catch (cause) {
      context.logger.warn('limiter store adjust failed', { key: state.key, error: cause });
    }
  };

  const correct: LimiterFeedback['correct'] = (state, costs, usage, context) => {
    if (state.tokenIndex < 0) return;
    const used = usage.inputTokens + usage.outputTokens;
    state.stats.tokensUsed += used;
    const delta = used - (costs[state.tokenIndex] ?? 0);
    adjustTokens(state, delta, context);
  };

  return {
    costsOf(state, request) {
      const costs = new Array<number>(state.dimensions.length);
      if (state.requestIndex >= 0) costs[state.requestIndex] = 1;
      if (state.tokenIndex >= 0) {
        const tokens = estimateTokens(request) + (request.maxTokens ?? defaultOutputTokens);
        costs[state.tokenIndex] = tokens;
      }
      return costs;
    },
    adapt(state, rateLimit) {
      if (!adaptive) return;
      mirrorRateLimit(state, rateLimit, clock.current.now());
    },
    correct,
    onFailure(state, costs, request, error, context) {
      if (!BulwarkError.isInstance(error)) return;
      if (RateLimitError.isInstance(error) && !error.local) pause(state, error, context, clock.current.now());
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
    },
  };
}
