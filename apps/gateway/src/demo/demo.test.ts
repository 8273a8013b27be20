import { useTestRedis } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { runCli } from '../test-helpers/spawn-cli.js';
import { renderSummary, renderView } from './demo-view.js';
import { runDemo } from './run-demo.js';

/** The number a summary row shows (`  retries   6  attempts repeated …`). */
function summaryValue(stdout: string, row: string): number {
  const match = new RegExp(`^  ${row} +(\\d+)`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${row}" row in the demo summary:\n${stdout}`);
  return Number(match[1]);
}

describe('bulwark demo', () => {
  it('tells the whole story in 5 s with no network, key or Redis: retries, fallbacks, a breaker opening, cache hits, no failed call', async () => {
    const result = await runCli(['demo', '--seconds', '5']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard$/m);
    // Not a terminal: plain progress lines, one per phase, and no cursor movement.
    expect(result.stdout).toContain('the primary fails with 503');
    expect(result.stdout).not.toContain('\x1b[');
    expect(summaryValue(result.stdout, 'calls sent')).toBeGreaterThan(50);
    expect(summaryValue(result.stdout, 'failed calls')).toBe(0);
    expect(summaryValue(result.stdout, 'retries')).toBeGreaterThanOrEqual(1);
    expect(summaryValue(result.stdout, 'fallbacks')).toBeGreaterThanOrEqual(1);
    expect(summaryValue(result.stdout, 'breaker openings')).toBeGreaterThanOrEqual(1);
    expect(summaryValue(result.stdout, 'cache hits')).toBeGreaterThanOrEqual(1);
    expect(summaryValue(result.stdout, 'succeeded')).toBe(summaryValue(result.stdout, 'calls sent'));
  }, 60_000);

  it('refuses a bad --seconds', async () => {
    const result = await runCli(['demo', '--seconds', 'soon']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--seconds must be a whole number');
  });

  it('runs the same story with the cache and limiter in Redis', async () => {
    const redis = await useTestRedis();
    try {
      let text = '';
      const counts = await runDemo({
        seconds: 4,
        redis: redis.url,
        redisPrefix: redis.prefix,
        output: {
          write(chunk: string) {
            text += chunk;
          },
        },
      });
      expect(text).toContain(`cache and limiter in Redis ${redis.url}`);
      expect(counts.failed).toBe(0);
      expect(counts.cacheHits).toBeGreaterThanOrEqual(1);
      expect(counts.fallbacks).toBeGreaterThanOrEqual(1);
      expect(counts.paced).toBeGreaterThanOrEqual(1);
    } finally {
      await redis.stop();
    }
  }, 60_000);

  it('redraws the live view in place on a terminal', () => {
    const counts = {
      sent: 3,
      succeeded: 3,
      failed: 0,
      retries: 1,
      fallbacks: 1,
      breakerOpenings: 1,
      cacheHits: 1,
      paced: 0,
      upstream429: 0,
      upstream5xx: 1,
      breakers: new Map([['primary/gpt-4o-mini', 'open' as const]]),
    };
    const first = renderView(counts, 0.5, 'the primary fails', true);
    const next = renderView(counts, 0.6, 'the primary fails', true, true);
    expect(first).not.toContain('\x1b[4A');
    expect(next.startsWith('\x1b[4A')).toBe(true);
    expect(next.split('\n')).toHaveLength(5);
    expect(next).toContain('breakers: primary/gpt-4o-mini open');
    expect(renderView(counts, 0.5, 'x', false)).toMatch(
      /^\[#{15}\.{15}\] {2}50% ok 3 .* breakers: primary\/gpt-4o-mini open\n$/,
    );
  });

  it('aligns the summary table', () => {
    const text = renderSummary({
      sent: 120,
      succeeded: 120,
      failed: 0,
      retries: 6,
      fallbacks: 41,
      breakerOpenings: 1,
      cacheHits: 14,
      paced: 9,
      upstream429: 1,
      upstream5xx: 7,
      breakers: new Map(),
    });
    expect(text).toContain('  calls sent        120\n');
    expect(text).toContain('  retries             6  attempts repeated after a 5xx or 429\n');
  });
});
