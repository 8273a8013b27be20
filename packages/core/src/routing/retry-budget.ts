import { type Clock, systemClock } from '../clock/clock.js';
import { ConfigError } from '../errors/errors.js';

/**
 * A retry budget, shared by the layers that add load by trying again (`@bulwark/retry`'s retries,
 * `@bulwark/hedge`'s hedges): one instance can be handed to both, so it is part of the contract like
 * `Clock`. A token bucket that caps how much extra load retries (and hedges) may add. Each
 * retry spends one token; each success earns `ratio` tokens; a floor of `minPerSecond` tokens per
 * second trickles in over time so a quiet target can still retry. During a full outage no successes
 * come in, so retries fall to the floor instead of multiplying the load by `maxAttempts`.
 */
export interface RetryBudget {
  /** Spends one token if one is available. False means: do not retry (or hedge) now. */
  trySpend(): boolean;
  /** Records a successful call (earns `ratio` tokens). */
  recordSuccess(): void;
  /** Tokens available now (fractional). */
  readonly available: number;
}

export interface RetryBudgetOptions {
  /** Retries allowed per successful call, e.g. 0.2 = retries add at most 20% to the successful load. Default 0.2. */
  ratio?: number;
  /** Retries allowed per second regardless of successes (the floor). Default 1. */
  minPerSecond?: number;
  /** Most tokens the bucket holds (the largest burst of retries). Starts full. Default 10. */
  maxTokens?: number;
  /** Clock for the floor's refill. Default: the system clock. */
  clock?: Clock;
}

function check(name: string, value: number, minimum: number): void {
  if (!Number.isFinite(value) || value < minimum) {
    throw new ConfigError({
      path: `budget.${name}`,
      message: `budget.${name} must be a number ≥ ${minimum} (received ${value})`,
    });
  }
}

/** Creates a retry budget. Share one instance between everything that should draw from the same pool. */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const ratio = options.ratio ?? 0.2;
  const minPerSecond = options.minPerSecond ?? 1;
  const maxTokens = options.maxTokens ?? 10;
  check('ratio', ratio, 0);
  check('minPerSecond', minPerSecond, 0);
  check('maxTokens', maxTokens, 1);
  const clock = options.clock ?? systemClock;
  let tokens = maxTokens;
  let updatedAt = clock.now();
  const refill = (): void => {
    const now = clock.now();
    if (now > updatedAt) {
      tokens = Math.min(maxTokens, tokens + ((now - updatedAt) / 1000) * minPerSecond);
    }
    updatedAt = now;
  };
  return {
    trySpend() {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    recordSuccess() {
      refill();
      tokens = Math.min(maxTokens, tokens + ratio);
    },
    get available() {
      refill();
      return tokens;
    },
  };
}
