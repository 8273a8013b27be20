import { randomBytes } from 'node:crypto';
import { type CacheBackendV1, createVirtualClock, type MaybePromise, type VirtualClock } from '@bulwark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** How the conformance suite creates the backend under test. */
export interface CacheBackendConformanceOptions {
  /** Suite title (`memory`, `redis`…). */
  name: string;
  /**
   * Creates the backend, once for the suite. When the backend can measure TTLs on an injected clock,
   * pass `clock` to it and set `virtualTime`; the suite then expires entries by advancing that clock.
   */
  create: (context: { clock: VirtualClock }) => MaybePromise<CacheBackendV1>;
  /** The backend measures TTLs on the clock it was given. Default false: TTLs are tested in real time. */
  virtualTime?: boolean;
  /** Size of the large-value test in bytes. Default 1 MiB. */
  largeValueBytes?: number;
  /** Called after the suite, e.g. to stop a server. The suite calls `dispose()` on the backend first. */
  teardown?: () => MaybePromise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The behaviour every `CacheBackendV1` must have: round trip, overwrite, delete, TTL expiry,
 * namespaces that never leak into each other, clear-by-namespace, large values, concurrent writers,
 * unicode names and values, binary-safe values, and the optional batch operations when offered.
 *
 * ```ts
 * describeCacheBackendConformance({ name: 'memory', virtualTime: true, create: ({ clock }) => createMemoryCache({ clock }) });
 * ```
 */
export function describeCacheBackendConformance(options: CacheBackendConformanceOptions): void {
  describe(`cache backend conformance: ${options.name}`, () => {
    const clock = createVirtualClock(1_000_000);
    let backend: CacheBackendV1;
    const run = randomBytes(4).toString('hex');
    let sequence = 0;
    const namespace = (label: string): string => `conformance-${run}-${label}-${sequence++}`;
    const ttl = 60_000;

    const expire = async (ttlMs: number): Promise<void> => {
      if (options.virtualTime) {
        await clock.advance(ttlMs + 1);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, ttlMs + 50));
    };

    beforeAll(async () => {
      backend = await options.create({ clock });
    });

    afterAll(async () => {
      await backend?.dispose?.();
      await options.teardown?.();
    });

    it('declares the v1 contract and a name', () => {
      expect(backend.specificationVersion).toBe('v1');
      expect(typeof backend.name).toBe('string');
      expect(backend.name.length).toBeGreaterThan(0);
    });

    it('round-trips a value and answers undefined for a missing key', async () => {
      const space = namespace('round-trip');
      expect(await backend.get(space, 'missing')).toBeUndefined();
      await backend.set(space, 'k', encoder.encode('{"text":"hello"}'), ttl);
      const value = await backend.get(space, 'k');
      expect(value).toBeInstanceOf(Uint8Array);
      expect(decoder.decode(value)).toBe('{"text":"hello"}');
    });

    it('overwrites a value and deletes it', async () => {
      const space = namespace('overwrite');
      await backend.set(space, 'k', encoder.encode('first'), ttl);
      await backend.set(space, 'k', encoder.encode('second'), ttl);
      expect(decoder.decode(await backend.get(space, 'k'))).toBe('second');
      expect(await backend.delete(space, 'k')).toBe(true);
      expect(await backend.get(space, 'k')).toBeUndefined();
      expect(await backend.delete(space, 'k')).toBe(false);
    });

    it('round-trips an empty value', async () => {
      const space = namespace('empty');
      await backend.set(space, 'k', new Uint8Array(0), ttl);
      const value = await backend.get(space, 'k');
      expect(value).toBeInstanceOf(Uint8Array);
      expect(value!.byteLength).toBe(0);
    });

    it('expires an entry after its TTL and not before', async () => {
      const space = namespace('ttl');
      const ttlMs = options.virtualTime ? 5_000 : 200;
      await backend.set(space, 'short', encoder.encode('short'), ttlMs);
      await backend.set(space, 'long', encoder.encode('long'), ttl);
      if (options.virtualTime) {
        await clock.advance(ttlMs - 1);
        expect(decoder.decode(await backend.get(space, 'short'))).toBe('short');
      }
      await expire(ttlMs);
      expect(await backend.get(space, 'short')).toBeUndefined();
      expect(decoder.decode(await backend.get(space, 'long'))).toBe('long');
    });

    it('keeps namespaces apart', async () => {
      const first = namespace('tenant-a');
      const second = namespace('tenant-b');
      await backend.set(first, 'same-key', encoder.encode('a'), ttl);
      await backend.set(second, 'same-key', encoder.encode('b'), ttl);
      expect(decoder.decode(await backend.get(first, 'same-key'))).toBe('a');
      expect(decoder.decode(await backend.get(second, 'same-key'))).toBe('b');
      await backend.delete(first, 'same-key');
      expect(await backend.get(first, 'same-key')).toBeUndefined();
      expect(decoder.decode(await backend.get(second, 'same-key'))).toBe('b');
    });

    it('does not confuse a namespace and key split at a separator', async () => {
      const base = namespace('split');
      await backend.set(`${base}:x`, 'y', encoder.encode('namespace with colon'), ttl);
      await backend.set(base, 'x:y', encoder.encode('key with colon'), ttl);
      expect(decoder.decode(await backend.get(`${base}:x`, 'y'))).toBe('namespace with colon');
      expect(decoder.decode(await backend.get(base, 'x:y'))).toBe('key with colon');
    });

    it('clears one namespace and nothing else', async () => {
      const cleared = namespace('clear');
      const kept = `${cleared}-kept`;
      const lookalike = `${cleared}*`;
      const keys = Array.from({ length: 120 }, (_, index) => `key-${index}`);
      await Promise.all(keys.map((key) => backend.set(cleared, key, encoder.encode(key), ttl)));
      await backend.set(kept, 'key-0', encoder.encode('kept'), ttl);
      await backend.set(lookalike, 'key-0', encoder.encode('glob'), ttl);
      await backend.clear(cleared);
      for (const key of keys) expect(await backend.get(cleared, key)).toBeUndefined();
      expect(decoder.decode(await backend.get(kept, 'key-0'))).toBe('kept');
      expect(decoder.decode(await backend.get(lookalike, 'key-0'))).toBe('glob');
      await backend.clear(lookalike);
      expect(decoder.decode(await backend.get(kept, 'key-0'))).toBe('kept');
      expect(await backend.get(lookalike, 'key-0')).toBeUndefined();
      await backend.set(cleared, 'again', encoder.encode('again'), ttl);
      expect(decoder.decode(await backend.get(cleared, 'again'))).toBe('again');
    });

    it('stores large values intact', async () => {
      const space = namespace('large');
      const large = randomBytes(options.largeValueBytes ?? 1024 * 1024);
      await backend.set(space, 'large', large, ttl);
      const value = await backend.get(space, 'large');
      expect(value?.byteLength).toBe(large.byteLength);
      expect(Buffer.from(value!).equals(large)).toBe(true);
    });

    it('survives concurrent writers', async () => {
      const space = namespace('concurrent');
      const values = Array.from({ length: 50 }, (_, index) => `writer-${index}`);
      await Promise.all(values.map((value) => backend.set(space, 'contended', encoder.encode(value), ttl)));
      expect(values).toContain(decoder.decode(await backend.get(space, 'contended')));
      await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          backend.set(space, `distinct-${index}`, encoder.encode(String(index)), ttl),
        ),
      );
      const read = await Promise.all(
        Array.from({ length: 200 }, (_, index) => backend.get(space, `distinct-${index}`)),
      );
      expect(read.map((value) => decoder.decode(value))).toEqual(
        Array.from({ length: 200 }, (_, index) => String(index)),
      );
    });

