import { type Clock, ConfigError } from '@bulwark/core';
import { type MockErrorCode, mockErrorCodes } from './mock-errors.js';
import type { MockLatency } from './seeded-random.js';

/**
 * How one call behaves. Every field is optional; an empty object is a plain, instant success.
 * Latencies run on the provider's clock, so on a virtual clock they cost no real time.
 */
export interface MockBehavior {
  /** Time before the response (or, streaming, before the first event). Default: the provider's `latencyMs`. */
  latencyMs?: MockLatency;
  /**
   * Fail with this error after the latency. With `streamErrorAfter` set, the error is sent inside the
   * stream instead (as Anthropic sends `overloaded_error`), and a non-streaming call fails with it.
   */
  error?: MockErrorCode;
  /** Status to report instead of the code's usual one (e.g. 503 for `server_error`). */
  status?: number;
  /** Sent as the `retry-after-ms` header of the error. */
  retryAfterMs?: number;
  /** Sent as the `retry-after` header verbatim: seconds (`"2"`) or an HTTP date. */
  retryAfter?: string;
  /** More headers of the error answer, e.g. `{ 'x-should-retry': 'false' }` (which overrides retryability). */
  headers?: Record<string, string>;
  /** Error message instead of the provider-like default. */
  message?: string;
  /** Never answer: the call waits until `context.signal` aborts. */
  hang?: boolean;
  /** Streams: the connection drops (`ConnectionError`) after this many content chunks. Non-streaming: fails the same way. */
  streamCutAfter?: number;
  /** Streams: no more events after this many content chunks, until aborted. Non-streaming: hangs. */
  streamStallAfter?: number;
  /** Streams: an in-stream error event (`error`, default `overloaded`) after this many content chunks. */
  streamErrorAfter?: number;
  /** Time between stream chunks. Default: the provider's `chunkDelayMs`. */
  chunkDelayMs?: MockLatency;
  /** Answer with this text instead of the derived answer (no tool calls). */
  text?: string;
}

/** One step of a per-call script: `'ok'`, an error code, or a full behaviour. */
export type MockStep = 'ok' | MockErrorCode | MockBehavior;

/**
 * A behaviour that applies to calls starting in `[fromMs, toMs)` on the provider's clock, e.g. an
 * outage (`{ fromMs: 60_000, toMs: 120_000, error: 'server_error' }`) or a brownout (`latencyMs`).
 */
export interface MockWindow extends MockBehavior {
  /** Start (inclusive), clock time in ms. */
  fromMs: number;
  /** End (exclusive), clock time in ms. */
  toMs: number;
  /** Share of the calls in the window that get this behaviour (default 1: all of them). */
  probability?: number;
  /** Name recorded on the calls it affected (`outage`, `brownout`…). */
  name?: string;
}

/** Where a call's behaviour came from. */
export type MockBehaviorSource = 'script' | 'window' | 'failure-rate' | 'default';

/** The behaviour chosen for one call, and why. */
export interface MockPlan {
  behavior: MockBehavior;
  source: MockBehaviorSource;
  /** Name of the window that applied, if any. */
  window?: string;
}

const okBehavior: MockBehavior = {};

function toBehavior(step: MockStep, path: string): MockBehavior {
  if (step === 'ok') return okBehavior;
  if (typeof step === 'string') {
    if (!mockErrorCodes.includes(step)) {
      throw new ConfigError({
        path,
        message: `${path} is "${step}"; expected "ok", one of ${mockErrorCodes.join(', ')}, or a behaviour object`,
      });
    }
    return { error: step };
  }
  if (step.error !== undefined && !mockErrorCodes.includes(step.error)) {
    throw new ConfigError({
      path: `${path}.error`,
      message: `${path}.error is "${String(step.error)}"; expected one of ${mockErrorCodes.join(', ')}`,
    });
  }
  return step;
}

/** Decides each call's behaviour: the script first, then the time windows, then the random failure rate. */
export interface MockBehaviorPlanner {
  /** The behaviour of the next call (consumes one script step while any remain). */
  next(): MockPlan;
  /** Appends steps to the script. */
  enqueue(steps: readonly MockStep[]): void;
  /** Forgets the remaining script. */
  reset(): void;
}

export interface MockBehaviorPlannerOptions {
  clock: Clock;
  random: () => number;
  script?: readonly MockStep[] | undefined;
  windows?: readonly MockWindow[] | undefined;
  /** Share of the calls outside the script and windows that fail, in [0, 1] (checked by the caller). */
  failureRate?: number | undefined;
  failureError?: MockErrorCode | MockBehavior | undefined;
}

/** Validates the script and windows (a `ConfigError` names the bad field) and plans calls. */
export function createBehaviorPlanner(options: MockBehaviorPlannerOptions): MockBehaviorPlanner {
  const { clock, random } = options;
  const failureRate = options.failureRate ?? 0;
  const script: MockBehavior[] = (options.script ?? []).map((step, index) =>
    toBehavior(step, `script[${index}]`),
  );
  const windows = (options.windows ?? []).map((window, index) => {
    if (!(window.toMs > window.fromMs)) {
      throw new ConfigError({
        path: `windows[${index}].toMs`,
        message: `windows[${index}].toMs (${window.toMs}) must be after fromMs (${window.fromMs})`,
      });
    }
    return { ...toBehavior(window, `windows[${index}]`), ...window };
  });
  const failureBehavior = toBehavior(options.failureError ?? 'server_error', 'failureError');
  let scriptPosition = 0;

  return {
    next() {
      if (scriptPosition < script.length) return { behavior: script[scriptPosition++]!, source: 'script' };
      const now = clock.now();
      for (const window of windows) {
        if (now < window.fromMs || now >= window.toMs) continue;
        if (window.probability !== undefined && random() >= window.probability) continue;
        return {
          behavior: window,
          source: 'window',
          ...(window.name === undefined ? {} : { window: window.name }),
        };
      }
      if (failureRate > 0 && random() < failureRate)
        return { behavior: failureBehavior, source: 'failure-rate' };
      return { behavior: okBehavior, source: 'default' };
    },
    enqueue(steps) {
      const offset = script.length;
      script.push(...steps.map((step, index) => toBehavior(step, `script[${offset + index}]`)));
    },
    reset() {
      script.length = 0;
      scriptPosition = 0;
    },
  };
}
