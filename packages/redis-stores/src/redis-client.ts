import { createRequire } from 'node:module';
import { ConfigError } from '@bulwark/core';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client: a single node or a Cluster. */
export type RedisClient = Redis | Cluster;

/** How a Redis-backed plugin gets its connection: your client, a URL, or Cluster seed nodes. */
export interface RedisConnectionOptions {
  /**
   * Your own ioredis `Redis` or `Cluster`. It is not closed by `close()`. Create it with
   * `enableOfflineQueue: false`, or a Redis outage makes callers wait in ioredis' offline queue.
   */
  redis?: RedisClient;
  /** Redis URL (`redis://…` or `rediss://…` for TLS). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Redis Cluster seed nodes (`host:port` or `{ host, port }`); overrides `url`. */
  nodes?: ReadonlyArray<string | { host: string; port: number }>;
  /** Longest a command may take before ioredis rejects it. Default: no ioredis deadline. */
  commandTimeoutMs?: number;
  /** Longest a connection attempt may take. Default 2000 ms. */
  connectTimeoutMs?: number;
}

/** A Lua script registered on a client with ioredis' `defineCommand` (EVALSHA, EVAL on NOSCRIPT). */
export interface RedisScript {
  /** The command name it is registered under (`bulwark…`, so it cannot clash with yours). */
  readonly name: string;
  readonly lua: string;
}

/** The connection a Redis-backed plugin uses, with readiness and close. */
export interface RedisConnection {
  readonly client: RedisClient;
  /** True when the client was created here (and `close()` disconnects it). */
  readonly owned: boolean;
  /**
   * Resolves when the client is ready. The first connection may take a moment and is waited for (up to
   * the connect timeout); once the client has been ready, a lost connection rejects at once (fail fast).
   */
  connected(): Promise<void>;
  /** Runs a script: registers it on the client the first time (`defineCommand`), then calls it. */
  run(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown>;
  /** True when the client is connected and answers `PING` within `timeoutMs` (default 1000). */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Disconnects a client created here; leaves an injected one alone. */
  close(): Promise<void>;
}

type IoredisModule = typeof import('ioredis');
let ioredis: IoredisModule | undefined;
const requireHere = createRequire(import.meta.url);

/**
 * Loads `ioredis` (a peer dependency, loaded only when a plugin creates its own client) and says which
 * package to install when it is missing. `load` is for tests; the default resolves next to this package.
 */
export function loadIoredis(load: (id: string) => unknown = requireHere): IoredisModule {
  if (load === requireHere && ioredis) return ioredis;
  try {
    const loaded = load('ioredis') as IoredisModule;
    if (load === requireHere) ioredis = loaded;
    return loaded;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError({
      path: 'url',
      message:
        'Connecting to Redis needs the `ioredis` package next to Bulwark: pnpm add ioredis (or npm install ioredis)',
      cause: error,
    });
  }
}

function parseNode(
  node: string | { host: string; port: number },
  index: number,
): { host: string; port: number } {
  if (typeof node !== 'string') return node;
  const colon = node.lastIndexOf(':');
  const port = Number(node.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) {
    throw new ConfigError({
      path: `nodes[${index}]`,
      message: `nodes[${index}] must be "host:port" (got "${node}")`,
    });
  }
  return { host: node.slice(0, colon), port };
}

const retryStrategy = (attempt: number): number => Math.min(1000, 50 * attempt);

/**
 * Creates an ioredis client that fails fast instead of queueing: no offline queue, no retries of a
 * command, a short connect timeout, and reconnects in the background (at most a second apart). A
 * Redis that is down then costs a caller one rejected command, never a wait.
 */
export function createRedisClient(options: Omit<RedisConnectionOptions, 'redis'> = {}): RedisClient {
  const { Cluster, Redis } = loadIoredis();
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const commandTimeout =
    options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs };
  if (options.nodes) {
    return new Cluster(
      options.nodes.map((node, index) => parseNode(node, index)),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { connectTimeout, maxRetriesPerRequest: 0, ...commandTimeout },
      },
    );
  }
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout,
    retryStrategy,
    ...commandTimeout,
  });
}

type ScriptCommand = (numberOfKeys: number, ...rest: Array<string | number>) => Promise<unknown>;

/**
 * The one way Bulwark's Redis plugins connect: the injected client or a fail-fast one, scripts through
 * ioredis' `defineCommand` (which sends EVALSHA and falls back to EVAL when the server lost the script),
 * and a `ready()` that asks Redis.
 */
export function openRedisConnection(options: RedisConnectionOptions = {}): RedisConnection {
  const owned = options.redis === undefined;
  const client = options.redis ?? createRedisClient(options);
  // ioredis reports connection errors as 'error' events; without a listener Node would throw them.
  if (owned) client.on('error', () => {});
  const defined = new Set<string>();
  const commands = client as unknown as Record<string, ScriptCommand>;
  const connectTimeoutMs = Math.max(1000, options.connectTimeoutMs ?? 2000);
  let everReady = client.status === 'ready';
  if (!everReady) {
    client.once('ready', () => {
      everReady = true;
    });
  }
  const firstConnection = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        client.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onReady = (): void => settle();
      const onError = (error: Error): void => settle(error);
      const onClose = (): void => settle(new Error('Redis connection closed'));
      const timer = setTimeout(() => settle(new Error(`Redis client is ${client.status}`)), connectTimeoutMs);
      client.once('ready', onReady);
      client.once('error', onError);
      client.once('close', onClose);
    });

  return {
    client,
    owned,
    async connected() {
      if (client.status === 'ready') return;
      const connecting =
        client.status === 'wait' || client.status === 'connecting' || client.status === 'connect';
      if (everReady || !connecting) throw new Error(`Redis client is ${client.status}`);
      await firstConnection();
    },
    run(script, keys, args) {
      if (!defined.has(script.name)) {
        client.defineCommand(script.name, { lua: script.lua });
        defined.add(script.name);
      }
      return commands[script.name]!(keys.length, ...keys, ...args);
    },
    async ready(timeoutMs = 1000) {
      if (client.status !== 'ready') return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        const answer = await Promise.race([
          client.ping(),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error('PING timed out')), timeoutMs);
          }),
        ]);
        return answer === 'PONG';
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (owned) client.disconnect();
    },
  };
}
