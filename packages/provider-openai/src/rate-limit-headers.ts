import {
  getHeader,
  type HeaderSource,
  parseDuration,
  parseRetryAfter,
  type RateLimitInfo,
} from '@bulwark/core';

function parseCount(headers: HeaderSource, name: string): number | undefined {
  const text = getHeader(headers, name);
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Reads OpenAI's rate-limit headers (`x-ratelimit-limit-requests`, `x-ratelimit-remaining-tokens`,
 * `x-ratelimit-reset-requests: 1s`, `x-ratelimit-reset-tokens: 6m0s`, …) and `retry-after-ms` /
 * `retry-after`. Returns undefined when the response carried none of them.
 */
export function parseOpenAIRateLimit(
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
  set('limitRequests', parseCount(headers, 'x-ratelimit-limit-requests'));
  set('remainingRequests', parseCount(headers, 'x-ratelimit-remaining-requests'));
  set('resetRequestsMs', parseDuration(getHeader(headers, 'x-ratelimit-reset-requests')));
  set('limitTokens', parseCount(headers, 'x-ratelimit-limit-tokens'));
  set('remainingTokens', parseCount(headers, 'x-ratelimit-remaining-tokens'));
  set('resetTokensMs', parseDuration(getHeader(headers, 'x-ratelimit-reset-tokens')));
  set('retryAfterMs', parseRetryAfter(headers, now));
  return info;
}

/**
 * How long to wait after a 429 that sent no `retry-after`: the reset time of the exhausted allowance
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
