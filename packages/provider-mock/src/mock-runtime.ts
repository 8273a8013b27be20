import {
  AbortedError,
  BulwarkError,
  type CallContext,
  type ChatRequest,
  type Clock,
  ContextLengthError,
  type EmbeddingRequest,
  NotFoundError,
} from '@bulwark/core';
import { answerFor, estimateTokens, hashText, type MockAnswer } from './mock-answer.js';
import type { MockBehavior, MockBehaviorPlanner } from './mock-behavior.js';
import type { MockCallLog, MockCallRecord } from './mock-call-log.js';
import { createMockError, type MockErrorCode } from './mock-errors.js';
import { type MockLatency, sampleLatency } from './seeded-random.js';

/** What the three operations of one mock share: its settings, its planner and log, and the fault helpers. */
export interface MockRuntime {
  readonly name: string;
  readonly clock: Clock;
  /** Characters per streamed chunk. */
  readonly chunkSize: number;
  /** Default embedding dimensions. */
  readonly dimensions: number;
  /** Default latency of a call. */
  readonly latencyMs: MockLatency | undefined;
  /** Default delay between stream chunks. */
  readonly chunkDelayMs: MockLatency | undefined;
  /** Plans the call's behaviour and opens its record. */
  begin(
    operation: MockCallRecord['operation'],
    request: ChatRequest | EmbeddingRequest,
    context: CallContext,
  ): { behavior: MockBehavior; record: MockCallRecord };
  settle(record: MockCallRecord, error?: unknown, signal?: AbortSignal): void;
  /** Waits a sampled latency on the clock; throws `AbortedError` if `signal` aborted. */
  wait(latency: MockLatency | undefined, signal: AbortSignal): Promise<void>;
  /** The provider-like error for `code`, with the behaviour's status, headers and message. */
  fail(behavior: MockBehavior, model: string, code: MockErrorCode): BulwarkError;
  /** Throws the 404 of a model this mock does not serve. */
  checkRequest(request: ChatRequest | EmbeddingRequest): void;
  /** The answer to `request`: derived, or the behaviour's text, or `respond`'s override. */
  answer(request: ChatRequest, behavior: MockBehavior): MockAnswer;
  /** A response id stable for the same messages and call index. */
  idOf(request: ChatRequest, index: number): string;
  /**
   * Runs a one-shot call (`complete`, `embed`): plans it, waits its latency (a stall hangs, a cut fails
   * with `ConnectionError`), then returns what `respond` makes of the behaviour, and settles the record.
   */
  runOnce<R extends ChatRequest | EmbeddingRequest, T>(
    operation: 'complete' | 'embed',
    request: R,
    context: CallContext,
    respond: (behavior: MockBehavior, record: MockCallRecord) => T,
  ): Promise<T>;
}

export interface MockRuntimeOptions {
  name: string;
  clock: Clock;
  random: () => number;
  chunkSize: number;
  dimensions: number;
  planner: MockBehaviorPlanner;
  log: MockCallLog;
  models?: readonly string[] | undefined;
  latencyMs?: MockLatency | undefined;
  chunkDelayMs?: MockLatency | undefined;
  maxContextTokens?: number | undefined;
  respond?: ((request: ChatRequest) => Partial<MockAnswer> | undefined) | undefined;
}

/**
 * What an aborted call throws: the abort reason when a Bulwark layer aborted with an error of its own
 * (an attempt timeout, the total deadline), as real provider plugins do; else `AbortedError`.
 */
export function failureOf(thrown: unknown, signal: AbortSignal): unknown {
  if (!signal.aborted) return thrown;
  return BulwarkError.isInstance(signal.reason) ? signal.reason : thrown;
}

/** Waits until `signal` aborts, without any timer. */
export function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) {
      reject(new AbortedError({ cause: signal.reason }));
      return;
    }
    signal.addEventListener('abort', () => reject(new AbortedError({ cause: signal.reason })), {
      once: true,
    });
  });
}

export function createMockRuntime(options: MockRuntimeOptions): MockRuntime {
  const { name, clock, random, planner, log } = options;
  const runtime: MockRuntime = {
    name,
    clock,
    chunkSize: options.chunkSize,
    dimensions: options.dimensions,
    latencyMs: options.latencyMs,
    chunkDelayMs: options.chunkDelayMs,
    begin(operation, request, context) {
      const plan = planner.next();
      return { behavior: plan.behavior, record: log.begin(operation, request, context.callId, plan) };
    },
    settle: (record, error, signal) => log.settle(record, error, signal),
    async wait(latency, signal) {
      const ms = sampleLatency(latency, random);
      if (ms > 0) await clock.sleep(ms, signal);
      else if (signal.aborted) throw new AbortedError({ cause: signal.reason });
    },
    fail: (behavior, model, code) =>
      createMockError({
        code,
        model,
        provider: name,
        now: clock.now(),
        ...(behavior.status === undefined ? {} : { status: behavior.status }),
        ...(behavior.retryAfterMs === undefined ? {} : { retryAfterMs: behavior.retryAfterMs }),
        ...(behavior.retryAfter === undefined ? {} : { retryAfter: behavior.retryAfter }),
        ...(behavior.headers === undefined ? {} : { headers: behavior.headers }),
        ...(behavior.message === undefined ? {} : { message: behavior.message }),
      }),
    checkRequest(request) {
      if (options.models && !options.models.includes(request.model)) {
        throw new NotFoundError({
          status: 404,
          provider: name,
          model: request.model,
          message: `${name} answered 404: the model "${request.model}" does not exist (serves ${options.models.join(', ')})`,
        });
      }
    },
    answer(request, behavior) {
      const derived = answerFor(request, behavior.text);
      if (options.maxContextTokens !== undefined && derived.usage.inputTokens > options.maxContextTokens) {
        throw new ContextLengthError({
          status: 400,
          provider: name,
          model: request.model,
          message: `${name} answered 400: the prompt has ${derived.usage.inputTokens} tokens, more than the model's ${options.maxContextTokens}`,
        });
      }
      const custom = behavior.text === undefined ? options.respond?.(request) : undefined;
      if (!custom) return derived;
      const merged = { ...derived, ...custom };
      if (custom.text !== undefined && custom.usage === undefined) {
        const outputTokens = estimateTokens(merged.text);
        merged.usage = {
          ...derived.usage,
          outputTokens,
          totalTokens: derived.usage.inputTokens + outputTokens,
        };
      }
      return merged;
    },
    idOf: (request, index) => `mock-${hashText(JSON.stringify(request.messages)).toString(36)}-${index}`,
    async runOnce(operation, request, context, respond) {
      const { behavior, record } = runtime.begin(operation, request, context);
      try {
        runtime.checkRequest(request);
        await runtime.wait(behavior.latencyMs ?? runtime.latencyMs, context.signal);
        if (behavior.hang || behavior.streamStallAfter !== undefined) await waitForAbort(context.signal);
        if (behavior.streamCutAfter !== undefined) {
          throw runtime.fail(behavior, request.model, 'connection_error');
        }
        const result = respond(behavior, record);
        runtime.settle(record);
        return result;
      } catch (thrown) {
        const error = failureOf(thrown, context.signal);
        runtime.settle(record, error, context.signal);
        throw error;
      }
    },
  };
  return runtime;
}
