/**
 * In-process cost of the response cache: a hit through `bulwark.chat` (memory backend, and Redis on
 * loopback) and the key computation alone, for ~1 KB and ~50 KB requests. Median and p99 in µs.
 *
 * Run: `pnpm --filter @bulwark/bench bench:cache` (uses REDIS_URL when it answers, else starts a
 * throwaway redis-server). Writes bench/results/cache.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeCacheKey, createCache } from '@bulwark/cache';
import { createMemoryCache } from '@bulwark/cache-memory';
import { createRedisCache } from '@bulwark/cache-redis';
import { type CacheBackendV1, type ChatRequest, createBulwark } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { useTestRedis } from '@bulwark/testkit';
import { writeResultCharts } from './result-charts.js';

interface Row {
  case: string;
  size: string;
  samples: number;
  medianUs: number;
  p99Us: number;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function measure(samples: number, work: () => unknown): Promise<{ medianUs: number; p99Us: number }> {
  for (let warmup = 0; warmup < Math.min(2_000, samples); warmup += 1) await work();
  const times: number[] = new Array(samples);
  for (let index = 0; index < samples; index += 1) {
    const started = process.hrtime.bigint();
    await work();
    times[index] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  times.sort((a, b) => a - b);
  return { medianUs: percentile(times, 0.5), p99Us: percentile(times, 0.99) };
}

/** A realistic request of about `bytes` bytes: a system prompt, a few turns, tools and parameters. */
function requestOfSize(bytes: number): ChatRequest {
  const filler = 'The quick brown fox jumps over the lazy dog near the old stone bulwark. ';
  const history = filler.repeat(Math.max(1, Math.floor((bytes - 600) / filler.length)));
  return {
    model: 'mock-1',
    messages: [
      { role: 'system', content: 'You are a careful assistant. Answer in English.' },
      { role: 'user', content: 'Earlier question about walls.' },
      { role: 'assistant', content: 'Earlier answer about walls.' },
      { role: 'user', content: `Summarize: ${history}` },
    ],
    tools: [
      {
        name: 'lookup',
        description: 'Looks a term up',
        parameters: { type: 'object', properties: { term: { type: 'string' } }, required: ['term'] },
      },
    ],
    temperature: 0,
    maxTokens: 200_000,
    seed: 42,
    providerOptions: { openai: { logprobs: false } },
  };
}

async function hitCase(backend: CacheBackendV1, request: ChatRequest, samples: number) {
  const mock = createMockProvider();
  const cache = createCache({ backend, coalesce: false });
  const bulwark = createBulwark({ providers: [mock], middleware: [cache] });
  await bulwark.chat(request);
  await cache.flush();
  const check = await bulwark.chat(request);
  if (check.cache !== 'hit') throw new Error(`expected a hit from ${backend.name}, got ${check.cache}`);
  const result = await measure(samples, () => bulwark.chat(request));
  if (mock.callCount !== 1)
    throw new Error(`the provider was called ${mock.callCount} times; every call should hit`);
  return result;
}

/** The same call without a cache, the mock answering at once: what a hit is compared with. */
async function baselineCase(request: ChatRequest, samples: number) {
  const bulwark = createBulwark({ providers: [createMockProvider()] });
  return measure(samples, () => bulwark.chat(request));
}

async function main(): Promise<void> {
  const sizes = [
    { label: '1 KB', request: requestOfSize(1_024), samples: 20_000 },
    { label: '50 KB', request: requestOfSize(50 * 1_024), samples: 3_000 },
  ];
  const rows: Row[] = [];
  for (const size of sizes) {
    const actual = `${(Buffer.byteLength(JSON.stringify(size.request)) / 1024).toFixed(1)} KB`;
    rows.push({
      case: 'key computation (canonical JSON + SHA-256)',
      size: actual,
      samples: size.samples,
      ...(await measure(size.samples, () => computeCacheKey(size.request))),
    });
    rows.push({
      case: 'baseline: bulwark.chat without cache, mock answering at once',
      size: actual,
      samples: size.samples,
      ...(await baselineCase(size.request, size.samples)),
    });
    rows.push({
      case: 'cache hit via bulwark.chat, memory backend',
      size: actual,
      samples: size.samples,
      ...(await hitCase(createMemoryCache(), size.request, size.samples)),
    });
  }
  const redis = await useTestRedis();
  try {
    for (const size of sizes) {
      const backend = createRedisCache({ url: redis.url, prefix: redis.prefix, lookupTimeoutMs: 1_000 });
      await backend.ready();
      const samples = Math.min(size.samples, 5_000);
      rows.push({
        case: 'cache hit via bulwark.chat, Redis on loopback',
        size: `${(Buffer.byteLength(JSON.stringify(size.request)) / 1024).toFixed(1)} KB`,
        samples,
        ...(await hitCase(backend, size.request, samples)),
      });
      await backend.clear('anonymous');
      await backend.dispose?.();
    }
  } finally {
    await redis.stop();
  }

  const table = [
    '| Case | Request | Samples | Median (µs) | p99 (µs) |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map(
      (row) =>
        `| ${row.case} | ${row.size} | ${row.samples} | ${row.medianUs.toFixed(1)} | ${row.p99Us.toFixed(1)} |`,
    ),
  ].join('\n');
  const report = `# Cache benchmark

\`pnpm --filter @bulwark/bench bench:cache\` (bench/src/cache-bench.ts). Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}.
Each sample times one call with \`process.hrtime\`, after a warm-up. A hit goes through the whole client
(\`createBulwark\`: request validation, context, the cache middleware, decoding the entry); the provider is never
called. The mock's answer echoes the prompt, so the cached response is about as large as the request.

${table}

Measured on a shared development machine with other jobs running, so treat the numbers as an upper bound.
Redis hits include the loopback round trip; 50 KB entries are stored deflate-compressed (above 1 KB) and inflated on read.
`;
  const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'cache.md');
  writeFileSync(target, report);
  writeResultCharts('cache', report);
  process.stdout.write(report);
}

await main();
