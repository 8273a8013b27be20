/** Recent latencies of one target, for an adaptive hedge delay. */
export interface LatencyTracker {
  /** Adds a sample (ms). */
  record(key: string, latencyMs: number): void;
  /** The `percentile` of the recent samples of `key`, or undefined below `minSamples`. */
  percentile(key: string): number | undefined;
}

export interface LatencyTrackerOptions {
  /** Which percentile, in (0, 1]. */
  percentile: number;
  /** Samples kept per key (a ring). */
  sampleSize: number;
  /** Samples needed before a value is given. */
  minSamples: number;
}

interface Ring {
  samples: Float64Array;
  count: number;
  next: number;
  /** The percentile computed since the last sample, if any. */
  cached: number | undefined;
}

/** A ring of recent samples per key; the percentile is computed on demand and cached until the next sample. */
export function createLatencyTracker(options: LatencyTrackerOptions): LatencyTracker {
  const rings = new Map<string, Ring>();
  return {
    record(key, latencyMs) {
      let ring = rings.get(key);
      if (!ring) {
        ring = { samples: new Float64Array(options.sampleSize), count: 0, next: 0, cached: undefined };
        rings.set(key, ring);
      }
      ring.samples[ring.next] = latencyMs;
      ring.next = (ring.next + 1) % options.sampleSize;
      ring.count = Math.min(options.sampleSize, ring.count + 1);
      ring.cached = undefined;
    },
    percentile(key) {
      const ring = rings.get(key);
      if (!ring || ring.count < options.minSamples) return undefined;
      if (ring.cached === undefined) {
        const sorted = ring.samples.slice(0, ring.count).sort();
        const rank = Math.min(ring.count - 1, Math.max(0, Math.ceil(options.percentile * ring.count) - 1));
        ring.cached = sorted[rank]!;
      }
      return ring.cached;
    },
  };
}
