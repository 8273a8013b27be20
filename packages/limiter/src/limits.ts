import { ConfigError } from '@bulwark/core';
import type { RateDimension } from './limiter-store.js';

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

/** `Limits` as the admission math uses them: GCRA dimensions and a concurrency cap. */
export interface LimitDimensions {
  dimensions: RateDimension[];
  /** Index of the requests dimension, or -1 without `rpm`. */
  requestIndex: number;
  /** Index of the tokens dimension, or -1 without `tpm`. */
  tokenIndex: number;
  /** Calls in flight at once (`Infinity` without a cap). */
  concurrency: number;
}

export const minute = 60_000;

/** Throws a `ConfigError` naming `path` unless `value` is absent or a positive (integer) number. */
export function checkNumber(value: number | undefined, path: string, integer: boolean): void {
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
export function limitsToDimensions(limits: Limits, path = 'limits'): LimitDimensions {
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
