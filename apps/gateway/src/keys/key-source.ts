import { readFile } from 'node:fs/promises';
import { ConfigError } from '@bulwark/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { authKeyObject, type GatewayConfig } from '../config/config-schema.js';
import type { ApiKeyConfig } from '../http/api-keys.js';

/** Where `auth.source` keys live; `load()` returns every entry it holds now. */
export interface KeySource {
  load(): Promise<ApiKeyConfig[]>;
  close(): Promise<void>;
}

export type KeySourceConfig = NonNullable<NonNullable<GatewayConfig['auth']>['source']>;

/** The Redis hash of a source's keys: field = SHA-256 of the key (hex), value = the entry as JSON. */
export const keysHashOf = (prefix: string): string => `${prefix}keys`;

const fileSchema = z.strictObject({ keys: z.array(authKeyObject) });

/** Minimal ioredis surface the key source and `bulwark keys create` use. */
export interface KeysRedisClient {
  hgetall(key: string): Promise<Record<string, string>>;
  hset(key: string, field: string, value: string): Promise<number>;
  hdel(key: string, ...fields: string[]): Promise<number>;
}

/** A connected client and how to let it go. */
export interface KeysRedis {
  client: KeysRedisClient;
  close(): Promise<void>;
}

/** A Redis client from `@bulwark/redis-stores` (installed beside the gateway for Redis features). */
export async function connectKeysRedis(url: string): Promise<KeysRedis> {
  let module: {
    openRedisConnection(options: { url: string }): {
      client: unknown;
      connected(): Promise<void>;
      close(): Promise<void>;
    };
  };
  try {
    module = (await import('@bulwark/redis-stores/redis-client')) as typeof module;
  } catch (error) {
    throw new ConfigError({
      path: 'auth.source',
      message: 'auth.source plugin redis needs @bulwark/redis-stores: npm install @bulwark/redis-stores',
      cause: error,
    });
  }
  const connection = module.openRedisConnection({ url });
  try {
    await connection.connected();
  } catch (error) {
    await connection.close();
    throw error;
  }
  return { client: connection.client as KeysRedisClient, close: () => connection.close() };
}

/** Checks one stored entry; a bad one is named by where it was found (never by its key). */
function entryOf(value: unknown, where: string): ApiKeyConfig {
  const result = authKeyObject.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError({ path: where, message: `${where}.${issue.path.join('.')}: ${issue.message}` });
  }
  return result.data;
}

/** The key source of `auth.source`. */
export async function createKeySource(config: KeySourceConfig): Promise<KeySource> {
  if (config.plugin === 'file') {
    return {
      async load() {
        const text = await readFile(config.path, 'utf8');
        const parsed = fileSchema.safeParse(parseYaml(text));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new ConfigError({
            path: 'auth.source',
            message: `${config.path}: ${issue.path.join('.')}: ${issue.message}`,
          });
        }
        return parsed.data.keys;
      },
      async close() {},
    };
  }
  const redis = await connectKeysRedis(config.url);
  const hash = keysHashOf(config.prefix);
  return {
    async load() {
      const fields = await redis.client.hgetall(hash);
      return Object.entries(fields).map(([digest, json]) =>
        entryOf({ ...(JSON.parse(json) as object), keyHash: digest }, `${hash}[${digest.slice(0, 8)}…]`),
      );
    },
    close: () => redis.close(),
  };
}
