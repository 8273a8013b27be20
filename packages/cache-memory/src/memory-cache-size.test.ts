import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMemoryCache, entryOverheadBytes } from './memory-cache.js';

/**
 * The byte bound is honest when what the backend counts is close to what the heap holds for it. The heap
 * can only be measured after forced full collections, in a process of its own (`node --expose-gc`) that
 * imports the built `dist/` (turbo builds it before the tests).
 */
const script = fileURLToPath(new URL('./test-helpers/measure-size.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface Measured {
  maxBytes: number;
  counted: number;
  entries: number;
  /** Freed by emptying the cache. */
  heldByCache: number;
  /** Grown since before the first write (also what emptying keeps: lru-cache's slot arrays). */
  grownSinceStart: number;
  averageValueBytes: number;
}

function measure(maxBytes: number, writes: number, smallest: number, largest: number): Promise<Measured> {
  if (!existsSync(built))
    throw new Error('packages/cache-memory/dist is missing: build @bulwark/cache-memory first');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', script, String(maxBytes), String(writes), String(smallest), String(largest)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as Measured);
      else reject(new Error(`measure-size exited with ${code}: ${stderr}`));
    });
  });
}

/**
 * How far the heap may be from the count, either way. Measured on Node 20 with a 4 MiB bound: the heap grew
 * by 1.03–1.05× the count, and emptying the cache freed 0.89–0.96× of it (lru-cache keeps its slot arrays).
 * Before the per-entry overhead was counted, a cache of 100–300-byte answers grew the heap by 1.85× its count.
 */
const factor = 1.25;

describe('createMemoryCache: the byte bound counts what the heap holds', () => {
  it('counts value bytes, key characters and the per-entry overhead', () => {
    const cache = createMemoryCache();
    cache.set('ns', 'key', new Uint8Array(1000), 60_000);
    expect(cache.bytes).toBe(1000 + 'ns\u0000key'.length + entryOverheadBytes);
    cache.set('ns', 'clé-日本', new Uint8Array(10), 60_000);
    // A key with a character above U+00FF is a two-byte string in V8.
    expect(cache.bytes).toBe(1000 + 6 + 10 + 'ns\u0000clé-日本'.length * 2 + 2 * entryOverheadBytes);
  });

  it.each([
    ['small answers (100–300 B)', 100, 300, 60_000],
    ['typical answers (0.2–2 KB)', 200, 2_000, 25_000],
    ['long answers (4–12 KB)', 4_000, 12_000, 4_000],
  ])(
    'after filling far past the bound with %s the heap holds the counted bytes within ×1.25',
    async (_case, smallest, largest, writes) => {
      const maxBytes = 4 * 1024 * 1024;
      const result = await measure(maxBytes, writes, smallest, largest);
      // Far past the bound: at least three times what fits was written.
      expect(writes * (result.averageValueBytes + 64 + entryOverheadBytes)).toBeGreaterThan(3 * maxBytes);
      expect(result.counted).toBeLessThanOrEqual(maxBytes);
      expect(result.counted).toBeGreaterThan(0.95 * maxBytes);
      expect(result.heldByCache).toBeLessThanOrEqual(result.counted * factor);
      expect(result.grownSinceStart).toBeLessThanOrEqual(result.counted * factor);
      expect(result.grownSinceStart).toBeGreaterThanOrEqual(result.counted / factor);
    },
  );
});
