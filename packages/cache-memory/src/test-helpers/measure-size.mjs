// Fills a memory cache far past its bound and prints what it counts against the bound next to what the
// heap really holds for it: (heapUsed + arrayBuffers) with the cache full minus the same after emptying
// it, each after full garbage collections. Run with --expose-gc; imports the built package.
// Arguments: maxBytes, number of entries to write, smallest and largest value size in bytes.
import { createHash } from 'node:crypto';
import { createMemoryCache } from '@bulwark/cache-memory';

const [maxBytes, writes, smallest, largest] = process.argv.slice(2).map(Number);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const held = () => {
  for (let round = 0; round < 4; round += 1) globalThis.gc();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
};
const encoder = new TextEncoder();
const text = 'Bulwarks were built in layers: a ditch, a rampart, a stone facing and a parapet. ';
const cache = createMemoryCache({ maxBytes });
const before = held();
let valueBytes = 0;
for (let index = 0; index < writes; index += 1) {
  const size = smallest + ((index * 7919) % (largest - smallest + 1));
  const body = `{"v":1,"t":${index},"r":{"text":"${text.repeat(Math.ceil(size / text.length))}"}}`.slice(
    0,
    size,
  );
  const value = encoder.encode(body);
  valueBytes += value.byteLength;
  cache.set('default', createHash('sha256').update(String(index)).digest('hex'), value, 3_600_000);
}
const full = held();
const counted = cache.bytes;
const entries = cache.size;
cache.dispose();
const emptied = held();
console.log(
  JSON.stringify({
    maxBytes,
    counted,
    entries,
    heldByCache: full - emptied,
    grownSinceStart: full - before,
    averageValueBytes: Math.round(valueBytes / writes),
  }),
);
