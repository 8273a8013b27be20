/** A small deterministic random source for the differential store suites (same seed, same sequence). */
export interface SeededRandom {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [0, below). */
  int(below: number): number;
}

/** A linear congruential generator: weak, but reproducible, which is all a differential test needs. */
export function createSeededRandom(seed: number): SeededRandom {
  let state = Math.abs(Math.floor(seed)) % 2_147_483_648 || 1;
  const next = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  return { next, int: (below) => Math.floor(next() * below) };
}
