import {
  AbortedError,
  BulwarkError,
  type BulwarkErrorCode,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type Clock,
  ConfigError,
  ContextLengthError,
  type EmbeddingRequest,
  type EmbeddingResponse,
  NotFoundError,
  type ProviderCapabilities,
  type ProviderV1,
  type StreamEvent,
  systemClock,
  toBulwarkError,
} from '@bulwark/core';
import { answerFor, estimateTokens, hashText, type MockAnswer, responseOf } from './mock-answer.js';
import { createMockError, type MockErrorCode, mockErrorCodes } from './mock-errors.js';
import { createSeededRandom, type MockLatency, sampleLatency } from './seeded-random.js';

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

/** What the mock recorded about one call. */
export interface MockCallRecord {
  /** 0-based position among all calls this provider received. */
  index: number;
  operation: 'complete' | 'stream' | 'embed';
  model: string;
  /** The request as received (not copied). */
  request: ChatRequest | EmbeddingRequest;
  /** Clock time the call arrived. */
  startedAt: number;
  /** Clock time it settled (undefined while running). */
  endedAt?: number;
  outcome: 'pending' | 'success' | 'error' | 'aborted';
  /** Error code when it failed. */
  error?: BulwarkErrorCode;
  /** Where its behaviour came from. */
  source: 'script' | 'window' | 'failure-rate' | 'default';
  /** Name of the window that applied, if any. */
  window?: string;
  /** Content chunks delivered (streams). */
  chunks: number;
  /** Call id from the context. */
  callId: string;
}

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