    it('accepts unicode namespaces, keys and values', async () => {
      const space = `${namespace('unicode')}-租户-🛡️`;
      const text = 'Grüße, 世界! 👋🏽 — ℵ₀ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢';
      await backend.set(space, 'ключ-🔑', encoder.encode(text), ttl);
      expect(decoder.decode(await backend.get(space, 'ключ-🔑'))).toBe(text);
      expect(await backend.get(space, 'ключ')).toBeUndefined();
    });

    it('stores binary values byte for byte', async () => {
      const space = namespace('binary');
      const all = new Uint8Array(512);
      for (let index = 0; index < all.length; index += 1) all[index] = index % 256;
      const tricky = Uint8Array.from([
        0x00, 0xff, 0xfe, 0x0d, 0x0a, 0xc3, 0x28, 0x00, 0x1f, 0x8b, 0x78, 0x9c,
      ]);
      await backend.set(space, 'all-bytes', all, ttl);
      await backend.set(space, 'tricky', tricky, ttl);
      expect(Array.from((await backend.get(space, 'all-bytes'))!)).toEqual(Array.from(all));
      expect(Array.from((await backend.get(space, 'tricky'))!)).toEqual(Array.from(tricky));
    });

    it('keeps a stored value when the caller reuses its buffer', async () => {
      const space = namespace('copy');
      const buffer = encoder.encode('original');
      await backend.set(space, 'k', buffer, ttl);
      buffer.fill(0);
      expect(decoder.decode(await backend.get(space, 'k'))).toBe('original');
    });

    it('offers consistent batch operations when it has them', async () => {
      const space = namespace('batch');
      if (backend.setMany) {
        await backend.setMany(space, [
          { key: 'a', value: encoder.encode('A'), ttlMs: ttl },
          { key: 'b', value: encoder.encode('B'), ttlMs: ttl },
        ]);
      } else {
        await backend.set(space, 'a', encoder.encode('A'), ttl);
        await backend.set(space, 'b', encoder.encode('B'), ttl);
      }
      expect(decoder.decode(await backend.get(space, 'a'))).toBe('A');
      if (backend.getMany) {
        const values = await backend.getMany(space, ['a', 'missing', 'b']);
        expect(values.map((value) => (value ? decoder.decode(value) : undefined))).toEqual([
          'A',
          undefined,
          'B',
        ]);
      }
    });
  });
}
