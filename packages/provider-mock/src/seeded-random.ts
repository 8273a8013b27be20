/**
 * A seeded pseudo-random source in [0, 1): mulberry32. Small, fast and good enough for fault
 * injection and jitter in simulations; the same seed always gives the same sequence.
 */
export function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * How long something takes: a fixed number of milliseconds or a distribution sampled per call.
 * - `uniform`: evenly between `minMs` and `maxMs`.
 * - `exponential`: memoryless with mean `meanMs` (arrival gaps, queueing).
 * - `lognormal`: the shape LLM latencies have: `medianMs` in the middle and a long tail reaching `p99Ms`.
 */
export type MockLatency =
  | number
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'exponential'; meanMs: number }
  | { kind: 'lognormal'; medianMs: number; p99Ms: number };

/** z-score of the 99th percentile of the standard normal distribution. */
const z99 = 2.326_347_874;

/** Draws one latency in ms (never negative, never NaN) from `latency` using `random`. */
export function sampleLatency(latency: MockLatency | undefined, random: () => number): number {
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return Math.max(0, latency);
  switch (latency.kind) {
    case 'uniform':
      return Math.max(0, latency.minMs + random() * (latency.maxMs - latency.minMs));
    case 'exponential':
      return Math.max(0, -Math.log(1 - random()) * latency.meanMs);
    case 'lognormal': {
      const median = Math.max(1e-9, latency.medianMs);
      const sigma = Math.max(0, Math.log(Math.max(latency.p99Ms, median) / median) / z99);
      // Box–Muller; 1 - random() keeps the logarithm's argument in (0, 1].
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      return median * Math.exp(sigma * normal);
    }
  }
}
