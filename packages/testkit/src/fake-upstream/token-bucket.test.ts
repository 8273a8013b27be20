import { describe, expect, it } from 'vitest';
import { createTokenBucket, formatGoDuration, formatResetTime } from './token-bucket.js';

describe('createTokenBucket', () => {
  it('refills continuously at capacity per minute', () => {
    const bucket = createTokenBucket(60, 0);
    expect(bucket.waitFor(60, 0)).toBe(0);
    bucket.take(60, 0);
    expect(bucket.available(0)).toBe(0);
    expect(bucket.waitFor(1, 0)).toBe(1000);
    expect(bucket.waitFor(1, 400)).toBe(600);
    expect(bucket.available(30_000)).toBe(30);
    expect(bucket.untilFull(30_000)).toBe(30_000);
    expect(bucket.available(120_000)).toBe(60);
  });

  it('never satisfies more than its capacity and never goes negative', () => {
    const bucket = createTokenBucket(10, 0);
    expect(bucket.waitFor(11, 0)).toBe(Number.POSITIVE_INFINITY);
    bucket.take(25, 0);
    expect(bucket.available(0)).toBe(0);
  });

  it('rejects a capacity that is not positive', () => {
    expect(() => createTokenBucket(0, 0)).toThrow(/capacity/);
  });
});

describe('formatGoDuration', () => {
  it('writes durations as OpenAI does', () => {
    expect(formatGoDuration(0)).toBe('0ms');
    expect(formatGoDuration(120)).toBe('120ms');
    expect(formatGoDuration(1000)).toBe('1s');
    expect(formatGoDuration(8640)).toBe('8.64s');
    expect(formatGoDuration(360_000)).toBe('6m0s');
    expect(formatGoDuration(3_723_500)).toBe('1h2m3.5s');
  });
});

describe('formatResetTime', () => {
  it('writes RFC 3339 to the second, rounded up', () => {
    expect(formatResetTime(Date.UTC(2025, 0, 1), 1500)).toBe('2025-01-01T00:00:02Z');
  });
});
