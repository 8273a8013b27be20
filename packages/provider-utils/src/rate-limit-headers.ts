import type { RateLimitInfo } from '@bulwark/core';

/**
 * How long to wait after a 429 that sent no `retry-after`: the reset of the exhausted allowance
 * (requests or tokens, the later one when both are spent); when neither says 0 remaining (a request
 * larger than what is left), the sooner reset.
 */
export function waitFromResets(info: RateLimitInfo | undefined): number | undefined {
  if (!info) return undefined;
  const exhausted: number[] = [];
  if (info.remainingRequests === 0 && info.resetRequestsMs !== undefined)
    exhausted.push(info.resetRequestsMs);
  if (info.remainingTokens === 0 && info.resetTokensMs !== undefined) exhausted.push(info.resetTokensMs);
  if (exhausted.length > 0) return Math.max(...exhausted);
  const known = [info.resetRequestsMs, info.resetTokensMs].filter((value) => value !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
}

/** The values that were present, or undefined when the answer carried none (no rate-limit headers). */
export function rateLimitInfo(
  values: Record<keyof RateLimitInfo, number | undefined>,
): RateLimitInfo | undefined {
  let info: RateLimitInfo | undefined;
  for (const key of Object.keys(values) as Array<keyof RateLimitInfo>) {
    const value = values[key];
    if (value === undefined) continue;
    info ??= {};
    info[key] = value;
  }
  return info;
}
