import type { BreakerState } from '@bulwark/core';

/** What the demo counted, from the gateway's events and the answers its client got. */
export interface DemoCounts {
  sent: number;
  succeeded: number;
  /** Calls the client got an error for. */
  failed: number;
  retries: number;
  fallbacks: number;
  breakerOpenings: number;
  cacheHits: number;
  /** Calls the limiter held back instead of sending them into the upstream's rate limit (429s avoided). */
  paced: number;
  /** 429 and 5xx answers the upstreams gave (the client saw none of them). */
  upstream429: number;
  upstream5xx: number;
  /** Breaker state per target (`provider/model`). */
  breakers: Map<string, BreakerState>;
}

const barWidth = 30;
/** The live view's height in lines: redrawn in place by moving the cursor back up. */
const liveLines = 4;

function bar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

function breakerLine(counts: DemoCounts): string {
  return [...counts.breakers].map(([target, state]) => `${target} ${state}`).join('  ');
}

/**
 * The demo's progress: on a terminal (`live`), a block drawn over the previous one when `redraw` (progress
 * bar, phase, counters, breakers); otherwise one plain line.
 */
export function renderView(
  counts: DemoCounts,
  fraction: number,
  title: string,
  live: boolean,
  redraw = false,
): string {
  const counters =
    `ok ${counts.succeeded}  failed ${counts.failed}  retries ${counts.retries}  fallbacks ${counts.fallbacks}  ` +
    `cache hits ${counts.cacheHits}  429s avoided ${counts.paced}`;
  if (!live) return `${bar(fraction)} ${counters}  breakers: ${breakerLine(counts)}\n`;
  const lines = [bar(fraction), title, counters, `breakers: ${breakerLine(counts)}`];
  const up = redraw ? `\x1b[${liveLines}A` : '';
  return `${up}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`;
}

/** The summary table printed at the end. */
export function renderSummary(counts: DemoCounts): string {
  const rows: Array<[string, number, string]> = [
    ['calls sent', counts.sent, ''],
    ['succeeded', counts.succeeded, ''],
    ['failed calls', counts.failed, 'errors the client saw'],
    ['retries', counts.retries, 'attempts repeated after a 5xx or 429'],
    ['fallbacks', counts.fallbacks, 'calls answered by the fallback target'],
    ['breaker openings', counts.breakerOpenings, 'times the primary was taken out of rotation'],
    ['cache hits', counts.cacheHits, 'answers served without calling a provider'],
    ['429s avoided', counts.paced, 'calls the limiter paced instead of sending them into the rate limit'],
    ['upstream 5xx', counts.upstream5xx, 'absorbed by retry, fallback and breaker'],
    ['upstream 429', counts.upstream429, 'absorbed by retry, fallback and breaker'],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const numbers = Math.max(...rows.map(([, value]) => String(value).length));
  return `${rows
    .map(([name, value, note]) =>
      `  ${name.padEnd(width)}  ${String(value).padStart(numbers)}  ${note}`.trimEnd(),
    )
    .join('\n')}\n`;
}
