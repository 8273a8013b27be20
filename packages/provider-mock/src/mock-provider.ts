import {
  type CallContext,
  type ChatRequest,
  type Clock,
  ConfigError,
  type ProviderCapabilities,
  type ProviderV1,
  systemClock,
} from '@bulwark/core';
import type { MockAnswer } from './mock-answer.js';
import { createBehaviorPlanner, type MockBehavior, type MockStep, type MockWindow } from './mock-behavior.js';
import { createCallLog, type MockCallRecord } from './mock-call-log.js';
import { completeMock } from './mock-complete.js';
import { embedMock } from './mock-embed.js';
import type { MockErrorCode } from './mock-errors.js';
import { createMockRuntime } from './mock-runtime.js';
import { streamMock } from './mock-stream.js';
import { createSeededRandom, type MockLatency } from './seeded-random.js';

export interface MockProviderOptions {
  /** Instance name targets refer to. Default `mock`. */
  name?: string;
  /** Clock for latencies, windows and records. Default: the system clock. */
  clock?: Clock;
  /** Models served; others get a 404 `NotFoundError`. Default: any model. */
  models?: readonly string[];
  /** Latency of every call unless a step or window says otherwise. Default 0. */
  latencyMs?: MockLatency;
  /** Delay between stream chunks. Default 0. */
  chunkDelayMs?: MockLatency;
  /** Characters per streamed text chunk. Default 16. */
  chunkSize?: number;
  /** Per-call script, consumed one step per call in order; afterwards the other rules apply. */
  script?: readonly MockStep[];
  /** Time-windowed behaviour (outages, brownouts, flapping). The first window containing the call's start wins. */
  windows?: readonly MockWindow[];
  /** Share of calls (outside the script and windows) that fail with `failureError`. Default 0. */
  failureRate?: number;
  /** Error of the random failures. Default `server_error`. */
  failureError?: MockErrorCode | MockBehavior;
  /** Seed of the random source (failures, latency distributions). Default 1. */
  seed?: number;
  /** Random source in [0, 1) instead of the seeded one. */
  random?: () => number;
  /** Context window in tokens (chars/4); longer prompts fail with `ContextLengthError`. */
  maxContextTokens?: number;
  /** Embedding dimensions. Default 8. */
  embeddingDimensions?: number;
  /** Keep `calls` records (default true). Turn off for very long simulations to save memory. */
  recordCalls?: boolean;
  /** Overrides the derived answer (text or tool calls). */
  respond?: (request: ChatRequest) => Partial<MockAnswer> | undefined;
}

/** The mock provider: a `ProviderV1` plus its records and a way to queue more script steps. */
export interface MockProvider extends ProviderV1 {
  /** Every call received, in order (see `recordCalls`). */
  readonly calls: readonly MockCallRecord[];
  /** Number of calls received (also counted when `recordCalls` is off). */
  readonly callCount: number;
  /** Calls currently running. */
  readonly inFlight: number;
  /** Appends steps to the script. */
  enqueue(...steps: MockStep[]): void;
  /** Forgets records and the remaining script. */
  reset(): void;
}

const defaultCapabilities: ProviderCapabilities = {
  streaming: true,
  tools: true,
  vision: true,
  jsonMode: true,
  embeddings: true,
};

/**
 * An in-process provider for demos, tests and simulations. Answers are derived from the request
 * (see `answerFor`); faults are scripted per call, per time window or by seeded probability, and all
 * waiting happens on the injected clock, so with `createVirtualClock().run(...)` thousands of calls
 * simulate in milliseconds. Every wait honours `context.signal` and leaves no timer behind.
 *
 * ```ts
 * const mock = createMockProvider({ clock, script: [{ error: 'rate_limited', retryAfterMs: 2000 }, 'ok'] });
 * ```
 */
export function createMockProvider(options: MockProviderOptions = {}): MockProvider {
  const name = options.name ?? 'mock';
  const clock = options.clock ?? systemClock;
  const random = options.random ?? createSeededRandom(options.seed ?? 1);
  const chunkSize = options.chunkSize ?? 16;
  const failureRate = options.failureRate ?? 0;
  const dimensions = options.embeddingDimensions ?? 8;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new ConfigError({
      path: 'chunkSize',
      message: `chunkSize must be a positive integer (received ${chunkSize})`,
    });
  }
  if (!(failureRate >= 0 && failureRate <= 1)) {
    throw new ConfigError({
      path: 'failureRate',
      message: `failureRate must be between 0 and 1 (received ${failureRate})`,
    });
  }
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    throw new ConfigError({
      path: 'embeddingDimensions',
      message: `embeddingDimensions must be a positive integer (received ${dimensions})`,
    });
  }
  const planner = createBehaviorPlanner({
    clock,
    random,
    script: options.script,
    windows: options.windows,
    failureRate,
    failureError: options.failureError,
  });
  const log = createCallLog({ clock, recordCalls: options.recordCalls ?? true });
  const runtime = createMockRuntime({
    name,
    clock,
    random,
    chunkSize,
    dimensions,
    planner,
    log,
    models: options.models,
    latencyMs: options.latencyMs,
    chunkDelayMs: options.chunkDelayMs,
    maxContextTokens: options.maxContextTokens,
    respond: options.respond,
  });

  const capabilities: ProviderCapabilities = { ...defaultCapabilities };
  if (options.maxContextTokens !== undefined) capabilities.maxContextTokens = options.maxContextTokens;

  return {
    specificationVersion: 'v1',
    name,
    system: 'mock',
    capabilities,
    ...(options.models ? { models: options.models } : {}),
    // The mock reads the call's context (the host passes it whole; see ProviderCallOptionsV1).
    complete: (request, context: CallContext) => completeMock(runtime, request, context),
    stream: (request, context: CallContext) => streamMock(runtime, request, context),
    embed: (request, context: CallContext) => embedMock(runtime, request, context),
    get calls() {
      return log.calls;
    },
    get callCount() {
      return log.callCount;
    },
    get inFlight() {
      return log.inFlight;
    },
    enqueue(...steps) {
      planner.enqueue(steps);
    },
    reset() {
      log.reset();
      planner.reset();
    },
    close() {},
  };
}
