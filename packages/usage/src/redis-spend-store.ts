import { createHash } from 'node:crypto';
import { ConfigError } from '@bulwark/core';
import type { ReserveResult, SpendEntry, SpendStoreV1 } from './spend-store.js';

/** The few ioredis methods the store uses (any ioredis 5 `Redis` or `Cluster` instance fits). */
export interface RedisClientLike {
  evalsha(sha: string, keyCount: number, ...arguments_: (string | number)[]): Promise<unknown>;
  eval(script: string, keyCount: number, ...arguments_: (string | number)[]): Promise<unknown>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  quit(): Promise<unknown>;
}

export interface RedisSpendStoreOptions {
  /** An ioredis client you created (and will close). */
  redis?: RedisClientLike;
  /** A Redis URL: the store creates (and closes) its own ioredis client. Requires the `ioredis` package. */
  url?: string;
  /**
   * Prefix of every key. Default `bulwark:`. Keys are `<prefix>spend:{budget}:v1:<counter>`: the `{budget}`
   * hash tag keeps a reservation's keys in one slot, so the script also runs on Redis Cluster.
   */
  prefix?: string;
}

// KEYS: counters. ARGV: per key, amount, limit ('' for none), TTL (ms). Reads every counter first,
// refuses the whole reservation if any limit would be exceeded, else adds every amount. Returns
// { refusedIndex (0 = none), before1, before2, ... }.
const reserveScript = `
local before = {}
for i = 1, #KEYS do
  before[i] = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
end
for i = 1, #KEYS do
  local limit = ARGV[(i - 1) * 3 + 2]
  if limit ~= '' and before[i] + tonumber(ARGV[(i - 1) * 3 + 1]) > tonumber(limit) then
    local reply = { i }
    for j = 1, #KEYS do reply[j + 1] = before[j] end
    return reply
  end
end
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 3 + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 3 + 3])
end
local reply = { 0 }
for j = 1, #KEYS do reply[j + 1] = before[j] end
return reply
`;

// KEYS: counters. ARGV: per key, amount, TTL (ms). Unconditional add (settlement).
const addScript = `
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 2 + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 2 + 2])
end
return #KEYS
`;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
const reserveSha = sha1(reserveScript);
const addSha = sha1(addScript);

/**
 * Spend counters in Redis, shared by every replica. Each reservation is one Lua script (EVALSHA, EVAL
 * on NOSCRIPT): check every limit, then INCRBY every counter, atomically. Amounts are integer nano-USD,
 * so sums are exact. Every counter's TTL reaches past the end of its window.
 */
export function createRedisSpendStore(options: RedisSpendStoreOptions): SpendStoreV1 {
  if (!options.redis && !options.url) {
    throw new ConfigError({
      path: 'url',
      message: 'createRedisSpendStore needs `redis` (an ioredis client) or `url`',
    });
  }
  const prefix = `${options.prefix ?? 'bulwark:'}spend:{budget}:v1:`;
  const owned = !options.redis;
  let client: Promise<RedisClientLike> | undefined = options.redis
    ? Promise.resolve(options.redis)
    : undefined;
  const connect = (): Promise<RedisClientLike> => {
    client ??= import('ioredis').then(
      (module) =>
        new module.Redis(options.url!, {
          maxRetriesPerRequest: 1,
          commandTimeout: 2000,
        }) as unknown as RedisClientLike,
      (error: unknown) => {
        throw new ConfigError({
          path: 'url',
          message: 'The Redis spend store needs the `ioredis` package: npm install ioredis',
          cause: error,
        });
      },
    );
    return client;
  };
  const run = async (sha: string, script: string, keys: string[], values: (string | number)[]) => {
    const redis = await connect();
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...values);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return redis.eval(script, keys.length, ...keys, ...values);
    }
  };

  return {
    specificationVersion: 'v1',
    async reserve(entries: readonly SpendEntry[]): Promise<ReserveResult> {
      const keys = entries.map((entry) => prefix + entry.key);
      const values: (string | number)[] = [];
      for (const entry of entries) {
        values.push(
          Math.round(entry.amount),
          entry.limit === undefined ? '' : Math.round(entry.limit),
          Math.ceil(entry.ttlMs),
        );
      }
      const reply = (await run(reserveSha, reserveScript, keys, values)) as number[];
      const before = reply.slice(1).map(Number);
      const refused = Number(reply[0]);
      return refused === 0 ? { ok: true, before } : { ok: false, before, refused: refused - 1 };
    },
    async add(entries) {
      if (entries.length === 0) return;
      const keys = entries.map((entry) => prefix + entry.key);
      const values: (string | number)[] = [];
      for (const entry of entries) values.push(Math.round(entry.amount), Math.ceil(entry.ttlMs));
      await run(addSha, addScript, keys, values);
    },
    async read(keys) {
      if (keys.length === 0) return [];
      const redis = await connect();
      const values = await redis.mget(...keys.map((key) => prefix + key));
      return values.map((value) => (value === null ? 0 : Number(value)));
    },
    async close() {
      if (owned && client) {
        const redis = await client.catch(() => undefined);
        await redis?.quit();
      }
    },
  };
}
