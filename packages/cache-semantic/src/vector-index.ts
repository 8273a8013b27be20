import { type Clock, ConfigError, type MaybePromise, systemClock } from '@bulwark/core';

/** One stored answer with the vector of the message it answered. */
export interface VectorEntry {
  /** Unit-length vector of the compared message. */
  vector: Float32Array;
  /** The compared message itself (for guards and debugging). */
  text: string;
  /** The serialized cache entry. */
  value: Uint8Array;
  ttlMs: number;
}

/** The closest entry found. */
export interface VectorMatch {
  /** Cosine similarity in [-1, 1]. */
  score: number;
  text: string;
  value: Uint8Array;
}

/**
 * A vector index (version 1 of the contract). Entries live in partitions: only requests equal in
 * everything but the compared message share one, so a search never crosses models, parameters,
 * earlier messages or tenants. Vectors are unit length, so cosine similarity is the dot product.
 */
export interface VectorIndexV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** The most similar live entry of `partition` with a score of at least `minScore`, if any. */
  search(partition: string, vector: Float32Array, minScore: number): MaybePromise<VectorMatch | undefined>;
  add(partition: string, entry: VectorEntry): MaybePromise<void>;
  /** Removes every partition whose name starts with `prefix` (a namespace). */
  clear(prefix: string): MaybePromise<void>;
}

export interface MemoryVectorIndexOptions {
  /** Entries kept per partition; the oldest go first. Default 256. */
  maxEntriesPerPartition?: number;
  /** Partitions kept; the least recently written go first. Default 10 000. */
  maxPartitions?: number;
  /** Clock for TTLs. Default: the system clock. */
  clock?: Pick<Clock, 'now'>;
}

interface StoredEntry {
  vector: Float32Array;
  text: string;
  value: Uint8Array;
  expiresAt: number;
}

function positiveInteger(value: number | undefined, path: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new ConfigError({ path, message: `${path} must be a positive integer (got ${String(value)})` });
  }
}

/**
 * The embedded index: exact nearest-neighbour search by a linear scan of one partition (partitions are
 * small, since everything but one message must match), bounded in partitions and entries, with TTLs.
 */
export function createMemoryVectorIndex(
  options: MemoryVectorIndexOptions = {},
): VectorIndexV1 & { readonly size: number } {
  positiveInteger(options.maxEntriesPerPartition, 'maxEntriesPerPartition');
  positiveInteger(options.maxPartitions, 'maxPartitions');
  const perPartition = options.maxEntriesPerPartition ?? 256;
  const maxPartitions = options.maxPartitions ?? 10_000;
  const clock = options.clock ?? systemClock;
  const partitions = new Map<string, StoredEntry[]>();
  let size = 0;

  return {
    specificationVersion: 'v1',
    name: 'memory',
    get size() {
      return size;
    },
    search(partition, vector, minScore) {
      const entries = partitions.get(partition);
      if (!entries) return undefined;
      const now = clock.now();
      let best: StoredEntry | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let index = entries.length - 1; index >= 0; index -= 1) {
        const entry = entries[index]!;
        if (entry.expiresAt <= now) {
          entries.splice(index, 1);
          size -= 1;
          continue;
        }
        if (entry.vector.length !== vector.length) continue;
        let score = 0;
        for (let dimension = 0; dimension < vector.length; dimension += 1) {
          score += entry.vector[dimension]! * vector[dimension]!;
        }
        if (score > bestScore) {
          bestScore = score;
          best = entry;
        }
      }
      if (entries.length === 0) partitions.delete(partition);
      if (!best || bestScore < minScore) return undefined;
      return { score: bestScore, text: best.text, value: best.value };
    },
    add(partition, entry) {
      let entries = partitions.get(partition);
      if (entries) partitions.delete(partition);
      else entries = [];
      partitions.set(partition, entries);
      entries.push({
        vector: entry.vector,
        text: entry.text,
        value: entry.value.slice(),
        expiresAt: clock.now() + entry.ttlMs,
      });
      size += 1;
      if (entries.length > perPartition) {
        entries.shift();
        size -= 1;
      }
      while (partitions.size > maxPartitions) {
        const [oldest, removed] = partitions.entries().next().value!;
        partitions.delete(oldest);
        size -= removed.length;
      }
    },
    clear(prefix) {
      for (const [partition, entries] of [...partitions]) {
        if (partition.startsWith(prefix)) {
          partitions.delete(partition);
          size -= entries.length;
        }
      }
    },
  };
}

/** Scales a vector to unit length (a zero vector stays zero and matches nothing). */
export function normalize(vector: ArrayLike<number>): Float32Array {
  const unit = new Float32Array(vector.length);
  let sum = 0;
  for (let index = 0; index < vector.length; index += 1) sum += vector[index]! * vector[index]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) return unit;
  for (let index = 0; index < vector.length; index += 1) unit[index] = vector[index]! / norm;
  return unit;
}
