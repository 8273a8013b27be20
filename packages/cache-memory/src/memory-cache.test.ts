import { createVirtualClock } from '@bulwark/core';
import { describeCacheBackendConformance } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { createMemoryCache } from './memory-cache.js';
import { plugin } from './plugin.js';

describeCacheBackendConformance({
  name: 'memory',
  virtualTime: true,
  create: ({ clock }) => createMemoryCache({ clock, maxBytes: 64 * 1024 * 1024 }),
});

const bytes = (size: number) => new Uint8Array(size).fill(7);

describe('createMemoryCache', () => {
  it('stays within maxBytes, evicting the least recently used entries', () => {
    const cache = createMemoryCache({ maxBytes: 10_000, maxEntryBytes: 5_000 });
    for (let index = 0; index < 10; index += 1) cache.set('ns', `key-${index}`, bytes(2_000), 60_000);
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.get('ns', 'key-0')).toBeUndefined();
    expect(cache.get('ns', 'key-9')?.byteLength).toBe(2_000);
  });

  it('keeps a recently read entry over an older unread one', () => {
    const cache = createMemoryCache({ maxBytes: 8_000, maxEntryBytes: 5_000 });
    cache.set('ns', 'a', bytes(2_000), 60_000);
    cache.set('ns', 'b', bytes(2_000), 60_000);
    cache.get('ns', 'a');
    cache.set('ns', 'c', bytes(2_000), 60_000);
    cache.set('ns', 'd', bytes(2_000), 60_000);
    expect(cache.get('ns', 'a')).toBeDefined();
    expect(cache.get('ns', 'b')).toBeUndefined();
  });

  it('does not store an entry above maxEntryBytes', () => {
    const cache = createMemoryCache({ maxBytes: 10_000, maxEntryBytes: 1_000 });
    cache.set('ns', 'big', bytes(1_500), 60_000);
    expect(cache.get('ns', 'big')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('measures TTLs on the injected clock', async () => {
    const clock = createVirtualClock();
    const cache = createMemoryCache({ clock });
    cache.set('ns', 'k', bytes(10), 1_000);
    await clock.advance(999);
    expect(cache.get('ns', 'k')).toBeDefined();
    await clock.advance(2);
    expect(cache.get('ns', 'k')).toBeUndefined();
  });

  it('rejects a bad bound with a typed error naming the option', () => {
    expect(() => createMemoryCache({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => createMemoryCache({ maxEntryBytes: -1 })).toThrow(/maxEntryBytes/);
  });

  it('is a cache plugin named memory whose schema names bad fields', async () => {
    expect(plugin.kind).toBe('cache');
    expect(plugin.name).toBe('memory');
    const result = await plugin.configSchema['~standard'].validate({ maxBytes: 'lots' });
    expect(result.issues?.[0]?.path).toEqual(['maxBytes']);
    const unknown = await plugin.configSchema['~standard'].validate({ maxbytes: 5 });
    expect(unknown.issues).toBeDefined();
  });
});
