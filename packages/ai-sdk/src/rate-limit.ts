import type { RateLimitInfo } from '@bulwark/core';
import {
  getHeader,
  type HeaderSource,
  parseDuration,
  parseHeaderCount,
  parseRetryAfter,
  rateLimitInfo,
} from '@bulwark/provider-utils';

/** Milliseconds from `now` until an RFC 3339 time (never negative), or undefined when it does not parse. */
function untilTime(text: string | undefined, now: number): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Reads the rate-limit headers of whichever API answered: Anthropic's `anthropic-ratelimit-*` (resets as
 * RFC 3339 times), else the `x-ratelimit-*` family OpenAI and most OpenAI-style servers send (resets as
 * durations), plus `retry-after-ms` / `retry-after`. Undefined when the answer carried none.
 */
export function rateLimitFromHeaders(
  headers: HeaderSource,
  now: number = Date.now(),
): RateLimitInfo | undefined {
  if (!headers) return undefined;
  const anthropic = 'anthropic-ratelimit-';
  if (getHeader(headers, `${anthropic}requests-limit`) !== undefined) {
    const tokens = getHeader(headers, `${anthropic}tokens-limit`) !== undefined ? 'tokens' : 'input-tokens';
    return rateLimitInfo({
      limitRequests: parseHeaderCount(headers, `${anthropic}requests-limit`),
      remainingRequests: parseHeaderCount(headers, `${anthropic}requests-remaining`),
      resetRequestsMs: untilTime(getHeader(headers, `${anthropic}requests-reset`), now),
      limitTokens: parseHeaderCount(headers, `${anthropic}${tokens}-limit`),
      remainingTokens: parseHeaderCount(headers, `${anthropic}${tokens}-remaining`),
      resetTokensMs: untilTime(getHeader(headers, `${anthropic}${tokens}-reset`), now),
      retryAfterMs: parseRetryAfter(headers, now),
    });
  }
  return rateLimitInfo({
    limitRequests: parseHeaderCount(headers, 'x-ratelimit-limit-requests'),
    remainingRequests: parseHeaderCount(headers, 'x-ratelimit-remaining-requests'),
    resetRequestsMs: parseDuration(getHeader(headers, 'x-ratelimit-reset-requests')),
    limitTokens: parseHeaderCount(headers, 'x-ratelimit-limit-tokens'),
    remainingTokens: parseHeaderCount(headers, 'x-ratelimit-remaining-tokens'),
    resetTokensMs: parseDuration(getHeader(headers, 'x-ratelimit-reset-tokens')),
    retryAfterMs: parseRetryAfter(headers, now),
  });
}

/** The upstream's request id from the headers the common APIs use. */
export function requestIdFromHeaders(headers: HeaderSource): string | undefined {
  return (
    getHeader(headers, 'x-request-id') ??
    getHeader(headers, 'request-id') ??
    getHeader(headers, 'x-goog-request-id') ??
    getHeader(headers, 'x-amzn-requestid')
  );
}
