import { getHeader, type HeaderSource, parseRetryAfter, type RateLimitInfo } from '@bulwark/core';

function parseCount(headers: HeaderSource, name: string): number | undefined {
  const text = getHeader(headers, name);
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Milliseconds from `now` until an RFC 3339 time (never negative), or undefined when it does not parse. */
export function parseResetTime(text: string | undefined, now: number): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Reads Anthropic's rate-limit headers (`anthropic-ratelimit-requests-limit|remaining|reset`,
 * `anthropic-ratelimit-tokens-*`, falling back to `anthropic-ratelimit-input-tokens-*`, resets as
 * RFC 3339 times) and `retry-after`. `now` is wall-clock time, as the headers are. Returns undefined
 * when the response carried none of them.
 */
export function parseAnthropicRateLimit(
  headers: HeaderSource,
  now: number = Date.now(),
): RateLimitInfo | undefined {
  if (!headers) return undefined;
  let info: RateLimitInfo | undefined;
  const set = <K extends keyof RateLimitInfo>(key: K, value: number | undefined): void => {
    if (value === undefined) return;
    info ??= {};
    info[key] = value;
  };
  const prefix = 'anthropic-ratelimit-';
  set('limitRequests', parseCount(headers, `${prefix}requests-limit`));
  set('remainingRequests', parseCount(headers, `${prefix}requests-remaining`));
  set('resetRequestsMs', parseResetTime(getHeader(headers, `${prefix}requests-reset`), now));
  const tokens = getHeader(headers, `${prefix}tokens-limit`) !== undefined ? 'tokens' : 'input-tokens';
  set('limitTokens', parseCount(headers, `${prefix}${tokens}-limit`));
  set('remainingTokens', parseCount(headers, `${prefix}${tokens}-remaining`));
  set('resetTokensMs', parseResetTime(getHeader(headers, `${prefix}${tokens}-reset`), now));
  set('retryAfterMs', parseRetryAfter(headers, now));
  return info;
}

/**
 * How long to wait after a 429 that sent no `retry-after`: the reset of the exhausted allowance (the
 * later one when both are spent); when neither says 0 remaining, the sooner reset.
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
