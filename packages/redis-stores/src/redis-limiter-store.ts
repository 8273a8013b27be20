import { ConfigError, type EventBus, type Logger } from '@bulwark/core';
import {
  type AcquireResult,
  createMemoryLimiterStore,
  type LimiterStoreV1,
  type RateDimension,
} from '@bulwark/limiter';
import { createHealth, type FailMode, isScriptError, LimiterUnavailableError } from './degradation.js';
import { acquireScript, adjustScript, pauseScript } from './gcra-scripts.js';
import {
  openRedisConnection,
  type RedisClient,
  type RedisConnectionOptions,
  type RedisScript,
} from './redis-client.js';
import type { TimeSource } from './redis-script.js';

export interface RedisLimiterStoreOptions extends RedisConnectionOptions {
  /**
   * Prefix of every key (no `{` or `}`: the scope key is the hash tag). Default `bulwark:`; keys are
   * `<prefix>limiter:v1:{<scope>}:<dimension>`, so the limiter, breaker and spend stores can share one prefix.
   */
  prefix?: string;
  /** @deprecated The whole key prefix of 0.1 (`bulwark:limiter:`); use `prefix`, which the store extends with `limiter:`. */
  keyPrefix?: string;
  /**
   * While Redis is unreachable: `open` admits through a local limiter at limit ÷ `expectedReplicas`
   * (default); `closed` refuses with `LimiterUnavailableError`.
   */
  failMode?: FailMode;
  /** Processes sharing the limits; sizes the fail-open local limiter. Default 1. */
  expectedReplicas?: number;
  /** Longest a Redis command may take before the store counts Redis as unreachable. Default 100 ms. */
  commandTimeoutMs?: number;
  /**
   * `redis` (default): the scripts read Redis `TIME`, so process clocks do not matter. `caller`: they use
   * the `now` each method is given (the limiter's clock), for virtual time in tests or synchronized hosts.
   */
  timeSource?: TimeSource;
  events?: EventBus;
  logger?: Logger;
}

