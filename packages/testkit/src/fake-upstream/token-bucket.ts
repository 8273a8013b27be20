/**
 * A token bucket that refills continuously: `capacity` per minute, as providers meter RPM and TPM.
 * Times are milliseconds from the injected clock, so it is deterministic under test.
 */
export interface TokenBucket {
  readonly capacity: number;
  /** Tokens available now (fractional while refilling). */
  available(now: number): number;
  /** Milliseconds until `amount` tokens are available (0 when they are). Infinity when `amount > capacity`. */
  waitFor(amount: number, now: number): number;
  /** Removes `amount` tokens (the caller checked `waitFor` first). Never goes below zero. */
  take(amount: number, now: number): void;
  /** Milliseconds until the bucket is full again. */
  untilFull(now: number): number;
}

export function createTokenBucket(capacity: number, now: number): TokenBucket {
  if (!Number.isFinite(capacity) || capacity <= 0) {
    throw new RangeError(`token bucket capacity must be a positive number, got ${capacity}`);
  }
  const perMs = capacity / 60_000;
  let tokens = capacity;
  let updatedAt = now;
  const refill = (at: number): void => {
    if (at > updatedAt) {
      tokens = Math.min(capacity, tokens + (at - updatedAt) * perMs);
      updatedAt = at;
    }
  };
  return {
    capacity,
    available(at) {
      refill(at);
      return tokens;
    },
    waitFor(amount, at) {
      refill(at);
      if (amount > capacity) return Number.POSITIVE_INFINITY;
      return tokens >= amount ? 0 : Math.ceil((amount - tokens) / perMs);
    },
    take(amount, at) {
      refill(at);
      tokens = Math.max(0, tokens - amount);
    },
    untilFull(at) {
      refill(at);
      return Math.ceil((capacity - tokens) / perMs);
    },
  };
}

/** Formats milliseconds as OpenAI does in `x-ratelimit-reset-*` (Go durations: `120ms`, `1s`, `6m0s`, `1h2m3.5s`). */
export function formatGoDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const secondsText = `${Number.isInteger(seconds) ? seconds : Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${secondsText}`;
  if (minutes > 0) return `${minutes}m${secondsText}`;
  return secondsText;
}

/** RFC 3339 time `ms` from `now`, to the second (rounded up), as Anthropic sends in `anthropic-ratelimit-*-reset`. */
export function formatResetTime(now: number, ms: number): string {
  const at = Math.ceil((now + Math.max(0, ms)) / 1000) * 1000;
  return new Date(at).toISOString().replace('.000Z', 'Z');
}
