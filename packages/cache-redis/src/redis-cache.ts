import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import {
  type CacheBackendV1,
  type Clock,
  ConfigError,
  type EventBus,
  type Logger,
  redactSecrets,
  silentLogger,
  systemClock,
} from '@bulwark/core';
import { createRedisClient, type RedisClient } from '@bulwark/redis-stores/redis-client';
import type { Redis } from 'ioredis';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** A cache backend became unavailable (calls bypass it) or available again. */
    'cache:availability': { backend: string; available: boolean; error?: string };
  }
}

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** First byte of every stored value: how the rest is encoded. */
const rawFlag = 0x00;
const deflateFlag = 0x01;

export interface RedisCacheOptions {
  /** A client you created (single node or `Cluster`). It is not closed by `dispose()`. */
  redis?: RedisClient;
  /** Redis URL when no client is given. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Redis Cluster seed nodes (`host:port` or `{ host, port }`) when no client is given; overrides `url`. */
  nodes?: ReadonlyArray<string | { host: string; port: number }>;
  /** Prefix of every key. Default `bulwark:cache:`. */
  prefix?: string;
  /** Values larger than this many bytes are stored deflate-compressed (when that makes them smaller). `false` disables. Default 1024. */
  compressAboveBytes?: number | false;
  /** A lookup that takes longer counts as a miss. Default 50 ms. */
  lookupTimeoutMs?: number;
  /** A write that takes longer is given up (the entry may or may not land). Default 250 ms. */
  writeTimeoutMs?: number;
  /** Clock for the timeouts. Default: the system clock. */
  clock?: Clock;
  /** Where `cache:error` and `cache:availability` events go. */
  events?: EventBus;
  /** Where the unavailable / available-again lines go. */
  logger?: Logger;
}

/** The Redis backend, with connection control. */
export interface RedisCacheBackend extends CacheBackendV1 {
  /** The client in use. */
  readonly redis: RedisClient;
  /** False after a command failed or timed out, until one succeeds again. */
  readonly available: boolean;
  /**
   * True once the client is connected (waiting up to `timeoutMs`, default 1000) and Redis answers `PING`
   * within it; false otherwise, never a rejection. The readiness capability a host's `/readyz` asks.
   */
  ready(timeoutMs?: number): Promise<boolean>;
}

