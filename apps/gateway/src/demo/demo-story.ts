import type { FakeBehavior } from '@bulwark/testkit/fake-upstream';
import type { GatewayConfigInput } from '../config/config-schema.js';

/** One act of the demo: from `start` (a fraction of the run) the primary upstream behaves as `primary`. */
export interface DemoPhase {
  /** Fraction of the run (0–1) at which the phase begins. */
  start: number;
  /** What the terminal view says is happening. */
  title: string;
  /** The primary upstream's answer to every request in this phase. */
  primary: FakeBehavior;
  /** Traffic: unique prompts per tick, repeated (cacheable) prompts per tick, and a one-off burst at the start. */
  traffic: { unique: number; repeated: number; burst?: number };
}

/** The story: healthy, 5xx, 429 with retry-after, recovery, a burst the limiter paces, the cache serving repeats. */
export const demoPhases: readonly DemoPhase[] = [
  {
    start: 0,
    title: 'healthy: the primary answers',
    primary: { kind: 'reply' },
    traffic: { unique: 2, repeated: 1 },
  },
  {
    start: 0.15,
    title: 'the primary fails with 503: retries, then the fallback answers and the breaker opens',
    primary: { kind: 'status', status: 503 },
    traffic: { unique: 2, repeated: 0 },
  },
  {
    start: 0.35,
    title: 'the primary answers 429 (retry-after: 1): the breaker probes it and stays open',
    primary: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    traffic: { unique: 2, repeated: 0 },
  },
  {
    start: 0.5,
    title: 'the primary recovers: the next probe closes the breaker',
    primary: { kind: 'reply' },
    traffic: { unique: 2, repeated: 0 },
  },
  {
    start: 0.7,
    title: 'a burst: the limiter paces it under the upstream rate limit',
    primary: { kind: 'reply' },
    traffic: { unique: 0, repeated: 0, burst: 24 },
  },
  {
    start: 0.85,
    title: 'repeated prompts: the cache answers',
    primary: { kind: 'reply' },
    traffic: { unique: 0, repeated: 3 },
  },
];

/** Requests per minute the primary upstream allows; the gateway's limiter keeps below it. */
export const upstreamRpm = 1200;

export interface DemoConfigOptions {
  primaryURL: string;
  fallbackURL: string;
  seconds: number;
  port: number;
  /** Redis URL: cache and limiter state in Redis instead of memory. */
  redis?: string | undefined;
  /** Key prefix in Redis (unique per run), ending in `:`. */
  redisPrefix?: string;
}

/** The embedded default (loopback, memory cache, in-memory breaker and limiter) pointed at the two fake upstreams. */
export function demoConfig(options: DemoConfigOptions): GatewayConfigInput {
  const cooldownMs = Math.max(400, Math.round(options.seconds * 60));
  const redisStore = (section: string) =>
    options.redis
      ? {
          plugin: 'redis',
          url: options.redis,
          prefix: `${options.redisPrefix ?? 'bulwark-demo:'}${section}:`,
        }
      : { plugin: 'memory' };
  return {
    server: { host: '127.0.0.1', port: options.port },
    providers: {
      primary: {
        plugin: 'openai',
        baseURL: `${options.primaryURL}/v1`,
        apiKey: 'demo-key-not-secret',
        limits: { rpm: Math.floor(upstreamRpm * 0.9), requestBurst: 6 },
      },
      fallback: { plugin: 'openai', baseURL: `${options.fallbackURL}/v1`, apiKey: 'demo-key-not-secret' },
    },
    models: {
      demo: [
        { provider: 'primary', model: 'gpt-4o-mini' },
        { provider: 'fallback', model: 'gpt-4o-mini' },
      ],
    },
    retry: { maxAttempts: 2, baseDelayMs: 40, maxDelayMs: 200, retryAfterCapMs: 1500 },
    breaker: { failureRatio: 0.5, minimumCalls: 4, windowMs: 5000, cooldownMs },
    // Five minutes: what a Redis-backed run leaves behind expires soon after it.
    cache: { store: redisStore('cache'), ttlSeconds: 300 },
    limiter: { store: redisStore('limiter'), maxWaitMs: 20_000 },
    log: { level: 'error', requests: false },
  };
}
