import { type Clock, ConfigError, type Logger, type Readiness, systemClock } from '@bulwark/core';

/** The target that produced a response id: a request naming the id goes there only. */
export interface ResponsePin {
  provider: string;
  model: string;
}

/**
 * Where the gateway remembers which target produced each response id it returned, for
 * `previous_response_id`. Entries expire `ttlMs` after they were written.
 */
export interface ResponsePinStore {
  /** The target that produced `id`, or undefined when unknown, expired, or the store cannot answer. */
  get(id: string): Promise<ResponsePin | undefined>;
  /** Remembers the target of `id` for the store's TTL. Never rejects (a lost pin routes the follow-up normally). */
  set(id: string, pin: ResponsePin): Promise<void>;
  /** Readiness (`/readyz`): a shared store is ready when its backend answers. */
  ready?(): Promise<Readiness>;
  close(): Promise<void>;
}

/** How long a pin is kept by default: 6 hours. */
export const defaultResponsePinTtlMs = 6 * 60 * 60 * 1000;
/** Most pins a memory store keeps; the oldest is dropped first. */
export const defaultMaxResponsePins = 100_000;

/** Pins in this process only: one gateway replica (the default). */
export function createMemoryResponsePinStore(
  options: { ttlMs?: number; maxEntries?: number; clock?: Clock } = {},
): ResponsePinStore {
  const ttlMs = options.ttlMs ?? defaultResponsePinTtlMs;
  const maxEntries = options.maxEntries ?? defaultMaxResponsePins;
  const clock = options.clock ?? systemClock;
  const pins = new Map<string, ResponsePin & { expiresAt: number }>();
  return {
    async get(id) {
      const found = pins.get(id);
      if (!found) return undefined;
      if (found.expiresAt <= clock.now()) {
        pins.delete(id);
        return undefined;
      }
      return { provider: found.provider, model: found.model };
    },
    async set(id, pin) {
      pins.delete(id);
      if (pins.size >= maxEntries) pins.delete(pins.keys().next().value!);
      pins.set(id, { provider: pin.provider, model: pin.model, expiresAt: clock.now() + ttlMs });
    },
    async close() {
      pins.clear();
    },
  };
}

/** The ioredis surface the Redis pin store uses. */
interface PinsRedisClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>;
}

interface PinsRedisConnection {
  client: unknown;
  /** Waits for the first connection; rejects at once when a connection that was up is lost. */
  connected(): Promise<void>;
  ready(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Longest a pin read or write may wait on Redis before the request is routed without it. */
export const pinCommandTimeoutMs = 500;

/**
 * Pins shared by every gateway replica on one Redis: `SET <prefix>response-pin:<id> <json> PX <ttl>`.
 * Fail-open: when Redis does not answer, a read finds no pin (the follow-up is routed normally, as if
 * the pin had expired) and a write is dropped; the first failure is logged once (never the URL) and a
 * success after it is logged too. `/readyz` reports Redis.
 */
export async function createRedisResponsePinStore(options: {
  url?: string | undefined;
  prefix?: string | undefined;
  ttlMs?: number | undefined;
  logger?: Logger | undefined;
  /** For tests: a connection instead of one opened from `url`. */
  connection?: PinsRedisConnection;
}): Promise<ResponsePinStore> {
  let connection = options.connection;
  if (!connection) {
    let module: { openRedisConnection(options: Record<string, unknown>): PinsRedisConnection };
    try {
      module = (await import('@bulwark/redis-stores/redis-client')) as unknown as typeof module;
    } catch (error) {
      throw new ConfigError({
        path: 'responses.pinning.store',
        message:
          'responses.pinning.store plugin redis needs @bulwark/redis-stores: npm install @bulwark/redis-stores ioredis',
        cause: error,
      });
    }
    connection = module.openRedisConnection({
      ...(options.url === undefined ? {} : { url: options.url }),
      commandTimeoutMs: pinCommandTimeoutMs,
    });
  }
  const client = connection.client as PinsRedisClient;
  const prefix = `${options.prefix ?? 'bulwark:'}response-pin:`;
  const ttlMs = Math.max(1, Math.round(options.ttlMs ?? defaultResponsePinTtlMs));
  let failing = false;
  const failed = (error: unknown): void => {
    if (failing) return;
    failing = true;
    options.logger?.warn(
      'response pin store: Redis did not answer; previous_response_id requests are routed without their pin until it does',
      { reason: error instanceof Error ? error.name : 'error' },
    );
  };
  const recovered = (): void => {
    if (!failing) return;
    failing = false;
    options.logger?.info('response pin store: Redis answers again');
  };
  return {
    async get(id) {
      try {
        await connection.connected();
        const text = await client.get(prefix + id);
        recovered();
        if (text === null) return undefined;
        const parsed = JSON.parse(text) as Partial<ResponsePin>;
        if (typeof parsed.provider !== 'string' || typeof parsed.model !== 'string') return undefined;
        return { provider: parsed.provider, model: parsed.model };
      } catch (error) {
        failed(error);
        return undefined;
      }
    },
    async set(id, pin) {
      try {
        await connection.connected();
        await client.set(
          prefix + id,
          JSON.stringify({ provider: pin.provider, model: pin.model }),
          'PX',
          ttlMs,
        );
        recovered();
      } catch (error) {
        failed(error);
      }
    },
    async ready() {
      return (await connection.ready())
        ? { ready: true }
        : { ready: false, reason: 'Redis of responses.pinning.store does not answer' };
    },
    close: () => connection.close(),
  };
}

/** `responses.pinning` of the gateway config. */
export interface ResponsePinningConfig {
  store?: { plugin: string; url?: string | undefined; prefix?: string | undefined; [key: string]: unknown };
  ttlSeconds?: number;
}

/** The pin store `responses.pinning` asks for: memory (default) or Redis. */
export async function createResponsePinStore(
  config: ResponsePinningConfig | undefined,
  options: { logger?: Logger; clock?: Clock } = {},
): Promise<ResponsePinStore> {
  const ttlMs = config?.ttlSeconds === undefined ? defaultResponsePinTtlMs : config.ttlSeconds * 1000;
  const plugin = config?.store?.plugin ?? 'memory';
  if (plugin === 'memory')
    return createMemoryResponsePinStore({ ttlMs, ...(options.clock ? { clock: options.clock } : {}) });
  if (plugin === 'redis')
    return createRedisResponsePinStore({
      url: config?.store?.url,
      prefix: config?.store?.prefix,
      ttlMs,
      logger: options.logger,
    });
  throw new ConfigError({
    path: 'responses.pinning.store.plugin',
    message: `responses.pinning.store.plugin must be memory or redis (got "${plugin}")`,
  });
}