class TimeoutError extends Error {
  constructor(operation: string, ms: number) {
    super(`${operation} took longer than ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

function positive(value: number | undefined, path: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new ConfigError({ path, message: `${path} must be a positive number (got ${String(value)})` });
  }
}

/** Escapes the characters SCAN MATCH treats as a pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * A Redis cache backend (ioredis), single node or Cluster. Keys are `<prefix><namespace>:<key>`, one
 * key per entry, so every command touches one slot and runs on a Cluster; `clear` scans every master.
 * Values are the bytes the cache gives, behind a one-byte header, deflate-compressed above a size; the
 * TTL is set with the value in one `SET … PX`.
 *
 * When Redis is slow or down the backend steps aside instead of failing calls: a lookup slower than
 * `lookupTimeoutMs` or failing is a miss, a failed write is dropped, each reported as a `cache:error`
 * event, and one log line (plus a `cache:availability` event) marks the change of state each way. A
 * client created here fails commands at once while disconnected (no offline queue) and reconnects by itself.
 */
export function createRedisCache(options: RedisCacheOptions = {}): RedisCacheBackend {
  positive(options.lookupTimeoutMs, 'lookupTimeoutMs');
  positive(options.writeTimeoutMs, 'writeTimeoutMs');
  if (options.compressAboveBytes !== undefined && options.compressAboveBytes !== false) {
    if (!(options.compressAboveBytes >= 0)) {
      throw new ConfigError({
        path: 'compressAboveBytes',
        message: `compressAboveBytes must be a number of bytes or false (got ${String(options.compressAboveBytes)})`,
      });
    }
  }
  const prefix = options.prefix ?? 'bulwark:cache:';
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 50;
  const writeTimeoutMs = options.writeTimeoutMs ?? 250;
  const compressAbove =
    options.compressAboveBytes === false ? Number.POSITIVE_INFINITY : (options.compressAboveBytes ?? 1024);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const events = options.events;
  const owned = options.redis === undefined;
  // The fail-fast client every Bulwark Redis plugin uses (no offline queue, background reconnects).
  const client: RedisClient =
    options.redis ??
    createRedisClient({
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
    });
  // ioredis reports connection errors as 'error' events; without a listener Node would throw them.
  const onClientError = (error: Error): void => unavailable('connection', error);
  client.on('error', onClientError);

  let available = true;
  const unavailable = (operation: string, error: unknown): void => {
    const message = redactSecrets(error instanceof Error ? error.message : String(error));
    if (events?.has('cache:error'))
      events.emit('cache:error', { operation: `redis:${operation}`, error: message });
    if (!available) return;
    available = false;
    logger.warn(
      'redis cache unavailable: lookups count as misses and writes are dropped until it answers again',
      {
        operation,
        error: message,
      },
    );
    if (events?.has('cache:availability')) {
      events.emit('cache:availability', { backend: 'redis', available: false, error: message });
    }
  };
  const refused = (operation: string, error: Error): void => {
    if (events?.has('cache:error'))
      events.emit('cache:error', { operation: `redis:${operation}`, error: redactSecrets(error.message) });
    answered();
  };
  const answered = (): void => {
    if (available) return;
    available = true;
    logger.info('redis cache available again');
    if (events?.has('cache:availability'))
      events.emit('cache:availability', { backend: 'redis', available: true });
  };

  const withTimeout = <T>(work: Promise<T>, ms: number, operation: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const cancel = clock.setTimer(ms, () => reject(new TimeoutError(operation, ms)));
      work.then(
        (value) => {
          cancel();
          resolve(value);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });

  const redisKey = (namespace: string, key: string): string =>
    `${prefix}${encodeURIComponent(namespace)}:${key}`;

  const corrupt = (key: string, reason: string): undefined => {
    if (events?.has('cache:error')) events.emit('cache:error', { operation: 'redis:decode', error: reason });
    client.del(key).catch((error: unknown) => unavailable('delete', error));
    return undefined;
  };

  const decode = async (key: string, stored: Buffer): Promise<Uint8Array | undefined> => {
    if (stored.byteLength === 0) return corrupt(key, 'empty value');
    const flag = stored[0];
    const body = stored.subarray(1);
    if (flag === rawFlag) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    if (flag === deflateFlag) {
      try {
        const inflated = await inflate(body);
        return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      } catch (error) {
        return corrupt(key, `cannot inflate value: ${(error as Error).message}`);
      }
    }
    return corrupt(key, `unknown value header ${flag}`);
  };

  const encode = async (value: Uint8Array): Promise<Buffer> => {
    if (value.byteLength > compressAbove) {
      const compressed = await deflate(value, { level: 1 });
      if (compressed.byteLength < value.byteLength)
        return Buffer.concat([Buffer.of(deflateFlag), compressed]);
    }
    return Buffer.concat([Buffer.of(rawFlag), value]);
  };

  const get = async (namespace: string, key: string): Promise<Uint8Array | undefined> => {
    const full = redisKey(namespace, key);
    let stored: Buffer | null;
    try {
      stored = await withTimeout(client.getBuffer(full), lookupTimeoutMs, 'lookup');
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) {
        answered();
        return corrupt(full, 'key holds a value of another type');
      }
      unavailable('get', error);
      return undefined;
    }
    answered();
    return stored === null ? undefined : decode(full, stored);
  };

  const set = async (namespace: string, key: string, value: Uint8Array, ttlMs: number): Promise<void> => {
    if (!(ttlMs > 0)) return;
    try {
      const payload = await encode(value);
      await withTimeout(
        client.set(redisKey(namespace, key), payload, 'PX', Math.max(1, Math.ceil(ttlMs))),
        writeTimeoutMs,
        'write',
      );
      answered();
    } catch (error) {
      // An error reply (a TTL out of range, say) comes from a Redis that answered: report the write,
      // but do not log the cache as down and up again.
      if (isErrorReply(error)) refused('set', error);
      else unavailable('set', error);
    }
  };

  const masters = (): Redis[] => ('nodes' in client ? client.nodes('master') : [client]);

  return {
    specificationVersion: 'v1',
    name: 'redis',
    redis: client,
    get available() {
      return available;
    },
    get,
    set,
    async delete(namespace, key) {
      return (await client.del(redisKey(namespace, key))) > 0;
    },
    async clear(namespace) {
      const pattern = `${globEscape(`${prefix}${encodeURIComponent(namespace)}`)}:*`;
      await Promise.all(
        masters().map(async (node) => {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) {
              // One UNLINK per key: keys on one Cluster node may sit in different slots.
              const pipeline = node.pipeline();
              for (const key of keys) pipeline.unlink(key);
              await pipeline.exec();
            }
          } while (cursor !== '0');
        }),
      );
    },
    getMany: (namespace, keys) => Promise.all(keys.map((key) => get(namespace, key))),
    async setMany(namespace, entries) {
      await Promise.all(entries.map((entry) => set(namespace, entry.key, entry.value, entry.ttlMs)));
    },
    async ready(timeoutMs = 1_000) {
      try {
        if (client.status !== 'ready') {
          let onReady: (() => void) | undefined;
          const connected = new Promise<void>((resolve) => {
            onReady = resolve;
            client.once('ready', onReady);
          });
          await withTimeout(connected, timeoutMs, 'connect').finally(() => client.off('ready', onReady!));
        }
        return (await withTimeout(client.ping(), timeoutMs, 'ping')) === 'PONG';
      } catch {
        return false;
      }
    },
    async dispose() {
      client.off('error', onClientError);
      if (owned) {
        // Swallow late connection errors while closing.
        client.on('error', () => {});
        client.disconnect();
      }
    },
  };
}

/** ioredis rejects with a `ReplyError` when Redis answered a command with an error. */
function isErrorReply(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}
