import type { ReserveResult, SpendEntry, SpendStoreV1 } from '@bulwark/usage';
import { openRedisConnection, type RedisClient, type RedisConnectionOptions } from './redis-client.js';
import { storePrefix } from './redis-limiter-store.js';
import { defineScript } from './redis-script.js';

export interface RedisSpendStoreOptions extends RedisConnectionOptions {
  /**
   * Prefix of every key (no `{` or `}`). Default `bulwark:`. Keys are `<prefix>spend:{budget}:v1:<counter>`:
   * the `{budget}` hash tag keeps a reservation's keys in one slot, so the script also runs on Redis Cluster.
   */
  prefix?: string;
  /** Longest a Redis command may take before it fails (the budget's `onStoreError` decides then). Default 2000 ms. */
  commandTimeoutMs?: number;
}

/** A spend store on Redis, with the client it uses and readiness. */
export interface RedisSpendStore extends SpendStoreV1 {
  reserve(entries: readonly SpendEntry[]): Promise<ReserveResult>;
  add(entries: readonly SpendEntry[]): Promise<void>;
  read(keys: readonly string[]): Promise<number[]>;
  readonly client: RedisClient;
  /** True when Redis is connected and answers `PING`. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

// KEYS: counters. ARGV: per key, amount, limit ('' for none), TTL (ms). Reads every counter first,
// refuses the whole reservation if any limit would be exceeded, else adds every amount. Returns
// { refusedIndex (0 = none), before1, before2, ... }.
const reserveScript = defineScript(
  'SpendReserve',
  `
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
`,
);

// KEYS: counters. ARGV: per key, amount, TTL (ms). Unconditional add (settlement).
const addScript = defineScript(
  'SpendAdd',
  `
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 2 + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 2 + 2])
end
return #KEYS
`,
);

/**
 * Spend counters in Redis, shared by every replica. Each reservation is one Lua script: check every
 * limit, then INCRBY every counter, atomically. Amounts are integer nano-USD, so sums are exact. Every
 * counter's TTL reaches past the end of its window.
 */
export function createRedisSpendStore(options: RedisSpendStoreOptions = {}): RedisSpendStore {
  const prefix = `${storePrefix(options, 'spend')}{budget}:v1:`;
  const connection = openRedisConnection({ ...options, commandTimeoutMs: options.commandTimeoutMs ?? 2000 });

  return {
    specificationVersion: 'v1',
    client: connection.client,
    async reserve(entries) {
      const keys = entries.map((entry) => prefix + entry.key);
      const values: Array<string | number> = [];
      for (const entry of entries) {
        values.push(
          Math.round(entry.amount),
          entry.limit === undefined ? '' : Math.round(entry.limit),
          Math.ceil(entry.ttlMs),
        );
      }
      await connection.connected();
      const reply = (await connection.run(reserveScript, keys, values)) as number[];
      const before = reply.slice(1).map(Number);
      const refused = Number(reply[0]);
      return refused === 0 ? { ok: true, before } : { ok: false, before, refused: refused - 1 };
    },
    async add(entries) {
      if (entries.length === 0) return;
      const keys = entries.map((entry) => prefix + entry.key);
      const values: Array<string | number> = [];
      for (const entry of entries) values.push(Math.round(entry.amount), Math.ceil(entry.ttlMs));
      await connection.connected();
      await connection.run(addScript, keys, values);
    },
    async read(keys) {
      if (keys.length === 0) return [];
      await connection.connected();
      const values = await connection.client.mget(...keys.map((key) => prefix + key));
      return values.map((value) => (value === null ? 0 : Number(value)));
    },
    ready: () => connection.ready(),
    close: () => connection.close(),
  };
}
