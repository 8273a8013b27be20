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
