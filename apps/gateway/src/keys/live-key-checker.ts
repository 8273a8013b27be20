import type { Logger } from '@bulwark/core';
import {
  type ApiKeyChecker,
  type ApiKeyConfig,
  createApiKeyChecker,
  type KeyLimits,
} from '../http/api-keys.js';
import type { KeySource } from './key-source.js';

export interface LiveKeyCheckerOptions {
  /** The config file's `auth.keys`. */
  keys: readonly ApiKeyConfig[];
  source: KeySource;
  /** How often the source is read again (ms). */
  refreshMs: number;
  logger: Logger;
  /** Epoch ms, for `expiresAt`. Default `Date.now`. */
  now?: () => number;
}

/** A key checker over the config's keys plus a source read again every `refreshMs`. */
export interface LiveKeyChecker extends ApiKeyChecker {
  /** The limits of a tenant's key, from the current entries. */
  limitsOf(tenant: string): KeyLimits | undefined;
  /** Reads the source now (also done every `refreshMs`). Rejects when the source cannot be read. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a live key checker: the first read must succeed (a gateway does not start with its keys
 * unreadable); later failures keep the last keys that were read and log a warning once per outage. A
 * key removed from the source stops working at the next read, so within `refreshMs` plus one read.
 * Source entries without `tenant` are named `source-<index>`; a tenant already used by a config key
 * is skipped with a warning, so a source cannot take over a configured tenant's budget or limits.
 */
export async function createLiveKeyChecker(options: LiveKeyCheckerOptions): Promise<LiveKeyChecker> {
  const { keys, source, logger } = options;
  const configTenants = new Set(
    keys.map((entry, index) => (typeof entry === 'string' ? `key-${index}` : (entry.name ?? `key-${index}`))),
  );
  let checker: ApiKeyChecker = createApiKeyChecker(keys, options);
  let limits = new Map<string, KeyLimits>();
  let failing = false;

  const refresh = async (): Promise<void> => {
    const loaded = await source.load();
    const entries: ApiKeyConfig[] = [];
    const nextLimits = new Map<string, KeyLimits>();
    for (const [index, entry] of loaded.entries()) {
      if (typeof entry === 'string') continue;
      const tenant = entry.name ?? `source-${index}`;
      if (configTenants.has(tenant)) {
        logger.warn('key source entry skipped: its tenant belongs to a key of the config file', { tenant });
        continue;
      }
      entries.push({ ...entry, name: tenant });
      if (entry.limits) nextLimits.set(tenant, entry.limits);
    }
    checker = createApiKeyChecker([...keys, ...entries], options);
    limits = nextLimits;
  };
  await refresh();

  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    refresh()
      .then(() => {
        if (failing) logger.info('key source readable again', {});
        failing = false;
      })
      .catch((error: unknown) => {
        if (!failing)
          logger.warn('key source unreadable: keeping the keys read last', {
            error: error instanceof Error ? error.message : String(error),
          });
        failing = true;
      })
      .finally(() => {
        reading = false;
      });
  }, options.refreshMs);
  // Housekeeping: it must not keep a process alive that has nothing else to do.
  timer.unref();

  return {
    identify: (headers) => checker.identify(headers),
    check: (headers) => checker.check(headers),
    limitsOf: (tenant) => limits.get(tenant),
    refresh,
    async close() {
      clearInterval(timer);
      await source.close();
    },
  };
}
