import type { RateLimitInfo } from '@bulwark/core';
import {
  getHeader,
  type HeaderSource,
  parseHeaderCount,
  parseRetryAfter,
  rateLimitInfo,
} from '@bulwark/provider-utils';

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
  const prefix = 'anthropic-ratelimit-';
  const tokens = getHeader(headers, `${prefix}tokens-limit`) !== undefined ? 'tokens' : 'input-tokens';
  return rateLimitInfo({
    limitRequests: parseHeaderCount(headers, `${prefix}requests-limit`),
    remainingRequests: parseHeaderCount(headers, `${prefix}requests-remaining`),
    resetRequestsMs: parseResetTime(getHeader(headers, `${prefix}requests-reset`), now),
    limitTokens: parseHeaderCount(headers, `${prefix}${tokens}-limit`),
    remainingTokens: parseHeaderCount(headers, `${prefix}${tokens}-remaining`),
    resetTokensMs: parseResetTime(getHeader(headers, `${prefix}${tokens}-reset`), now),
    retryAfterMs: parseRetryAfter(headers, now),
  });
}
