import {
  type BulwarkError,
  type CallContext,
  type CallEventBase,
  type Clock,
  ConfigError,
  createRetryBudget,
  createStreamCommit,
  type MiddlewareV1,
  type RetryBudget,
  type RetryBudgetOptions,
  type TargetRef,
  toBulwarkError,
} from '@bulwark/core';
import { backoffDelay, type JitterStrategy, jitterStrategies } from './backoff.js';

/** Why the retry middleware stopped retrying and raised the error. */
export type RetryGiveUpReason =
  | 'non-retryable'
  | 'local-rejection'
  | 'max-attempts'
  | 'retry-after-too-long'
  | 'deadline'
  | 'budget'
  | 'aborted'
  | 'committed';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** The retry middleware raised an error instead of retrying; `reason` says why. */
    'retry:gave-up': CallEventBase &
      TargetRef & { attempts: number; error: string; reason: RetryGiveUpReason; retryAfterMs?: number };
  }
}

export interface RetryOptions {
  /** Attempts per target, the first one included. Default 3 (two retries). */
  maxAttempts?: number;
  /** Backoff base: the first retry waits up to this long (full jitter). Default 500 ms. */
  baseDelayMs?: number;
  /** Backoff cap: no computed wait is longer. Default 20 000 ms. */
  maxDelayMs?: number;
  /** How waits are randomised. Default `full`. */
  jitter?: JitterStrategy;
  /**
   * A provider's `retry-after` is a floor: the retry never comes sooner. When it asks for longer than
   * this, the target is not retried at all and the error goes to the router, which tries the next
   * target. Default 60 000 ms.
   */
  retryAfterCapMs?: number;
  /**
   * Caps the extra load retries may add. Options create one budget per target (provider + model);
   * a `RetryBudget` instance is shared by every target; `false` turns the budget off.
   * Default `{ ratio: 0.2, minPerSecond: 1, maxTokens: 10 }` per target.
   */
  budget?: false | RetryBudget | Omit<RetryBudgetOptions, 'clock'>;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Clock for backoff sleeps and the budget. Default: the call context's clock. */
  clock?: Clock;
}

interface Decision {
  retry: boolean;
  delayMs: number;
  reason?: RetryGiveUpReason;
}

function isBudget(value: unknown): value is RetryBudget {
  return typeof value === 'object' && value !== null && typeof (value as RetryBudget).trySpend === 'function';
}

function positive(path: string, value: number, integer: boolean, minimum: number): void {
  if (!Number.isFinite(value) || value < minimum || (integer && !Number.isInteger(value))) {
    throw new ConfigError({
      path,
      message: `${path} must be ${integer ? 'an integer' : 'a number'} ≥ ${minimum} (received ${String(value)})`,
    });
  }
}

const noTarget: TargetRef = { provider: '', model: '' };

/**
 * The retry middleware (stage `retry`, once per target the router tries). Retries what the error's
 * flags call retryable, with exponential backoff and jitter, never sooner than a provider's
 * `retry-after`, never past the call's deadline, within a retry budget, and for streams only while
 * nothing has reached the caller. The caller's abort ends it at once, sleeping included.
 *
 * ```ts
 * const bulwark = createBulwark({ providers, models, middleware: [createRetry({ maxAttempts: 3 })] });
 * ```
 */
