import { describe, expect, it } from 'vitest';
import { runCli } from '../test-helpers/spawn-cli.js';
import { renderSummary } from './demo-view.js';

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
