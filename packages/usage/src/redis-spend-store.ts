import { ConfigError } from '@bulwark/core';
import type { ReserveResult, SpendEntry, SpendStoreV1 } from './spend-store.js';

/** The few ioredis methods the Redis spend store of 0.1 used (any ioredis 5 `Redis` or `Cluster` fits). */
export interface RedisClientLike {
  evalsha(sha: string, keyCount: number, ...arguments_: (string | number)[]): Promise<unknown>;
  eval(script: string, keyCount: number, ...arguments_: (string | number)[]): Promise<unknown>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  quit(): Promise<unknown>;
}

/** @deprecated Options of `createRedisSpendStore`, which moved to `@bulwark/redis-stores`. */
export interface RedisSpendStoreOptions {
  /** An ioredis client you created (and will close). */
  redis?: RedisClientLike;
  /** A Redis URL: the store creates (and closes) its own client. */
  url?: string;
  /** Prefix of every key. Default `bulwark:`. Keys are `<prefix>spend:{budget}:v1:<counter>`. */
  prefix?: string;
}

// A variable, so the compiler does not resolve it: `@bulwark/redis-stores` depends on this package.
const redisStoresPackage = '@bulwark/redis-stores';

interface RedisStoresModule {
  createRedisSpendStore(options: RedisSpendStoreOptions): SpendStoreV1;
}

/**
 * @deprecated The Redis spend store moved to `@bulwark/redis-stores` (this package no longer depends on
 * ioredis): `import { createRedisSpendStore } from '@bulwark/redis-stores'`. This forwarder loads that
 * package on first use and says to install it when it is missing.
 */
export function createRedisSpendStore(options: RedisSpendStoreOptions): SpendStoreV1 {
  if (!options.redis && !options.url) {
    throw new ConfigError({
      path: 'url',
      message: 'createRedisSpendStore needs `redis` (an ioredis client) or `url`',
    });
  }
  let store: Promise<SpendStoreV1> | undefined;
  const load = (): Promise<SpendStoreV1> => {
    store ??= (import(redisStoresPackage) as Promise<RedisStoresModule>).then(
      (module) => module.createRedisSpendStore(options),
      (error: unknown) => {
        throw new ConfigError({
          path: 'url',
          message:
            'The Redis spend store moved to @bulwark/redis-stores: pnpm add @bulwark/redis-stores ioredis, and import createRedisSpendStore from there',
          cause: error,
        });
      },
    );
    return store;
  };
  return {
    specificationVersion: 'v1',
    reserve: async (entries: readonly SpendEntry[]): Promise<ReserveResult> =>
      (await load()).reserve(entries),
    add: async (entries) => (await load()).add(entries),
    read: async (keys) => (await load()).read(keys),
    async close() {
      if (store) await (await store.catch(() => undefined))?.close?.();
    },
  };
}
