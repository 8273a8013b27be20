import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError } from '@bulwark/core';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { authKeyObject, type GatewayConfig } from '../config/config-schema.js';
import { connectKeysRedis, keysHashOf } from './key-source.js';

/** What `bulwark keys create` writes for a key (never the key itself). */
export interface NewKey {
  tenant: string;
  models?: string[] | undefined;
  limits?: { rpm?: number; tpm?: number; concurrency?: number } | undefined;
  expiresAt?: string | undefined;
}

const sourceOf = (config: GatewayConfig) => {
  const source = config.auth?.source;
  if (!source)
    throw new ConfigError({
      path: 'auth.source',
      message:
        'bulwark keys needs auth.source in the config: { plugin: redis, url, prefix } or { plugin: file, path }',
    });
  return source;
};

const tenantOf = (entry: unknown): unknown =>
  (entry as { tenant?: unknown; name?: unknown }).tenant ?? (entry as { name?: unknown }).name;

/**
 * Makes a key for a tenant and stores only its SHA-256 with the entry in the config's key source; returns
 * the key (shown once: it is not kept anywhere). A tenant that already has a key there is refused.
 */
export async function createKey(config: GatewayConfig, key: NewKey): Promise<string> {
  const source = sourceOf(config);
  const secret = `sk-bw-${randomBytes(24).toString('base64url')}`;
  const digest = createHash('sha256').update(secret).digest('hex');
  const entry: Record<string, unknown> = { tenant: key.tenant };
  if (key.models) entry.models = key.models;
  if (key.limits && Object.keys(key.limits).length > 0) entry.limits = key.limits;
  if (key.expiresAt) entry.expiresAt = key.expiresAt;
  const checked = authKeyObject.safeParse({ ...entry, keyHash: digest });
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new ConfigError({
      path: issue.path.join('.'),
      message: `${issue.path.join('.')}: ${issue.message}`,
    });
  }
  const taken = (tenant: unknown) => {
    if (tenant === key.tenant)
      throw new ConfigError({
        path: 'tenant',
        message: `tenant ${key.tenant} already has a key in the key source`,
      });
  };
  if (source.plugin === 'redis') {
    const redis = await connectKeysRedis(source.url);
    try {
      const hash = keysHashOf(source.prefix);
      for (const json of Object.values(await redis.client.hgetall(hash))) taken(tenantOf(JSON.parse(json)));
      await redis.client.hset(hash, digest, JSON.stringify(entry));
    } finally {
      await redis.close();
    }
  } else {
    const text = await readFile(source.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return 'keys: []\n';
      throw error;
    });
    const document = (parseYaml(text) ?? {}) as { keys?: unknown[] };
    const keys = document.keys ?? [];
    for (const existing of keys) taken(tenantOf(existing));
    await writeFile(source.path, toYaml({ ...document, keys: [...keys, { keyHash: digest, ...entry }] }));
  }
  return secret;
}

/** Removes every key of a tenant from the key source; resolves to how many were removed. */
export async function revokeKeys(config: GatewayConfig, tenant: string): Promise<number> {
  const source = sourceOf(config);
  if (source.plugin === 'redis') {
    const redis = await connectKeysRedis(source.url);
    try {
      const hash = keysHashOf(source.prefix);
      const fields = Object.entries(await redis.client.hgetall(hash))
        .filter(([, json]) => tenantOf(JSON.parse(json)) === tenant)
        .map(([field]) => field);
      return fields.length === 0 ? 0 : await redis.client.hdel(hash, ...fields);
    } finally {
      await redis.close();
    }
  }
  const document = (parseYaml(await readFile(source.path, 'utf8')) ?? {}) as { keys?: unknown[] };
  const keys = document.keys ?? [];
  const kept = keys.filter((entry) => tenantOf(entry) !== tenant);
  await writeFile(source.path, toYaml({ ...document, keys: kept }));
  return keys.length - kept.length;
}
