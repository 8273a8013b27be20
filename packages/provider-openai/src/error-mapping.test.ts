import { AbortedError, TimeoutError } from '@bulwark/core';
import { waitFromResets } from '@bulwark/provider-utils';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { describe, expect, it } from 'vitest';
import { errorFromOpenAIAnswer, mapOpenAIError, statusForErrorType } from './error-mapping.js';
import { parseOpenAIRateLimit } from './rate-limit-headers.js';

const who = { provider: 'openai', model: 'gpt-4o' };
const live = () => ({ ...who, signal: new AbortController().signal, timeoutMs: 5000 });

function answer(status: number, error: unknown, headers: Record<string, string> = {}) {
  return errorFromOpenAIAnswer({ status, error, headers: new Headers(headers), ...who });
}

describe('errorFromOpenAIAnswer', () => {
  it('maps 429 with retry-after seconds, an HTTP date, retry-after-ms and the x-ratelimit-reset durations', () => {
    const seconds = answer(
      429,
      { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
      {
        'retry-after': '3',
      },
    );
    expect(seconds).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      fallbackable: true,
      retryAfterMs: 3000,
      status: 429,
    });
    const date = answer(
      429,
      { message: 'slow down' },
      { 'retry-after': new Date(Date.now() + 10_000).toUTCString() },
    );
    expect(date.retryAfterMs).toBeGreaterThan(8000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(answer(429, { message: 'x' }, { 'retry-after-ms': '250', 'retry-after': '9' }).retryAfterMs).toBe(
      250,
    );
    const resets = answer(
      429,
      { message: 'x' },
      {
        'x-ratelimit-remaining-requests': '10',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-reset-tokens': '6m0s',
      },
    );
    expect(resets.retryAfterMs).toBe(360_000);
  });

  it('maps a spent quota as a non-retryable rate limit', () => {
    const quota = answer(429, {
      message: 'You exceeded your current quota',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    });
    expect(quota).toMatchObject({ code: 'rate_limited', retryable: false, scope: 'quota' });
  });

  it('maps 5xx, overload, 4xx, context length and content filter', () => {
    expect(answer(500, { message: 'boom', type: 'server_error' }).code).toBe('server_error');
    expect(answer(502, undefined).code).toBe('server_error');
    expect(answer(503, { message: 'The engine is currently overloaded', type: 'server_error' }).code).toBe(
      'overloaded',
    );
    expect(answer(401, { message: 'Incorrect API key', code: 'invalid_api_key' }).code).toBe(
      'authentication',
    );
    expect(answer(403, { message: 'no access' }).code).toBe('permission');
    expect(answer(404, { message: 'The model does not exist', code: 'model_not_found' }).code).toBe(
      'not_found',
    );
    expect(
      answer(400, {
        message: "This model's maximum context length is 8192 tokens",
        code: 'context_length_exceeded',
      }).code,
    ).toBe('context_length_exceeded');
    expect(answer(400, { message: 'flagged', code: 'content_filter' }).code).toBe('content_filtered');
    expect(
      answer(400, {
        message: 'Your request was rejected by our safety system',
        code: 'content_policy_violation',
      }).code,
    ).toBe('content_filtered');
    const invalid = answer(400, { message: 'bad param', param: 'temperature' });
    expect(invalid).toMatchObject({ code: 'invalid_request', retryable: false, fallbackable: false });
    expect(invalid.rawBody).toContain('bad param');
  });

  it('honours x-should-retry', () => {
    expect(answer(400, { message: 'x' }, { 'x-should-retry': 'true' }).retryable).toBe(true);
    expect(answer(500, { message: 'x' }, { 'x-should-retry': 'false' }).retryable).toBe(false);
  });
});

describe('mapOpenAIError', () => {
  it('maps the SDK errors by class', () => {
    const timeout = mapOpenAIError(new APIConnectionTimeoutError(), live());
    expect(TimeoutError.isInstance(timeout)).toBe(true);
    expect(timeout).toMatchObject({ phase: 'first-token', timeoutMs: 5000, retryable: true });
    expect(mapOpenAIError(new APIConnectionError({ message: 'Connection error.' }), live()).code).toBe(
      'connection_error',
    );
    expect(mapOpenAIError(new APIUserAbortError(), live()).code).toBe('aborted');
    const status = APIError.generate(
      429,
      { error: { message: 'slow', type: 'requests' } },
      undefined,
      new Headers({ 'retry-after': '2', 'x-request-id': 'req_42' }),
    );
    expect(mapOpenAIError(status, live())).toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 2000,
      requestId: 'req_42',
    });
    const html = APIError.generate(502, undefined, '<html>Bad Gateway</html>', new Headers());
    const mapped = mapOpenAIError(html, live());
    expect(mapped.code).toBe('server_error');
    expect(mapped.rawBody).toBe('<html>Bad Gateway</html>');
  });

  it('maps an error sent inside a stream as its type says', () => {
    const overloaded = new APIError(
      undefined,
      { message: 'overloaded', type: 'overloaded_error' },
      undefined,
      new Headers(),
    );
    expect(mapOpenAIError(overloaded, live()).code).toBe('overloaded');
    const server = new APIError(
      undefined,
      { message: 'oops', type: 'server_error' },
      undefined,
      new Headers(),
    );
    expect(mapOpenAIError(server, live()).code).toBe('server_error');
    expect(statusForErrorType('rate_limit_exceeded')).toBe(429);
    expect(statusForErrorType('invalid_request_error')).toBe(400);
  });

  it('maps a socket closed mid-body and bad chunks', () => {
    const terminated = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(mapOpenAIError(terminated, live()).code).toBe('connection_error');
    expect(mapOpenAIError(new SyntaxError('Unexpected token'), live()).code).toBe('invalid_response');
  });

  it('lets an aborted signal win, keeping a Bulwark reason such as a timeout', () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      AbortedError.isInstance(mapOpenAIError(new APIUserAbortError(), { ...who, signal: controller.signal })),
    ).toBe(true);
    const timed = new AbortController();
    timed.abort(new TimeoutError({ phase: 'idle', timeoutMs: 100 }));
    expect(mapOpenAIError(new APIUserAbortError(), { ...who, signal: timed.signal })).toBe(
      timed.signal.reason,
    );
  });
});

describe('parseOpenAIRateLimit', () => {
  it('reads every header and returns undefined when none is there', () => {
    const info = parseOpenAIRateLimit(
      new Headers({
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '499',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': '29000',
        'x-ratelimit-reset-tokens': '1m30s',
        'retry-after': '1',
      }),
    );
    expect(info).toEqual({
      limitRequests: 500,
      remainingRequests: 499,
      resetRequestsMs: 120,
      limitTokens: 30000,
      remainingTokens: 29000,
      resetTokensMs: 90_000,
      retryAfterMs: 1000,
    });
    expect(parseOpenAIRateLimit(new Headers({ 'content-type': 'application/json' }))).toBeUndefined();
    expect(parseOpenAIRateLimit(new Headers({ 'x-ratelimit-remaining-requests': 'lots' }))).toBeUndefined();
  });

  it('waits for the exhausted allowance, else the sooner reset', () => {
    expect(
      waitFromResets({ remainingRequests: 0, resetRequestsMs: 500, remainingTokens: 0, resetTokensMs: 900 }),
    ).toBe(900);
    expect(
      waitFromResets({ remainingRequests: 4, resetRequestsMs: 500, remainingTokens: 9, resetTokensMs: 900 }),
    ).toBe(500);
    expect(waitFromResets({})).toBeUndefined();
  });
});
