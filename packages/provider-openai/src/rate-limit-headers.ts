import type { RateLimitInfo } from '@bulwark/core';
import {
  getHeader,
  type HeaderSource,
  parseDuration,
  parseHeaderCount,
  parseRetryAfter,
  rateLimitInfo,
} from '@bulwark/provider-utils';

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
