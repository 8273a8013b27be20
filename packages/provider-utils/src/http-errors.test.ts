import type { RateLimitError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { errorFromHttpResponse } from './http-errors.js';
import { describeErrorChain, isConnectionFailure } from './network-errors.js';
import { waitFromResets } from './rate-limit-headers.js';

describe('errorFromHttpResponse', () => {
  it.each([
    [429, undefined, 'rate_limited'],
    [429, 'insufficient_quota', 'rate_limited'],
    [529, 'overloaded_error', 'overloaded'],
    [500, undefined, 'server_error'],
    [502, undefined, 'server_error'],
    [503, undefined, 'server_error'],
    [408, undefined, 'timeout'],
    [401, 'authentication_error', 'authentication'],
    [403, 'permission_error', 'permission'],
    [404, 'not_found_error', 'not_found'],
    [400, 'context_length_exceeded', 'context_length_exceeded'],
    [400, 'content_filter', 'content_filtered'],
    [400, 'invalid_request_error', 'invalid_request'],
  ])('%i %s → %s', (status, errorType, code) => {
    const error = errorFromHttpResponse({ status, ...(errorType ? { errorType } : {}), provider: 'p' });
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
  });

  it('marks a spent quota as not retryable and keeps retry-after', () => {
    const error = errorFromHttpResponse({
      status: 429,
      errorType: 'insufficient_quota',
      headers: { 'retry-after': '2' },
    }) as RateLimitError;
    expect(error.scope).toBe('quota');
    expect(error.retryable).toBe(false);
    expect(error.retryAfterMs).toBe(2000);
  });

  it('waits for the exhausted allowance of a 429 that sent no retry-after', () => {
    const rateLimit = { remainingRequests: 0, resetRequestsMs: 700, remainingTokens: 5, resetTokensMs: 90 };
    expect(errorFromHttpResponse({ status: 429, rateLimit }).retryAfterMs).toBe(700);
    expect(
      errorFromHttpResponse({ status: 429, rateLimit, headers: { 'retry-after': '2' } }).retryAfterMs,
    ).toBe(2000);
    expect(errorFromHttpResponse({ status: 503, rateLimit }).retryAfterMs).toBeUndefined();
  });

  it('obeys x-should-retry over the status', () => {
    expect(errorFromHttpResponse({ status: 500, headers: { 'x-should-retry': 'false' } }).retryable).toBe(
      false,
    );
    expect(errorFromHttpResponse({ status: 400, headers: { 'x-should-retry': 'true' } }).retryable).toBe(
      true,
    );
  });

  it('keeps the raw body with secrets removed', () => {
    const error = errorFromHttpResponse({
      status: 401,
      body: '{"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnop"}}',
      message: 'Incorrect API key provided: sk-proj-abcdefghijklmnop',
    });
    expect(error.rawBody).toContain('[REDACTED]');
    expect(error.rawBody).not.toContain('abcdefghijklmnop');
    expect(error.message).not.toContain('abcdefghijklmnop');
  });
});

describe('network failure helpers', () => {
  it('recognises connection failures through the cause chain', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const undici = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(isConnectionFailure(reset)).toBe(true);
    expect(isConnectionFailure(new Error('wrapper', { cause: undici }))).toBe(true);
    expect(isConnectionFailure(new Error('400 bad request'))).toBe(false);
    expect(describeErrorChain(new Error('wrapper', { cause: undici }))).toBe(
      'wrapper: terminated: other side closed',
    );
  });

  it('waits for the exhausted allowance after a 429 without retry-after', () => {
    expect(
      waitFromResets({ remainingRequests: 0, resetRequestsMs: 500, remainingTokens: 0, resetTokensMs: 900 }),
    ).toBe(900);
    expect(
      waitFromResets({ remainingRequests: 3, resetRequestsMs: 500, remainingTokens: 9, resetTokensMs: 900 }),
    ).toBe(500);
    expect(waitFromResets(undefined)).toBeUndefined();
  });
});
