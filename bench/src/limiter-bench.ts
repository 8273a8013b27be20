/**
 * Rate limiting against the testkit's fake upstream enforcing 20 requests/s (1,200 RPM): goodput as a
 * fraction of the limit, 429s per 1,000 upstream requests and p99 queue wait, for Bulwark's limiter, for
 * no limiter with retries only (honouring retry-after), and for a naive fixed-interval queue (one request
 * every 60/RPM s). Same seeded Poisson arrivals at 150 % of the limit for each. Then the per-admission cost
 * of the memory and Redis limiter stores in µs.
 *
 * Run: `pnpm --filter @bulwark/bench bench:limiter` (Redis at REDIS_URL, else a throwaway redis-server).
 * Writes bench/results/limiter.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChatRequest, createBulwark, RateLimitError } from '@bulwark/core';
import { createMemoryLimiterStore, createRateLimiter, type RateDimension } from '@bulwark/limiter';
import { createRedisLimiterStore } from '@bulwark/limiter-redis';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createFakeUpstream, type FakeUpstream, useTestRedis } from '@bulwark/testkit';
import { writeResultCharts } from './result-charts.js';

const limitPerSecond = 20;
const rpm = limitPerSecond * 60;
const durationMs = 8000;
const arrivalRate = 1.5 * limitPerSecond;
const request: ChatRequest = {
  model: 'main/gpt-4o-mini',
  messages: [{ role: 'user', content: 'hi' }],
  maxTokens: 5,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/** Seeded exponential inter-arrival times (mulberry32), so every strategy sees the same arrivals. */
function arrivals(): number[] {
  let seed = 42;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const times: number[] = [];
  for (let at = 0; at < durationMs; at += (-Math.log(1 - random()) / arrivalRate) * 1000) times.push(at);
  return times;
}

/**
 * Empties the upstream's minute bucket (its capacity is a full minute) until it answers 429, then lets one
 * second of allowance build up: from then on it enforces 20/s with a one-second burst, as providers do.
 */
