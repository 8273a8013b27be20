import type { MaybePromise } from '../provider.js';

/**
 * A cache backend (version 1 of the contract): bytes under a namespace and a key, with a TTL.
 * `get`, `set`, `delete` and `clear` are required; batch operations are optional extras that the
 * cache middleware uses when present. A backend must never throw for a missing key.
 *
 * Namespaces and keys are arbitrary strings (a namespace may contain `:` or glob characters); one
 * namespace never sees another's entries. Values are opaque bytes and must round-trip exactly; `set`
 * must not keep a reference the caller may reuse, and callers must not mutate what `get` returns.
 * When the store is slow or unreachable, `get` may answer undefined and `set` may drop the write
 * (report it through events): the cache middleware also treats a throw from either as a miss or a
 * dropped write, so a cache outage never fails a call. `@bulwark/testkit`'s
 * `describeCacheBackendConformance` checks all of this.
 */
export interface CacheBackendV1 {
  readonly specificationVersion: 'v1';
  /** Backend name for events and logs (`memory`, `redis`…). */
  readonly name: string;
  /** The value stored under `key` in `namespace`, or undefined when absent or expired. */
  get(namespace: string, key: string): MaybePromise<Uint8Array | undefined>;
  /** Stores `value` for `ttlMs` milliseconds (TTL set atomically with the value). */
  set(namespace: string, key: string, value: Uint8Array, ttlMs: number): MaybePromise<void>;
  /** Removes one entry; true when it existed. */
  delete(namespace: string, key: string): MaybePromise<boolean>;
  /** Removes every entry of `namespace` (and nothing else). */
  clear(namespace: string): MaybePromise<void>;
  getMany?(namespace: string, keys: readonly string[]): MaybePromise<Array<Uint8Array | undefined>>;
  setMany?(
    namespace: string,
    entries: ReadonlyArray<{ key: string; value: Uint8Array; ttlMs: number }>,
  ): MaybePromise<void>;
  /** Releases connections and timers. */
  dispose?(): MaybePromise<void>;
}

export type CacheBackend = CacheBackendV1;
