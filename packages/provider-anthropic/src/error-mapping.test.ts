import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { TimeoutError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { errorFromAnthropicAnswer, mapAnthropicError, statusForErrorType } from './error-mapping.js';
import { parseAnthropicRateLimit, parseResetTime } from './rate-limit-headers.js';

const who = { provider: 'claude', model: 'claude-sonnet-4-20250514' };
const live = () => ({ ...who, signal: new AbortController().signal, timeoutMs: 4000 });
const errorBody = (type: string, message: string) => ({ type: 'error', error: { type, message } });

function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
  return errorFromAnthropicAnswer({ status, body, headers: new Headers(headers), ...who });
}

describe('errorFromAnthropicAnswer', () => {
  it('maps every status and error type', () => {
    expect(answer(529, errorBody('overloaded_error', 'Overloaded')).code).toBe('overloaded');
    expect(answer(500, errorBody('api_error', 'Internal')).code).toBe('server_error');
    expect(answer(503, undefined).code).toBe('server_error');
    expect(answer(401, errorBody('authentication_error', 'invalid x-api-key')).code).toBe('authentication');
    expect(answer(403, errorBody('permission_error', 'nope')).code).toBe('permission');
    expect(answer(404, errorBody('not_found_error', 'model: nope')).code).toBe('not_found');
    expect(
      answer(400, errorBody('invalid_request_error', 'prompt is too long: 250000 tokens > 200000 maximum'))
        .code,
    ).toBe('context_length_exceeded');
    expect(answer(400, errorBody('invalid_request_error', 'max_tokens: Field required'))).toMatchObject({
      code: 'invalid_request',
      rawBody: JSON.stringify(errorBody('invalid_request_error', 'max_tokens: Field required')),
    });
  });

  it('reads retry-after, and the RFC 3339 reset of the exhausted allowance when there is none', () => {
    expect(answer(429, errorBody('rate_limit_error', 'slow'), { 'retry-after': '7' })).toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 7000,
    });
    const reset = new Date(Date.now() + 20_000).toISOString();
    const fromReset = answer(429, errorBody('rate_limit_error', 'slow'), {
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-tokens-remaining': '5000',
      'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 1000).toISOString(),
    });
    expect(fromReset.retryAfterMs).toBeGreaterThan(18_000);
    expect(fromReset.retryAfterMs).toBeLessThanOrEqual(20_000);
  });
});

describe('mapAnthropicError', () => {
  it('maps SDK errors by class', () => {
    const timeout = mapAnthropicError(new APIConnectionTimeoutError(), live());
    expect(TimeoutError.isInstance(timeout)).toBe(true);
    expect(timeout).toMatchObject({ phase: 'first-token', timeoutMs: 4000 });
    expect(mapAnthropicError(new APIConnectionError({ message: 'Connection error.' }), live()).code).toBe(
      'connection_error',
    );
    expect(mapAnthropicError(new APIUserAbortError(), live()).code).toBe('aborted');
    const status = APIError.generate(
      529,
      errorBody('overloaded_error', 'Overloaded'),
      undefined,
      new Headers({ 'request-id': 'req_9', 'retry-after': '1' }),
    );
    expect(mapAnthropicError(status, live())).toMatchObject({
      code: 'overloaded',
      requestId: 'req_9',
      retryAfterMs: 1000,
    });
    const html = APIError.generate(502, undefined, '<html>bad gateway</html>', new Headers());
    expect(mapAnthropicError(html, live())).toMatchObject({
      code: 'server_error',
      rawBody: '<html>bad gateway</html>',
    });
  });

  it('maps an in-stream error event like its HTTP status', () => {
    const overloaded = new APIError(
      undefined,
      errorBody('overloaded_error', 'Overloaded'),
      undefined,
      new Headers(),
      'overloaded_error',
    );
    expect(mapAnthropicError(overloaded, live()).code).toBe('overloaded');
    const limited = new APIError(
      undefined,
      errorBody('rate_limit_error', 'slow'),
      undefined,
      new Headers(),
      'rate_limit_error',
    );
    expect(mapAnthropicError(limited, live()).code).toBe('rate_limited');
    const api = new APIError(
      undefined,
      errorBody('api_error', 'oops'),
      undefined,
      new Headers(),
      'api_error',
    );
    expect(mapAnthropicError(api, live()).code).toBe('server_error');
    expect(statusForErrorType('request_too_large')).toBe(413);
    expect(statusForErrorType('brand_new_error')).toBe(500);
  });

  it('maps a socket closed mid-body and keeps a Bulwark abort reason', () => {
    const terminated = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(mapAnthropicError(terminated, live()).code).toBe('connection_error');
    const controller = new AbortController();
    const reason = new TimeoutError({ phase: 'first-token', timeoutMs: 50 });
    controller.abort(reason);
    expect(mapAnthropicError(new APIUserAbortError(), { ...who, signal: controller.signal })).toBe(reason);
  });
});

describe('parseAnthropicRateLimit', () => {
  it('reads requests and tokens headers with RFC 3339 resets', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const info = parseAnthropicRateLimit(
      new Headers({
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '49',
        'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:01Z',
        'anthropic-ratelimit-tokens-limit': '40000',
        'anthropic-ratelimit-tokens-remaining': '39000',
        'anthropic-ratelimit-tokens-reset': '2026-01-01T00:00:30Z',
      }),
      now,
    );
    expect(info).toEqual({
      limitRequests: 50,
      remainingRequests: 49,
      resetRequestsMs: 1000,
      limitTokens: 40000,
      remainingTokens: 39000,
      resetTokensMs: 30_000,
    });
    const inputOnly = parseAnthropicRateLimit(
      new Headers({
        'anthropic-ratelimit-input-tokens-limit': '10',
        'anthropic-ratelimit-input-tokens-remaining': '3',
      }),
      now,
    );
    expect(inputOnly).toEqual({ limitTokens: 10, remainingTokens: 3 });
    expect(parseAnthropicRateLimit(new Headers())).toBeUndefined();
    expect(parseResetTime('2025-12-31T23:59:00Z', now)).toBe(0);
    expect(parseResetTime('soon', now)).toBeUndefined();
  });
});
