/** A load job sent to the load-generator child process over IPC. */
export interface LoadJob {
  /** `open`: a fixed request rate regardless of answers; `closed`: N connections, each waits for its answer. */
  kind: 'open' | 'closed';
  /** Full URL of the chat completions endpoint. */
  url: string;
  /** Request body (JSON text). */
  body: string;
  /** Whether the body asks for a stream (the generator then checks the stream ended with `[DONE]`). */
  stream: boolean;
  /** Open loop: requests per second. */
  ratePerSecond?: number;
  /** Closed loop: concurrent keep-alive connections. */
  connections?: number;
  /** Measured phase length. */
  durationMs: number;
  /** Discarded warm-up phase before it (same load). */
  warmupMs: number;
  /** Hard cap on requests of the measured phase (bounds a run even on a very fast path). */
  maxRequests: number;
  /** A request slower than this is aborted and counted as an error. */
  requestTimeoutMs: number;
  /** Response header whose values are counted (e.g. `x-bulwark-cache`). */
  countHeader?: string;
  /** Extra request headers (e.g. Portkey's routing headers). */
  headers?: Record<string, string>;
}

/** Latency percentiles in milliseconds. */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** What the load generator reports for one job (measured phase only). */
export interface LoadResult {
  kind: LoadJob['kind'];
  completed: number;
  errors: number;
  /** First few error descriptions (status codes, socket errors, bad bodies). */
  errorSamples: string[];
  elapsedMs: number;
  throughputPerSecond: number;
  /** Request sent → response fully read. */
  latency: Percentiles;
  /** Request sent → first body byte. */
  firstByte: Percentiles;
  /** Open loop: how late the generator sent requests versus the schedule (its own health). */
  maxSendLagMs: number;
  lateSends: number;
  headerCounts: Record<string, number>;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (fraction: number): number =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}
