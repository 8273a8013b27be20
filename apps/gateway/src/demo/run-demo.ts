import { randomBytes } from 'node:crypto';
import { type BreakerState, createEventBus, createJsonLogger } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit/fake-upstream';
import { startGateway } from '../gateway.js';
import { type DemoPhase, demoConfig, demoPhases, upstreamRpm } from './demo-story.js';
import { type DemoCounts, renderSummary, renderView } from './demo-view.js';

export interface DemoOptions {
  /** How long traffic runs (s). Default 20. */
  seconds?: number;
  /** How long the gateway stays up after the story, for the dashboard (s). Default 0. */
  openSeconds?: number;
  /** Gateway port on 127.0.0.1. Default 0 (any free port). */
  port?: number;
  /** Redis URL: the same story with the Redis-backed cache and limiter. */
  redis?: string | undefined;
  /** Key prefix in Redis. Default `bulwark-demo:<random>:`. */
  redisPrefix?: string;
  /** Where the view and the summary go (a terminal gets the live view). Default `process.stdout`. */
  output?: { write(text: string): unknown; isTTY?: boolean };
}

const tickMs = 100;

/**
 * `bulwark demo`: the gateway on the embedded default plus two local fake upstreams (no network, no key),
 * driven through a scripted outage for `seconds`; returns the counts the summary shows.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoCounts> {
  const seconds = options.seconds ?? 20;
  const output = options.output ?? process.stdout;
  const live = output.isTTY === true;
  const primary = await createFakeUpstream({ rateLimit: { rpm: upstreamRpm } });
  const fallback = await createFakeUpstream();
  const upstreams: FakeUpstream[] = [primary, fallback];
  const events = createEventBus({ logger: createJsonLogger({ level: 'error' }) });
  const counts: DemoCounts = {
    sent: 0,
    succeeded: 0,
    failed: 0,
    retries: 0,
    fallbacks: 0,
    breakerOpenings: 0,
    cacheHits: 0,
    paced: 0,
    upstream429: 0,
    upstream5xx: 0,
    breakers: new Map<string, BreakerState>(),
  };
  events.on('retry:scheduled', () => {
    counts.retries += 1;
  });
  events.on('fallback:taken', () => {
    counts.fallbacks += 1;
  });
  events.on('cache:lookup', (event) => {
    if (event.status === 'hit') counts.cacheHits += 1;
  });
  events.on('limiter:wait', () => {
    counts.paced += 1;
  });
  events.on('attempt:failure', (event) => {
    if (event.status === 429) counts.upstream429 += 1;
    else if (event.status !== undefined && event.status >= 500) counts.upstream5xx += 1;
  });
  events.on('breaker:state', (event) => {
    counts.breakers.set(`${event.provider}/${event.model}`, event.to);
    if (event.to === 'open') counts.breakerOpenings += 1;
  });
  counts.breakers.set('primary/gpt-4o-mini', 'closed');
  counts.breakers.set('fallback/gpt-4o-mini', 'closed');

  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    gateway = await startGateway({
      config: demoConfig({
        primaryURL: primary.url,
        fallbackURL: fallback.url,
        seconds,
        port: options.port ?? 0,
        redis: options.redis,
        redisPrefix: options.redisPrefix ?? `bulwark-demo:${randomBytes(4).toString('hex')}:`,
      }),
      events,
    });
    const url = gateway.url!;
    output.write(
      `Bulwark demo: gateway ${url} in front of two local fake upstreams (primary, fallback)${options.redis ? `, cache and limiter in Redis ${options.redis.replace(/\/\/[^@/]*@/, '//***@')}` : ''}\n` +
        `Dashboard: ${url}/dashboard\n`,
    );
    const inFlight = new Set<Promise<void>>();
    const send = (prompt: string): void => {
      counts.sent += 1;
      const call = fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: prompt }] }),
      })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.ok) counts.succeeded += 1;
          else counts.failed += 1;
        })
        .catch(() => {
          counts.failed += 1;
        })
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
    };

    const started = Date.now();
    const totalMs = seconds * 1000;
    let phaseIndex = -1;
    let phase: DemoPhase = demoPhases[0]!;
    let unique = 0;
    let lastPlain = 0;
    let drawn = false;
    while (Date.now() - started < totalMs) {
      const elapsed = Date.now() - started;
      const fraction = elapsed / totalMs;
      const next = demoPhases.findLastIndex((candidate) => fraction >= candidate.start);
      if (next !== phaseIndex) {
        phaseIndex = next;
        phase = demoPhases[next]!;
        primary.setDefault(phase.primary);
        if (!live) output.write(`[${(elapsed / 1000).toFixed(1)}s] ${phase.title}\n`);
        for (let index = 0; index < (phase.traffic.burst ?? 0); index += 1) send(`burst request ${index}`);
      }
      for (let index = 0; index < phase.traffic.unique; index += 1) {
        unique += 1;
        send(`question number ${unique}`);
      }
      for (let index = 0; index < phase.traffic.repeated; index += 1)
        send(`a popular question ${(counts.sent % 3) + 1}`);
      if (live) {
        output.write(renderView(counts, fraction, phase.title, true, drawn));
        drawn = true;
      } else if (elapsed - lastPlain >= 1000) {
        lastPlain = elapsed;
        output.write(renderView(counts, fraction, phase.title, false));
      }
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    await Promise.all(inFlight);
    if (live) output.write(renderView(counts, 1, 'done', true, drawn));
    output.write(`\n${renderSummary(counts)}\nDashboard: ${url}/dashboard\n`);
    if (options.openSeconds && options.openSeconds > 0) {
      output.write(`Keeping the gateway up for ${options.openSeconds} s (Ctrl-C to stop)\n`);
      await new Promise((resolve) => setTimeout(resolve, options.openSeconds! * 1000));
    }
    return counts;
  } finally {
    await gateway?.close({ drainTimeoutMs: 1000 });
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  }
}