async function drain(upstream: FakeUpstream): Promise<void> {
  upstream.reset();
  upstream.setRateLimit({ rpm });
  while (upstream.stats.rateLimited === 0) {
    await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(`${upstream.openaiBaseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'drain' }] }),
        }).then((response) => response.arrayBuffer()),
      ),
    );
  }
  await sleep(1000);
}

interface Outcome {
  strategy: string;
  goodput: number;
  per1000: number;
  p99WaitMs: number;
  failed: number;
}

/** Runs the arrivals through `send` (which returns the ms the call waited before its successful send). */
async function run(strategy: string, upstream: FakeUpstream, send: () => Promise<number>): Promise<Outcome> {
  await drain(upstream);
  const before = { ...upstream.stats };
  const waits: number[] = [];
  let failed = 0;
  let succeededInWindow = 0;
  const started = Date.now();
  const calls = arrivals().map(async (at) => {
    await sleep(at);
    try {
      waits.push(await send());
      if (Date.now() - started <= durationMs) succeededInWindow += 1;
    } catch {
      failed += 1;
    }
  });
  await Promise.all(calls);
  const requests = upstream.stats.requests - before.requests;
  const rejected = upstream.stats.rateLimited - before.rateLimited;
  return {
    strategy,
    goodput: succeededInWindow / (durationMs / 1000) / limitPerSecond,
    per1000: (rejected / Math.max(1, requests)) * 1000,
    p99WaitMs: percentile(waits, 0.99),
    failed,
  };
}

async function main(): Promise<void> {
  const upstream = await createFakeUpstream();
  const provider = () =>
    createOpenAIProvider({ name: 'main', baseURL: upstream.openaiBaseURL, apiKey: 'sk-bench' });
  const outcomes: Outcome[] = [];

  for (const [label, share] of [
    ['Bulwark limiter at the limit (default 1 s burst, adaptive)', 1],
    ['Bulwark limiter at 95 % of the limit (default 1 s burst, adaptive)', 0.95],
  ] as const) {
    const limiter = createRateLimiter({ limits: { main: { rpm: share * rpm } }, maxWaitMs: 60_000 });
    const bulwark = createBulwark({ providers: [provider()], middleware: [limiter] });
    const waitedByCall = new Map<string, number>();
    bulwark.events.on('limiter:wait', (event) => waitedByCall.set(event.callId, event.waitedMs));
    let sequence = 0;
    outcomes.push(
      await run(label, upstream, async () => {
        const callId = `bench-${sequence++}`;
        // A 429 reaches the caller here (no retry layer): it counts as a failed call, as for the others.
        await bulwark.chat(request, { callId });
        const waited = waitedByCall.get(callId) ?? 0;
        waitedByCall.delete(callId);
        return waited;
      }),
    );
    await limiter.close();
  }

  {
    const bulwark = createBulwark({ providers: [provider()] });
    outcomes.push(
      await run('No limiter, retries only (≤ 5 attempts, honours retry-after)', upstream, async () => {
        let waited = 0;
        for (let attempt = 1; ; attempt += 1) {
          try {
            await bulwark.chat(request);
            return waited;
          } catch (error) {
            if (!RateLimitError.isInstance(error) || attempt === 5) throw error;
            const delay = (error.retryAfterMs ?? 500) * (1 + Math.random() * 0.25);
            waited += delay;
            await sleep(delay);
          }
        }
      }),
    );
  }

  {
    const bulwark = createBulwark({ providers: [provider()] });
    const interval = 60_000 / rpm;
    let nextSlot = 0;
    outcomes.push(
      await run(`Naive fixed-interval queue (one request every ${interval} ms)`, upstream, async () => {
        const now = Date.now();
        const slot = Math.max(now, nextSlot);
        nextSlot = slot + interval;
        await sleep(slot - now);
        await bulwark.chat(request);
        return slot - now;
      }),
    );
  }
  await upstream.close();

  const redis = await useTestRedis();
  const costs: Array<{ store: string; medianUs: number; p99Us: number }> = [];
  const dimensions: RateDimension[] = [
    { name: 'requests', limit: 1e9, periodMs: 60_000, burst: 1e9 },
    { name: 'tokens', limit: 1e12, periodMs: 60_000, burst: 1e12 },
  ];
  const memory = createMemoryLimiterStore();
  const redisStore = createRedisLimiterStore({
    url: redis.url,
    keyPrefix: redis.prefix,
    commandTimeoutMs: 1000,
  });
  while (redisStore.client.status !== 'ready') await sleep(10);
  for (const [name, store, samples] of [
    ['memory', memory, 200_000],
    ['redis (loopback, one EVALSHA)', redisStore, 5_000],
  ] as const) {
    const times: number[] = [];
    for (let index = 0; index < samples + 500; index += 1) {
      const started = process.hrtime.bigint();
      await store.acquire('bench/model', [1, 500], dimensions, Date.now());
      if (index >= 500) times.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    costs.push({ store: name, medianUs: percentile(times, 0.5), p99Us: percentile(times, 0.99) });
  }
  await redisStore.close();
  await redis.stop();

  const lines = [
    '# Rate limiter benchmark',
    '',
    `Generated by \`pnpm --filter @bulwark/bench bench:limiter\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} CPUs (shared with other work: treat the numbers as indicative).`,
    '',
    `Fake upstream enforcing ${limitPerSecond} requests/s (${rpm} RPM token bucket, emptied before each run and then given one second of allowance, so it enforces the rate with a one-second burst); seeded Poisson arrivals at ${arrivalRate}/s (150 % of the limit) for ${durationMs / 1000} s, each call through \`@bulwark/provider-openai\` on loopback, no retry layer except in the retries-only row.`,
    '',
    '| Strategy | Goodput (fraction of the limit) | 429s per 1,000 upstream requests | p99 queue wait (ms) | Calls failed |',
    '|---|---:|---:|---:|---:|',
    ...outcomes.map(
      (outcome) =>
        `| ${outcome.strategy} | ${outcome.goodput.toFixed(2)} | ${outcome.per1000.toFixed(0)} | ${outcome.p99WaitMs.toFixed(0)} | ${outcome.failed} |`,
    ),
    '',
    `Goodput: calls that succeeded within the run window, per second, divided by the limit; the upstream allows at most ${((durationMs / 1000 + 1) / (durationMs / 1000)).toFixed(3)} (its one-second burst plus the rate). Queue wait: how long a successful call waited before its send (limiter queue, retry-after sleeps, or time until its fixed slot); with arrivals above the limit every queue grows during the run, so compare rows rather than absolute values. A failed call got a 429 it did not recover from (after 5 attempts in the retries-only row); its wait is not in the p99, which flatters that row.`,
    '',
    '## Per-admission cost',
    '',
    'One `acquire` over two dimensions (requests + tokens) that is admitted.',
    '',
    '| Store | Median (µs) | p99 (µs) |',
    '|---|---:|---:|',
    ...costs.map((cost) => `| ${cost.store} | ${cost.medianUs.toFixed(2)} | ${cost.p99Us.toFixed(2)} |`),
    '',
  ];
  const output = lines.join('\n');
  const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'limiter.md');
  writeFileSync(target, output);
  writeResultCharts('limiter', output);
  process.stdout.write(output);
}

await main();