interface Plan {
  behavior: MockBehavior;
  source: MockCallRecord['source'];
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

/**
 * What an aborted call throws: the abort reason when a Bulwark layer aborted with an error of its own
 * (an attempt timeout, the total deadline), as real provider plugins do; else `AbortedError`.
 */
function failureOf(thrown: unknown, signal: AbortSignal): unknown {
  if (!signal.aborted) return thrown;
  return BulwarkError.isInstance(signal.reason) ? signal.reason : thrown;
}

/** Waits until `signal` aborts, without any timer. */
function waitForAbort(signal: AbortSignal): Promise<never> {
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
  const recordCalls = options.recordCalls ?? true;
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
  const calls: MockCallRecord[] = [];
  let callCount = 0;
  let inFlight = 0;
  let scriptPosition = 0;

  const plan = (): Plan => {
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
  };

  const begin = (
    operation: MockCallRecord['operation'],
    request: ChatRequest | EmbeddingRequest,
    context: CallContext,
  ) => {
    const { behavior, source, window } = plan();
    const record: MockCallRecord = {
      index: callCount,
      operation,
      model: request.model,
      request,
      startedAt: clock.now(),
      outcome: 'pending',
      source,
      chunks: 0,
      callId: context.callId,
    };
    if (window !== undefined) record.window = window;
    callCount += 1;
    inFlight += 1;
    if (recordCalls) calls.push(record);
    return { behavior, record };
  };

  const settle = (record: MockCallRecord, error?: unknown, signal?: AbortSignal): void => {
    inFlight -= 1;
    record.endedAt = clock.now();
    if (error === undefined) {
      record.outcome = 'success';
      return;
    }
    const code = toBulwarkError(error).code;
    record.outcome = code === 'aborted' || signal?.aborted ? 'aborted' : 'error';
    record.error = code;
  };

  const wait = async (latency: MockLatency | undefined, signal: AbortSignal): Promise<void> => {
    const ms = sampleLatency(latency, random);
    if (ms > 0) await clock.sleep(ms, signal);
    else if (signal.aborted) throw new AbortedError({ cause: signal.reason });
  };

  const fail = (behavior: MockBehavior, model: string, code: MockErrorCode) =>
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
    });

  const checkRequest = (request: ChatRequest | EmbeddingRequest): void => {
    if (options.models && !options.models.includes(request.model)) {
      throw new NotFoundError({
        status: 404,
        provider: name,
        model: request.model,
        message: `${name} answered 404: the model "${request.model}" does not exist (serves ${options.models.join(', ')})`,
      });
    }
  };

  const answer = (request: ChatRequest, behavior: MockBehavior): MockAnswer => {
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
  };

  const idOf = (request: ChatRequest, index: number) =>
    `mock-${hashText(JSON.stringify(request.messages)).toString(36)}-${index}`;

  async function runComplete(request: ChatRequest, context: CallContext): Promise<ChatResponse> {
    const { behavior, record } = begin('complete', request, context);
    try {
      checkRequest(request);
      await wait(behavior.latencyMs ?? options.latencyMs, context.signal);
      if (behavior.hang || behavior.streamStallAfter !== undefined) await waitForAbort(context.signal);
      if (behavior.streamCutAfter !== undefined) throw fail(behavior, request.model, 'connection_error');
      if (behavior.error !== undefined || behavior.streamErrorAfter !== undefined) {
        throw fail(behavior, request.model, behavior.error ?? 'overloaded');
      }
      const response = responseOf(
        answer(request, behavior),
        idOf(request, record.index),
        name,
        request.model,
      );
      settle(record);
      return response;
    } catch (thrown) {
      const error = failureOf(thrown, context.signal);
      settle(record, error, context.signal);
      throw error;
    }
  }

  async function* runStream(request: ChatRequest, context: CallContext): AsyncGenerator<StreamEvent> {
    const { behavior, record } = begin('stream', request, context);
    const signal = context.signal;
    let settled = false;
    try {
      checkRequest(request);
      await wait(behavior.latencyMs ?? options.latencyMs, signal);
      if (behavior.hang) await waitForAbort(signal);
      const inStreamError = behavior.streamErrorAfter !== undefined;
      if (behavior.error !== undefined && !inStreamError) throw fail(behavior, request.model, behavior.error);
      const result = answer(request, behavior);
      yield { type: 'start', id: idOf(request, record.index), provider: name, model: request.model };
      const chunkDelay = behavior.chunkDelayMs ?? options.chunkDelayMs;
      const interrupt = async (): Promise<void> => {
        const delivered = record.chunks;
        if (behavior.streamStallAfter === delivered) await waitForAbort(signal);
        if (behavior.streamCutAfter === delivered) {
          throw fail(
            { ...behavior, message: behavior.message ?? `${name}: the stream was cut (socket closed)` },
            request.model,
            'connection_error',
          );
        }
        if (behavior.streamErrorAfter === delivered) {
          throw fail(behavior, request.model, behavior.error ?? 'overloaded');
        }
      };
      await interrupt();
      for (let at = 0; at < result.text.length; at += chunkSize) {
        if (record.chunks > 0) await wait(chunkDelay, signal);
        record.chunks += 1;
        yield { type: 'text-delta', text: result.text.slice(at, at + chunkSize) };
        await interrupt();
      }
      for (let index = 0; index < result.toolCalls.length; index += 1) {
        const call = result.toolCalls[index]!;
        const pieces = Math.max(1, Math.ceil(call.arguments.length / chunkSize));
        for (let piece = 0; piece < pieces; piece += 1) {
          if (record.chunks > 0) await wait(chunkDelay, signal);
          record.chunks += 1;
          const argumentsDelta = call.arguments.slice(piece * chunkSize, (piece + 1) * chunkSize);
          yield piece === 0
            ? { type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta }
            : { type: 'tool-call-delta', index, argumentsDelta };
          await interrupt();
        }
      }
      // A fault configured beyond the answer's length still fires, just before the end.
      const lastChunk = Math.max(
        behavior.streamCutAfter ?? -1,
        behavior.streamStallAfter ?? -1,
        behavior.streamErrorAfter ?? -1,
      );
      if (lastChunk > record.chunks) {
        if (behavior.streamStallAfter !== undefined) await waitForAbort(signal);
        if (behavior.streamCutAfter !== undefined) throw fail(behavior, request.model, 'connection_error');
        throw fail(behavior, request.model, behavior.error ?? 'overloaded');
      }
      yield { type: 'usage', usage: result.usage };
      yield { type: 'finish', finishReason: result.finishReason };
      settled = true;
      settle(record);
    } catch (thrown) {
      const error = failureOf(thrown, signal);
      settled = true;
      settle(record, error, signal);
      throw error;
    } finally {
      // The consumer stopped early (break / return): the "connection" is closed by not continuing.
      if (!settled) settle(record, new AbortedError({ message: 'The consumer stopped reading the stream' }));
    }
  }

  async function runEmbed(request: EmbeddingRequest, context: CallContext): Promise<EmbeddingResponse> {
    const { behavior, record } = begin('embed', request, context);
    try {
      checkRequest(request);
      await wait(behavior.latencyMs ?? options.latencyMs, context.signal);
      if (behavior.hang || behavior.streamStallAfter !== undefined) await waitForAbort(context.signal);
      if (behavior.streamCutAfter !== undefined) throw fail(behavior, request.model, 'connection_error');
      if (behavior.error !== undefined) throw fail(behavior, request.model, behavior.error);
      const size = request.dimensions ?? dimensions;
      const embeddings = request.input.map((text) => {
        const next = createSeededRandom(hashText(text));
        const vector = Array.from({ length: size }, () => next() * 2 - 1);
        const norm = Math.hypot(...vector) || 1;
        return vector.map((value) => value / norm);
      });
      const inputTokens = request.input.reduce((sum, text) => sum + estimateTokens(text), 0);
      settle(record);
      return { model: request.model, embeddings, usage: { inputTokens } };
    } catch (thrown) {
      const error = failureOf(thrown, context.signal);
      settle(record, error, context.signal);
      throw error;
    }
  }

  const capabilities: ProviderCapabilities = { ...defaultCapabilities };
  if (options.maxContextTokens !== undefined) capabilities.maxContextTokens = options.maxContextTokens;

  const provider: MockProvider = {
    specificationVersion: 'v1',
    name,
    system: 'mock',
    capabilities,
    ...(options.models ? { models: options.models } : {}),
    complete: runComplete,
    stream: runStream,
    embed: runEmbed,
    get calls() {
      return calls;
    },
    get callCount() {
      return callCount;
    },
    get inFlight() {
      return inFlight;
    },
    enqueue(...steps) {
      const offset = script.length;
      script.push(...steps.map((step, index) => toBehavior(step, `script[${offset + index}]`)));
    },
    reset() {
      calls.length = 0;
      callCount = 0;
      script.length = 0;
      scriptPosition = 0;
    },
    close() {},
  };
  return provider;
}
