/**
 * How the wait before a retry is drawn.
 * - `full` (default): uniform in `[0, min(cap, base·2^n))` — AWS standard mode; least total work.
 * - `decorrelated`: `min(cap, uniform[base, previous·3))` — Brooker's form; finishes slightly sooner.
 * - `equal`: half fixed, half random: `e/2 + uniform[0, e/2)` with `e = min(cap, base·2^n)`.
 * - `none`: exactly `min(cap, base·2^n)` (for tests and for reproducing fixed schedules).
 */
export type JitterStrategy = 'full' | 'decorrelated' | 'equal' | 'none';

export const jitterStrategies: readonly JitterStrategy[] = ['full', 'decorrelated', 'equal', 'none'];

export interface BackoffInput {
  strategy: JitterStrategy;
  /** 0 for the first retry, 1 for the second… */
  retryIndex: number;
  /** The previous delay (decorrelated jitter grows from it); use `baseDelayMs` before the first retry. */
  previousDelayMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Random source in [0, 1). */
  random: () => number;
}

/**
 * The backoff delay in ms. Always finite and within `[0, maxDelayMs]`, however many retries were made
 * (the exponent is clamped, so `2^n` never overflows to Infinity and decorrelated jitter never NaN).
 */
export function backoffDelay(input: BackoffInput): number {
  const { baseDelayMs: base, maxDelayMs: cap } = input;
  if (cap <= 0 || base <= 0) return 0;
  const exponential = Math.min(cap, base * 2 ** Math.min(Math.max(0, input.retryIndex), 52));
  let delay: number;
  switch (input.strategy) {
    case 'none':
      delay = exponential;
      break;
    case 'equal':
      delay = exponential / 2 + input.random() * (exponential / 2);
      break;
    case 'decorrelated': {
      const previous = Number.isFinite(input.previousDelayMs) ? Math.max(base, input.previousDelayMs) : cap;
      const upper = Math.min(cap, previous * 3);
      delay = Math.min(cap, base + input.random() * Math.max(0, upper - base));
      break;
    }
    default:
      delay = input.random() * exponential;
  }
  return Number.isFinite(delay) ? Math.min(cap, Math.max(0, delay)) : cap;
}
