import type { RateLimitInfo } from '@bulwark/core';
import {
  getHeader,
  type HeaderSource,
  parseDuration,
  parseHeaderCount,
  parseRetryAfter,
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
  let info: RateLimitInfo | undefined;
  const set = <K extends keyof RateLimitInfo>(key: K, value: number | undefined): void => {
    if (value === undefined) return;
    info ??= {};
    info[key] = value;
  };
  set('limitRequests', parseHeaderCount(headers, 'x-ratelimit-limit-requests'));
  set('remainingRequests', parseHeaderCount(headers, 'x-ratelimit-remaining-requests'));
  set('resetRequestsMs', parseDuration(getHeader(headers, 'x-ratelimit-reset-requests')));
  set('limitTokens', parseHeaderCount(headers, 'x-ratelimit-limit-tokens'));
  set('remainingTokens', parseHeaderCount(headers, 'x-ratelimit-remaining-tokens'));
  set('resetTokensMs', parseDuration(getHeader(headers, 'x-ratelimit-reset-tokens')));
  set('retryAfterMs', parseRetryAfter(headers, now));
  return info;
}
