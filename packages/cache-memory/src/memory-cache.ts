import { type CacheBackendV1, type Clock, ConfigError } from '@bulwark/core';
import { LRUCache } from 'lru-cache';

export interface MemoryCacheOptions {
  /**
   * Upper bound on the memory the entries hold, in bytes: value bytes, key characters and a fixed
   * `entryOverheadBytes` per entry, so the bound is close to what the heap really holds (measured in
   * `memory-cache-size.test.ts`). Least recently used entries go first. Default `defaultMaxBytes` (32 MiB);
   * budget about twice the bound in RSS.
   */
  maxBytes?: number;
  /** Largest single entry in bytes, counted the same way; larger values are not stored. Default: a quarter of `maxBytes`. */
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
  /** Bytes counted against `maxBytes` now: values, keys and the per-entry overhead. */
  readonly bytes: number;
  /** Entries held now (expired ones may linger until touched). */
  readonly size: number;
}

/**
 * The default `maxBytes`: 32 MiB. A full cache costs about twice its bound in RSS (heap slack included):
 * under a 450,000-call soak of unique prompts the process peaked at 242 MiB RSS against 176 MiB without a
 * cache (bench/results/cache-soak.md).
 */
export const defaultMaxBytes = 32 * 1024 * 1024;

/**
 * What one entry holds beyond its value bytes and key characters, counted against `maxBytes`: the
 * value's `Uint8Array` and `ArrayBuffer` objects, the key string's header, lru-cache's slots for it
 * (key and value lists, links, size, TTL, start) and its `Map` entry. Measured on Node 20 as heap plus
 * array-buffer bytes after a full GC (`memory-cache-size.test.ts` checks the bound stays honest); the
 * native bookkeeping of each ArrayBuffer comes on top.
 */
export const entryOverheadBytes = 350;

const separator = '\u0000';

// A key is a string in V8's heap: one byte per Latin-1 character, two per character otherwise.
const stringBytes = (text: string): number => (/[\u0100-\uffff]/.test(text) ? text.length * 2 : text.length);

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
  const maxBytes = Math.floor(options.maxBytes ?? defaultMaxBytes);
  const maxEntryBytes = Math.floor(options.maxEntryBytes ?? Math.max(1, maxBytes / 4));
  const clock = options.clock;
  // Values stay Uint8Arrays (outside V8's heap) rather than Latin-1 strings: measured under the soak in
  // bench/, strings in the heap raised V8's heap limit with them and peak RSS by ~25 % for the same bound.
  const entries = new LRUCache<string, Uint8Array>({
    maxSize: maxBytes,
    maxEntrySize: maxEntryBytes,
    sizeCalculation: (value, key) => value.byteLength + stringBytes(key) + entryOverheadBytes,
    ttlAutopurge: false,
    // lru-cache treats a start time of 0 as "no TTL"; a virtual clock starts at 0, so shift it by one.
    ...(clock ? { perf: { now: () => clock.now() + 1 }, ttlResolution: 0 } : {}),
  });
  const compose = (namespace: string, key: string): string => `${namespace}${separator}${key}`;
  const write = (composed: string, value: Uint8Array, ttlMs: number): void => {
    if (!(ttlMs > 0)) return;
    if (value.byteLength + entryOverheadBytes > maxEntryBytes) {
      // Too large to keep: drop any older value under the key too, as lru-cache does.
      entries.delete(composed);
      return;
    }
    entries.set(composed, value.slice(), { ttl: Math.ceil(ttlMs) });
  };

  return {
    specificationVersion: 'v1',
    name: 'memory',
    get: (namespace, key) => entries.get(compose(namespace, key)),
    set(namespace, key, value, ttlMs) {
      write(compose(namespace, key), value, ttlMs);
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
      for (const item of items) write(compose(namespace, item.key), item.value, item.ttlMs);
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