/** A limiter store shared through Redis, with `close` for the connection it opened. */
export interface RedisLimiterStore extends LimiterStoreV1 {
  acquire(
    key: string,
    costs: readonly number[],
    dimensions: readonly RateDimension[],
    now: number,
  ): Promise<AcquireResult>;
  adjust(
    key: string,
    deltas: readonly number[],
    dimensions: readonly RateDimension[],
    now: number,
  ): Promise<void>;
  pause(key: string, durationMs: number, dimensions: readonly RateDimension[], now: number): Promise<void>;
  readonly client: RedisClient;
  /** True while Redis is unreachable and the fail mode decides. */
  readonly degraded: boolean;
  /** True when Redis is connected and answers `PING`. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** Checks the key prefix and returns it. */
export function checkPrefix(prefix: string, path: string): string {
  if (/[{}]/.test(prefix)) {
    throw new ConfigError({
      path,
      message: `${path} must not contain "{" or "}" (the scope key is the hash tag)`,
    });
  }
  return prefix;
}

/** The full key prefix of a store: `prefix` + its role, or the deprecated whole `keyPrefix`. */
export function storePrefix(
  options: { prefix?: string; keyPrefix?: string },
  role: 'limiter' | 'breaker' | 'spend',
): string {
  if (options.prefix !== undefined) return `${checkPrefix(options.prefix, 'prefix')}${role}:`;
  if (options.keyPrefix !== undefined) return checkPrefix(options.keyPrefix, 'keyPrefix');
  return `bulwark:${role}:`;
}

/**
 * The limits of `@bulwark/limiter` shared by every process on one Redis: one atomic Lua script per
 * admission (GCRA over all dimensions, registered with `defineCommand`), keys hash-tagged by scope for
 * Redis Cluster, time from Redis `TIME` so process clocks do not matter.
 */
export function createRedisLimiterStore(options: RedisLimiterStoreOptions = {}): RedisLimiterStore {
  const keyPrefix = storePrefix(options, 'limiter');
  const callerTime = options.timeSource === 'caller';
  const failMode = options.failMode ?? 'open';
  const replicas = options.expectedReplicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new ConfigError({
      path: 'expectedReplicas',
      message: `expectedReplicas must be an integer ≥ 1; got ${replicas}`,
    });
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? 100;
  const connection = openRedisConnection({ ...options, commandTimeoutMs });
  const client = connection.client;
  const health = createHealth({
    connection,
    component: 'limiter',
    mode: failMode,
    commandTimeoutMs,
    now: Date.now,
    events: options.events,
    logger: options.logger,
  });
  const local = createMemoryLimiterStore();
  const localDimensions = new WeakMap<readonly RateDimension[], RateDimension[]>();
  const scaled = (dimensions: readonly RateDimension[]): RateDimension[] => {
    let found = localDimensions.get(dimensions);
    if (!found) {
      found = dimensions.map((dimension) => ({
        ...dimension,
        limit: dimension.limit / replicas,
        burst: Math.max(1, dimension.burst / replicas),
      }));
      localDimensions.set(dimensions, found);
    }
    return found;
  };
  const keyCache = new Map<string, string[]>();
  const keysOf = (key: string, dimensions: readonly RateDimension[]): string[] => {
    const cacheKey =
      dimensions.length === 1
        ? `${key}\u0000${dimensions[0]!.name}`
        : `${key}\u0000${dimensions.map((d) => d.name).join('\u0000')}`;
    let keys = keyCache.get(cacheKey);
    if (!keys) {
      keys = dimensions.map((dimension) => `${keyPrefix}v1:{${key}}:${dimension.name}`);
      if (keyCache.size > 10_000) keyCache.clear();
      keyCache.set(cacheKey, keys);
    }
    return keys;
  };
  const argsOf = (
    values: readonly number[],
    dimensions: readonly RateDimension[],
  ): Array<number | string> => {
    const args = new Array<number | string>(dimensions.length * 3);
    for (let index = 0; index < dimensions.length; index += 1) {
      const dimension = dimensions[index]!;
      const emission = dimension.periodMs / dimension.limit;
      args[index * 3] = values[index] ?? 0;
      args[index * 3 + 1] = emission;
      args[index * 3 + 2] = dimension.burst * emission;
    }
    return args;
  };

  const call = async <T>(
    script: RedisScript,
    key: string,
    args: Array<number | string>,
    dimensions: readonly RateDimension[],
    now: number,
    fallback: () => T,
  ): Promise<T | unknown> => {
    args.push(callerTime ? now : '');
    try {
      return await health.run(() => connection.run(script, keysOf(key, dimensions), args));
    } catch (error) {
      if (isScriptError(error)) throw new LimiterUnavailableError({ reason: 'script-error', cause: error });
      health.degraded(error);
      if (failMode === 'closed') throw new LimiterUnavailableError({ reason: 'unreachable', cause: error });
      return fallback();
    }
  };

  return {
    specificationVersion: 'v1',
    name: 'redis',
    client,
    get degraded() {
      return health.isDegraded;
    },
    async acquire(key, costs, dimensions, now): Promise<AcquireResult> {
      let fallbackResult: AcquireResult | undefined;
      const reply = await call(acquireScript, key, argsOf(costs, dimensions), dimensions, now, () => {
        fallbackResult = local.acquire(key, costs, scaled(dimensions), now) as AcquireResult;
        return fallbackResult;
      });
      if (fallbackResult) return fallbackResult;
      const [allowed, retryAfterMs] = reply as [number, number];
      return allowed === 1
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: Number(retryAfterMs) };
    },
    async adjust(key, deltas, dimensions, now) {
      await call(adjustScript, key, argsOf(deltas, dimensions), dimensions, now, () =>
        local.adjust(key, deltas, scaled(dimensions), now),
      );
    },
    async pause(key, durationMs, dimensions, now) {
      const args = argsOf([], dimensions);
      args.push(Math.ceil(durationMs));
      // Pause the local limiter too, so a fail-over during the pause does not send a herd.
      local.pause(key, durationMs, scaled(dimensions), now);
      await call(pauseScript, key, args, dimensions, now, () => undefined);
    },
    ready: () => connection.ready(),
    async close() {
      await local.close?.();
      await connection.close();
    },
  };
}
