import { describe, expect, it, vi } from 'vitest';
import { BulwarkError } from './bulwark-error.js';
import { isHealthFailure, toBulwarkError } from './classify.js';
import {
  AbortedError,
  BreakerOpenError,
  ContextLengthError,
  RateLimitError,
  ServerError,
  TimeoutError,
} from './errors.js';
import { errorFromHttpResponse, parseDuration, parseRetryAfter } from './http.js';

describe('error identity', () => {
  it('is recognised across two copies of core, where instanceof fails', async () => {
    vi.resetModules();
    const copy = (await import('./errors.js')) as typeof import('./errors.js');
    const foreign = new copy.RateLimitError({ retryAfterMs: 10 });
    expect(foreign instanceof RateLimitError).toBe(false);
    expect(BulwarkError.isInstance(foreign)).toBe(true);
    expect(RateLimitError.isInstance(foreign)).toBe(true);
    expect(ServerError.isInstance(foreign)).toBe(false);
    expect(new RateLimitError() instanceof BulwarkError).toBe(true);
  });

  it('keeps the cause and decides flags from the code', () => {
    const cause = new Error('socket hang up');
    const error = new ServerError({ cause, status: 502 });
    expect(error.cause).toBe(cause);
    expect([error.retryable, error.fallbackable, error.local]).toEqual([true, true, false]);
    const quota = new RateLimitError({ scope: 'quota' });
    expect([quota.retryable, quota.fallbackable]).toEqual([false, true]);
    const limiter = new RateLimitError({ scope: 'limiter' });
    expect(limiter.local).toBe(true);
    expect(new TimeoutError({ phase: 'total' }).retryable).toBe(false);
  });

  it('serializes without stack or cause', () => {
    const json = new ServerError({ status: 500, cause: new Error('x'), provider: 'p' }).toJSON();
    expect(json).toMatchObject({ code: 'server_error', status: 500, provider: 'p' });
    expect(JSON.stringify(json)).not.toContain('stack');
  });
});

describe('classification', () => {
  it('counts only provider health failures for breakers', () => {
    expect(isHealthFailure(new ServerError())).toBe(true);
    expect(isHealthFailure(new TimeoutError({ phase: 'first-token' }))).toBe(true);
    expect(isHealthFailure(new TimeoutError({ phase: 'total' }))).toBe(false);
    expect(isHealthFailure(new RateLimitError())).toBe(true);
    expect(isHealthFailure(new RateLimitError(), { countRateLimits: false })).toBe(false);
    expect(isHealthFailure(new RateLimitError({ scope: 'limiter' }))).toBe(false);
    expect(isHealthFailure(new BreakerOpenError())).toBe(false);
    expect(isHealthFailure(new AbortedError())).toBe(false);
    expect(isHealthFailure(new ContextLengthError())).toBe(false);
    expect(isHealthFailure(new Error('plain'))).toBe(false);
  });

  it('wraps foreign errors, and turns aborts into AbortedError', () => {
    const controller = new AbortController();
    controller.abort();
    expect(toBulwarkError(new Error('boom'), controller.signal).code).toBe('aborted');
    const wrapped = toBulwarkError('weird');
    expect(wrapped.code).toBe('unknown');
    expect(wrapped.cause).toBe('weird');
  });
});

describe('retry-after parsing', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    [{ 'retry-after-ms': '1500' }, 1500],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'Retry-After': 'Thu, 01 Jan 2026 00:00:07 GMT' }, 7000],
    [{ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }, 0],
    [{ 'retry-after': 'soon' }, undefined],
    [{ 'retry-after': '-4' }, undefined],
    [{}, undefined],
  ])('%o → %s ms', (headers, expected) => {
    expect(parseRetryAfter(headers, now)).toBe(expected);
    expect(parseRetryAfter(new Headers(headers as Record<string, string>), now)).toBe(expected);
  });

  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['2', 2000],
    ['later', undefined],
    ['', undefined],
  ])('duration %s → %s', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });
});

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
  it('recognises connection failures through the cause chain', async () => {
    const { describeErrorChain, isConnectionFailure } = await import('./network.js');
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

  it('waits for the exhausted allowance after a 429 without retry-after', async () => {
    const { waitFromResets } = await import('./rate-limit-headers.js');
    expect(
      waitFromResets({ remainingRequests: 0, resetRequestsMs: 500, remainingTokens: 0, resetTokensMs: 900 }),
    ).toBe(900);
    expect(
      waitFromResets({ remainingRequests: 3, resetRequestsMs: 500, remainingTokens: 9, resetTokensMs: 900 }),
    ).toBe(500);
    expect(waitFromResets(undefined)).toBeUndefined();
  });
});