export function createRetry(options: RetryOptions = {}): MiddlewareV1 {
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 20_000;
  const jitter = options.jitter ?? 'full';
  const retryAfterCapMs = options.retryAfterCapMs ?? 60_000;
  const random = options.random ?? Math.random;
  positive('maxAttempts', maxAttempts, true, 1);
  positive('baseDelayMs', baseDelayMs, false, 0);
  positive('maxDelayMs', maxDelayMs, false, 0);
  positive('retryAfterCapMs', retryAfterCapMs, false, 0);
  if (!jitterStrategies.includes(jitter)) {
    throw new ConfigError({
      path: 'jitter',
      message: `jitter is "${String(jitter)}"; expected one of ${jitterStrategies.join(', ')}`,
    });
  }
  const budgetOption = options.budget ?? {};
  if (budgetOption !== false && !isBudget(budgetOption)) {
    // Validate now, so bad budget options fail at construction rather than on the first failure.
    createRetryBudget(budgetOption);
  }
  const budgets = new Map<string, RetryBudget>();
  // Targets are the alias's own objects, stable across calls: a WeakMap hit costs no string building.
  const budgetsByTarget = new WeakMap<object, RetryBudget>();

  const budgetFor = (context: CallContext): RetryBudget | undefined => {
    if (budgetOption === false) return undefined;
    if (isBudget(budgetOption)) return budgetOption;
    const target = context.target;
    const cached = target && budgetsByTarget.get(target);
    if (cached) return cached;
    const key = target ? `${target.provider}\u0000${target.model}` : '';
    let budget = budgets.get(key);
    if (!budget) {
      budget = createRetryBudget({ ...budgetOption, clock: options.clock ?? context.clock });
      budgets.set(key, budget);
    }
    if (target) budgetsByTarget.set(target, budget);
    return budget;
  };

  const base = (context: CallContext) => ({
    callId: context.callId,
    ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
    ...(context.target ? { provider: context.target.provider, model: context.target.model } : noTarget),
  });

  const giveUp = (
    context: CallContext,
    error: BulwarkError,
    attempts: number,
    reason: RetryGiveUpReason,
  ): Decision => {
    if (context.events.has('retry:gave-up')) {
      context.events.emit('retry:gave-up', {
        ...base(context),
        attempts,
        error: error.code,
        reason,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      });
    }
    return { retry: false, delayMs: 0, reason };
  };

  /** Decides whether attempt number `attempt` (which just failed with `error`) is retried, and when. */
  const decide = (
    context: CallContext,
    error: BulwarkError,
    attempt: number,
    previousDelayMs: number,
    budget: RetryBudget | undefined,
  ): Decision => {
    if (context.signal.aborted || error.code === 'aborted') return giveUp(context, error, attempt, 'aborted');
    if (!error.retryable) return giveUp(context, error, attempt, 'non-retryable');
    // Bulwark's own limiter already queued the call as long as it was allowed to: waiting again here
    // would stretch that bound. The router moves on to the next target instead.
    if (error.local) return giveUp(context, error, attempt, 'local-rejection');
    if (attempt >= maxAttempts) return giveUp(context, error, attempt, 'max-attempts');
    const retryAfter = error.retryAfterMs;
    if (retryAfter !== undefined && retryAfter > retryAfterCapMs) {
      return giveUp(context, error, attempt, 'retry-after-too-long');
    }
    let delayMs = backoffDelay({
      strategy: jitter,
      retryIndex: attempt - 1,
      previousDelayMs,
      baseDelayMs,
      maxDelayMs,
      random,
    });
    // The provider's wait is a floor; up to 10% extra spreads clients released by the same header.
    if (retryAfter !== undefined) delayMs = Math.max(delayMs, retryAfter * (1 + 0.1 * random()));
    const clock = options.clock ?? context.clock;
    if (context.deadline !== undefined && clock.now() + delayMs >= context.deadline) {
      return giveUp(context, error, attempt, 'deadline');
    }
    if (budget && !budget.trySpend()) {
      if (context.events.has('retry:budget-exhausted')) {
        context.events.emit('retry:budget-exhausted', { ...base(context), error: error.code });
      }
      return giveUp(context, error, attempt, 'budget');
    }
    if (context.events.has('retry:scheduled')) {
      context.events.emit('retry:scheduled', {
        ...base(context),
        attempt: attempt + 1,
        delayMs,
        error: error.code,
      });
    }
    return { retry: true, delayMs };
  };

  return {
    specificationVersion: 'v1',
    name: 'retry',
    stage: 'retry',
    reentrant: true,
    async complete(request, context, next) {
      const budget = budgetFor(context);
      const clock = options.clock ?? context.clock;
      let previousDelayMs = baseDelayMs;
      for (let attempt = 1; ; attempt += 1) {
        try {
          const response = await next(request, context);
          budget?.recordSuccess();
          return response;
        } catch (thrown) {
          const error = toBulwarkError(thrown, context.signal);
          const decision = decide(context, error, attempt, previousDelayMs, budget);
          if (!decision.retry) throw error;
          previousDelayMs = decision.delayMs;
          if (decision.delayMs > 0) await clock.sleep(decision.delayMs, context.signal);
        }
      }
    },
    async *stream(request, context, next) {
      const budget = budgetFor(context);
      const clock = options.clock ?? context.clock;
      let previousDelayMs = baseDelayMs;
      for (let attempt = 1; ; attempt += 1) {
        const commit = createStreamCommit(next(request, context), {
          context,
          ...(context.target ? { target: context.target } : {}),
          // First visible output: from here on a failure cannot be retried without repeating it.
          onInterrupted: (error) => giveUp(context, error, attempt, 'committed'),
        });
        try {
          yield* commit.events;
          budget?.recordSuccess();
          return;
        } catch (thrown) {
          if (commit.committed) throw thrown;
          const error = toBulwarkError(thrown, context.signal);
          const decision = decide(context, error, attempt, previousDelayMs, budget);
          if (!decision.retry) throw error;
          previousDelayMs = decision.delayMs;
          if (decision.delayMs > 0) await clock.sleep(decision.delayMs, context.signal);
        }
      }
    },
  };
}
