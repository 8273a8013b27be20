import type { AcquireResult, RateDimension } from './limiter-store.js';

/** Milliseconds one unit of `dimension` takes to refill. */
export function emissionInterval(dimension: RateDimension): number {
  return dimension.periodMs / dimension.limit;
}

/**
 * GCRA admission over several dimensions, all or nothing, on an array of theoretical arrival times
 * (one per dimension, mutated in place when admitted). The Redis Lua script implements the same math.
 *
 * Per dimension with emission `e` and tolerance `τ = burst·e` (burst in units of emission, never in
 * periods): `next = max(tat, now) + cost·e`; the cost fits when `next − τ ≤ now`, or when the bucket is
 * full (`tat ≤ now`) so that a cost larger than the burst is admitted into debt instead of never.
 */
export function gcraAcquire(
  tats: Float64Array,
  costs: readonly number[],
  dimensions: readonly RateDimension[],
  now: number,
): AcquireResult {
  let wait = 0;
  for (let index = 0; index < dimensions.length; index += 1) {
    const cost = costs[index] ?? 0;
    if (cost <= 0) continue;
    const dimension = dimensions[index]!;
    const emission = emissionInterval(dimension);
    const tat = Math.max(tats[index]!, now);
    const allowAt = Math.min(tat + cost * emission - dimension.burst * emission, tat);
    if (allowAt > now && allowAt - now > wait) wait = allowAt - now;
  }
  if (wait > 0) return { allowed: false, retryAfterMs: Math.ceil(wait) };
  for (let index = 0; index < dimensions.length; index += 1) {
    const cost = costs[index] ?? 0;
    if (cost <= 0) continue;
    tats[index] = Math.max(tats[index]!, now) + cost * emissionInterval(dimensions[index]!);
  }
  return allowedResult;
}

const allowedResult: AcquireResult = Object.freeze({ allowed: true, retryAfterMs: 0 });

/** Charges or refunds units without a check. A refund never brings a bucket above full. */
export function gcraAdjust(
  tats: Float64Array,
  deltas: readonly number[],
  dimensions: readonly RateDimension[],
  now: number,
): void {
  for (let index = 0; index < dimensions.length; index += 1) {
    const delta = deltas[index] ?? 0;
    if (delta === 0) continue;
    const next = Math.max(tats[index]!, now) + delta * emissionInterval(dimensions[index]!);
    tats[index] = Math.max(next, now);
  }
}

/** Empties every bucket and holds it empty until `now + durationMs`. */
export function gcraPause(
  tats: Float64Array,
  durationMs: number,
  dimensions: readonly RateDimension[],
  now: number,
): void {
  for (let index = 0; index < dimensions.length; index += 1) {
    const dimension = dimensions[index]!;
    const emptyAt = now + durationMs + dimension.burst * emissionInterval(dimension);
    if (emptyAt > tats[index]!) tats[index] = emptyAt;
  }
}
