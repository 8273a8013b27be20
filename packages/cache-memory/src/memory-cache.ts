import { type CacheBackendV1, type Clock, ConfigError } from '@bulwark/core';
import { LRUCache } from 'lru-cache';

export interface MemoryCacheOptions {
  /** Upper bound on stored bytes (values plus keys); least recently used entries go first. Default 64 MiB. */
  maxBytes?: number;
  /** Largest single entry in bytes; larger values are not stored. Default: a quarter of `maxBytes`. */
  maxEntryBytes?: number;
  /** Time source for TTLs (inject `createVirtualClock()` in tests). Default: the system clock. */
  clock?: Pick<Clock, 'now'>;
}

/** An in-process backend that also reports its size. */
export interface MemoryCacheBackend extends CacheBackendV1 {
  get(namespace: string, key: string): Uint8Array | undefined;
  set(namespace: string, key: string, value: Uint8Array, ttlMs: number): void;
  delete(namespace: string, key: string): boolean;
  clear(namespace: string): void;
  /** Bytes held now (values plus keys). */
  readonly bytes: number;
  /** Entries held now (expired ones may linger until touched). */
  readonly size: number;
}

const separator = '\u0000';

function positive(value: number | undefined, path: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new ConfigError({ path, message: `${path} must be a positive number (got ${String(value)})` });
  }
}

/**
 * The embedded cache backend: an LRU (lru-cache) bounded in bytes, with a TTL per entry measured on an
 * injectable clock. Values are copied on write, so callers may reuse their buffers; values returned by
 * `get` must not be mutated.
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): MemoryCacheBackend {
  positive(options.maxBytes, 'maxBytes');
  positive(options.maxEntryBytes, 'maxEntryBytes');
  const maxBytes = Math.floor(options.maxBytes ?? 64 * 1024 * 1024);
  const maxEntryBytes = Math.floor(options.maxEntryBytes ?? Math.max(1, maxBytes / 4));
  const clock = options.clock;
  const entries = new LRUCache<string, Uint8Array>({
    maxSize: maxBytes,
    maxEntrySize: maxEntryBytes,
    // JavaScript strings take two bytes per code unit.
    sizeCalculation: (value, key) => Math.max(1, value.byteLength + key.length * 2),
    ttlAutopurge: false,
    // lru-cache treats a start time of 0 as "no TTL"; a virtual clock starts at 0, so shift it by one.
    ...(clock ? { perf: { now: () => clock.now() + 1 }, ttlResolution: 0 } : {}),
  });
  const compose = (namespace: string, key: string): string => `${namespace}${separator}${key}`;

  return {
    specificationVersion: 'v1',
    name: 'memory',
    get: (namespace, key) => entries.get(compose(namespace, key)),
    set(namespace, key, value, ttlMs) {
      if (!(ttlMs > 0)) return;
      entries.set(compose(namespace, key), value.slice(), { ttl: Math.ceil(ttlMs) });
    },
    delete: (namespace, key) => entries.delete(compose(namespace, key)),
    clear(namespace) {
      const prefix = `${namespace}${separator}`;
      for (const key of [...entries.keys()]) {
        if (key.startsWith(prefix)) entries.delete(key);
      }
    },
    getMany: (namespace, keys) => keys.map((key) => entries.get(compose(namespace, key))),
    setMany(namespace, items) {
      for (const item of items) {
        if (item.ttlMs > 0)
          entries.set(compose(namespace, item.key), item.value.slice(), { ttl: Math.ceil(item.ttlMs) });
      }
    },
    dispose() {
      entries.clear();
    },
    get bytes() {
      return entries.calculatedSize;
    },
    get size() {
      return entries.size;
    },
  };
}
