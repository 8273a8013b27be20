import {
  type BreakerState,
  BulwarkError,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type EventBus,
  type MiddlewareV1,
  redactSecrets,
  StreamAccumulator,
  type StreamEvent,
  targetId,
  toBulwarkError,
  type Usage,
} from '@bulwark/core';
import {
  type Attributes,
  type Context,
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';

/** Attribute names this package writes (GenAI semantic conventions plus Bulwark's own). */
export const attributeNames = {
  operationName: 'gen_ai.operation.name',
  system: 'gen_ai.system',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestSeed: 'gen_ai.request.seed',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  errorType: 'error.type',
  callId: 'bulwark.call_id',
  tenant: 'bulwark.tenant',
  stream: 'bulwark.stream',
  provider: 'bulwark.provider',
  target: 'bulwark.target',
  attempt: 'bulwark.attempt',
  attempts: 'bulwark.attempts',
  errorClass: 'bulwark.error.class',
  errorRetryable: 'bulwark.error.retryable',
  errorStatus: 'bulwark.error.status',
  retryDelayMs: 'bulwark.retry.delay_ms',
  fallbackTaken: 'bulwark.fallback.taken',
  fallbackFrom: 'bulwark.fallback.from',
  cacheHit: 'bulwark.cache.hit',
  cacheStatus: 'bulwark.cache.status',
  breakerState: 'bulwark.breaker.state',
  queueWaitMs: 'bulwark.limiter.queue_wait_ms',
  timeToFirstTokenMs: 'bulwark.time_to_first_token_ms',
  usageEstimated: 'bulwark.usage.estimated',
  costUsd: 'bulwark.cost_usd',
  streamCancelled: 'bulwark.stream.cancelled',
} as const;

const a = attributeNames;

export interface TracingOptions {
  /** The tracer to use. Default: `tracerProvider.getTracer('@bulwark/otel')`, or the global provider's. */
  tracer?: Tracer;
  /** Where to get the tracer when `tracer` is not given. Default: the globally registered provider. */
  tracerProvider?: TracerProvider;
  /**
   * Record prompts (`gen_ai.input.messages`) and completions (`gen_ai.output.messages`) on the call span.
   * Default false: they can hold personal data and secrets.
   */
  recordContent?: boolean;
  /**
   * The kind of API (`openai`, `anthropic`…) behind a configured provider name, for `gen_ai.provider.name`.
   * Pass `(name) => bulwark.providers.get(name)?.system`. Default: the provider's configured name.
   */
  systemOf?: (provider: string) => string | undefined;
  /**
   * The client's event bus, to listen from creation on. Default: the bus of the first traced call, so
   * breaker state changes before that call are not known.
   */
  events?: EventBus;
}

/**
 * The call-level tracing middleware (stage `observe`, put it first). On its own it makes attempt spans
 * from the `attempt:*` events; add `attempt` as the innermost target-level middleware to have them made
 * around the provider call instead, so spans of instrumented HTTP clients nest under the attempt and
 * the error class is recorded.
 */
export interface Tracing extends MiddlewareV1 {
  /** Custom, target level: one child span per attempt. Put it last, inside retry, breaker, limiter and timeout. */
  readonly attempt: MiddlewareV1;
}

interface CallTrace {
  span: Span;
  context: Context;
  fallbackTaken: boolean;
  /** Set by `retry:scheduled`, consumed by the next attempt span. */
  pendingDelayMs?: number;
  /** Set by `fallback:taken`, consumed by the next attempt span. */
  pendingFallbackFrom?: string;
  /** Set by `limiter:wait`, consumed by the next attempt span. */
  pendingQueueWaitMs?: number;
  /** The attempt span the `attempt` middleware has open. */
  middlewareAttempt?: Span;
  /** The attempt span made from `attempt:start` when the `attempt` middleware is not installed. */
  eventAttempt?: Span;
}

const traceKey = Symbol('bulwark.otel.call');

function requestAttributes(request: ChatRequest): Attributes {
  const attributes: Attributes = { [a.operationName]: 'chat', [a.requestModel]: request.model };
  if (request.maxTokens !== undefined) attributes[a.requestMaxTokens] = request.maxTokens;
  if (request.temperature !== undefined) attributes[a.requestTemperature] = request.temperature;
  if (request.topP !== undefined) attributes[a.requestTopP] = request.topP;
  if (request.stop !== undefined) attributes[a.requestStopSequences] = request.stop;
  if (request.seed !== undefined) attributes[a.requestSeed] = request.seed;
  return attributes;
}

function usageAttributes(span: Span, usage: Usage | undefined): void {
  if (!usage) return;
  span.setAttribute(a.inputTokens, usage.inputTokens);
  span.setAttribute(a.outputTokens, usage.outputTokens);
  if (usage.cachedInputTokens !== undefined)
    span.setAttribute(a.cacheReadInputTokens, usage.cachedInputTokens);
  if (usage.cacheWriteTokens !== undefined)
    span.setAttribute(a.cacheCreationInputTokens, usage.cacheWriteTokens);
  if (usage.estimated) span.setAttribute(a.usageEstimated, true);
}

function responseAttributes(span: Span, response: ChatResponse): void {
  span.setAttribute(a.responseModel, response.model);
  if (response.id) span.setAttribute(a.responseId, response.id);
  span.setAttribute(a.responseFinishReasons, [response.finishReason]);
  usageAttributes(span, response.usage);
}

function recordError(span: Span, thrown: unknown): void {
  const error = toBulwarkError(thrown);
  span.setAttribute(a.errorType, error.code);
  span.setAttribute(a.errorClass, error.name);
  span.setAttribute(a.errorRetryable, error.retryable);
  if (error.status !== undefined) span.setAttribute(a.errorStatus, error.status);
  span.setStatus({ code: SpanStatusCode.ERROR, message: redactSecrets(error.message) });
}

function attemptNumber(context: CallContext): number {
  const target = context.target;
  let count = 1;
  for (const record of context.trail) {
    if (!record.local && record.provider === target?.provider && record.model === target?.model) count += 1;
  }
  return count;
}

/** Runs `next()` of an async iterator inside an OpenTelemetry context, so spans below nest correctly. */
async function* withContext<T>(active: Context, make: () => AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = otelContext.with(active, () => make()[Symbol.asyncIterator]());
  let done = false;
  try {
    while (true) {
      const result = await otelContext.with(active, () => iterator.next());
      if (result.done) {
        done = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}

/**
 * OpenTelemetry tracing with the GenAI semantic conventions: a span per call (`call`, stage `observe`)
 * and a child span per attempt (`attempt`, a target-level custom middleware placed innermost, so each
 * retry, and each fallback target, gets its own span). Retry delays, fallbacks, breaker state and
 * limiter queue wait come from Bulwark's events and land on the attempt they preceded.
 *
 * ```ts
 * const tracing = createTracing({ systemOf: (name) => bulwark.providers.get(name)?.system });
 * const bulwark = createBulwark({ providers, models, middleware: [tracing, retry, tracing.attempt] });
 * ```
 */
export function createTracing(options: TracingOptions = {}): Tracing {
  const tracer =
    options.tracer ?? (options.tracerProvider ?? trace.getTracerProvider()).getTracer('@bulwark/otel');
  const recordContent = options.recordContent ?? false;
  const systemOf = options.systemOf ?? ((provider: string) => provider);
  const calls = new Map<string, CallTrace>();
  const breakerStates = new Map<string, BreakerState>();
  const subscribed = new WeakSet<EventBus>();

  const subscribe = (events: EventBus): void => {
    if (subscribed.has(events)) return;
    subscribed.add(events);
    events.on('retry:scheduled', (event) => {
      const call = calls.get(event.callId);
      if (!call) return;
      call.pendingDelayMs = event.delayMs;
      call.span.addEvent('bulwark.retry', {
        [a.target]: targetId(event),
        [a.attempt]: event.attempt,
        [a.retryDelayMs]: event.delayMs,
        [a.errorType]: event.error,
      });
    });
    events.on('fallback:taken', (event) => {
      const call = calls.get(event.callId);
      if (!call) return;
      call.fallbackTaken = true;
      call.pendingFallbackFrom = targetId(event.from);
      call.span.addEvent('bulwark.fallback', {
        [a.fallbackFrom]: targetId(event.from),
        [a.target]: targetId(event.to),
        [a.errorType]: event.error,
      });
    });
    events.on('limiter:wait', (event) => {
      const call = calls.get(event.callId);
      if (call) call.pendingQueueWaitMs = (call.pendingQueueWaitMs ?? 0) + event.waitedMs;
    });
    events.on('breaker:state', (event) => {
      breakerStates.set(targetId(event), event.to);
    });
    events.on('attempt:start', (event) => {
      const call = calls.get(event.callId);
      if (!call || call.middlewareAttempt) return;
      call.eventAttempt = startAttempt(call, event.provider, event.model, event.attempt, undefined);
    });
    events.on('attempt:success', (event) => {
      const call = calls.get(event.callId);
      const span = call?.eventAttempt;
      if (!span) return;
      call.eventAttempt = undefined;
      usageAttributes(span, event.usage);
      span.end();
    });
    events.on('attempt:failure', (event) => {
      const call = calls.get(event.callId);
      const span = call?.eventAttempt;
      if (!span) return;
      call.eventAttempt = undefined;
      span.setAttribute(a.errorType, event.error);
      if (event.status !== undefined) span.setAttribute(a.errorStatus, event.status);
      usageAttributes(span, event.usage);
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.error });
      span.end();
    });
  };

  const startCall = (request: ChatRequest, context: CallContext): CallTrace => {
    subscribe(context.events);
    const attributes = requestAttributes(request);
    attributes[a.callId] = context.callId;
    attributes[a.stream] = context.stream;
    if (context.metadata.tenant !== undefined) attributes[a.tenant] = context.metadata.tenant;
    if (recordContent) attributes[a.inputMessages] = redactSecrets(JSON.stringify(request.messages));
    const span = tracer.startSpan(`chat ${request.model}`, { kind: SpanKind.INTERNAL, attributes });
    const call: CallTrace = {
      span,
      context: trace.setSpan(otelContext.active(), span),
      fallbackTaken: false,
    };
    calls.set(context.callId, call);
    context.state.set(traceKey, call);
    return call;
  };

  const endCall = (
    call: CallTrace,
    context: CallContext,
    response: ChatResponse | undefined,
    error: unknown,
  ) => {
    const span = call.span;
    if (call.eventAttempt) {
      // The consumer stopped reading a stream: the attempt never reported an end.
      call.eventAttempt.setAttribute(a.streamCancelled, true);
      call.eventAttempt.end();
      call.eventAttempt = undefined;
    }
    let attempts = 0;
    for (const record of context.trail) {
      if (record.local) {
        span.addEvent('bulwark.attempt.rejected', {
          [a.target]: targetId(record),
          ...(record.error === undefined ? {} : { [a.errorType]: record.error }),
        });
      } else attempts += 1;
    }
    span.setAttribute(a.attempts, attempts);
    span.setAttribute(a.fallbackTaken, call.fallbackTaken);
    if (response) {
      responseAttributes(span, response);
      span.setAttribute(a.provider, response.provider);
      span.setAttribute(a.providerName, systemOf(response.provider) ?? response.provider);
      span.setAttribute(a.system, systemOf(response.provider) ?? response.provider);
      span.setAttribute(a.target, `${response.provider}/${response.model}`);
      span.setAttribute(a.cacheHit, response.cache === 'hit');
      if (response.cache) span.setAttribute(a.cacheStatus, response.cache);
      if (response.costUsd !== undefined) span.setAttribute(a.costUsd, response.costUsd);
      if (recordContent) {
        const message = { role: 'assistant', content: response.text, toolCalls: response.toolCalls };
        span.setAttribute(a.outputMessages, redactSecrets(JSON.stringify([message])));
      }
    }
    if (error !== undefined) recordError(span, error);
    span.end();
    calls.delete(context.callId);
  };

  if (options.events) subscribe(options.events);

  const tracing: Tracing = {
    specificationVersion: 'v1',
    name: 'otel',
    stage: 'observe',
    get attempt() {
      return attempt;
    },
    async complete(request, context, next) {
      const callTrace = startCall(request, context);
      try {
        const response = await otelContext.with(callTrace.context, () => next(request, context));
        endCall(callTrace, context, response, undefined);
        return response;
      } catch (error) {
        endCall(callTrace, context, undefined, error);
        throw error;
      }
    },
    async *stream(request, context, next) {
      const callTrace = startCall(request, context);
      const started = context.clock.now();
      const accumulator = new StreamAccumulator();
      let firstToken = false;
      let ended = false;
      try {
        for await (const event of withContext(callTrace.context, () => next(request, context))) {
          if (!firstToken && (event.type === 'text-delta' || event.type === 'tool-call-delta')) {
            firstToken = true;
            callTrace.span.setAttribute(a.timeToFirstTokenMs, context.clock.now() - started);
          }
          accumulator.add(event);
          yield event;
        }
        ended = true;
        endCall(callTrace, context, accumulator.toResponse(), undefined);
      } catch (error) {
        ended = true;
        const partial = accumulator.contentEvents > 0 ? accumulator.toResponse() : undefined;
        endCall(callTrace, context, partial, error);
        throw error;
      } finally {
        if (!ended) {
          callTrace.span.setAttribute(a.streamCancelled, true);
          endCall(
            callTrace,
            context,
            accumulator.contentEvents > 0 ? accumulator.toResponse() : undefined,
            undefined,
          );
        }
      }
    },
  };

  function startAttempt(
    call: CallTrace,
    provider: string,
    model: string,
    number: number,
    request: ChatRequest | undefined,
  ): Span {
    const system = systemOf(provider) ?? provider;
    const attributes: Attributes = request
      ? requestAttributes(request)
      : { [a.operationName]: 'chat', [a.requestModel]: model };
    attributes[a.providerName] = system;
    attributes[a.system] = system;
    attributes[a.provider] = provider;
    attributes[a.attempt] = number;
    attributes[a.target] = `${provider}/${model}`;
    const state = breakerStates.get(`${provider}/${model}`);
    if (state) attributes[a.breakerState] = state;
    if (call.pendingDelayMs !== undefined) attributes[a.retryDelayMs] = call.pendingDelayMs;
    if (call.pendingFallbackFrom !== undefined) attributes[a.fallbackFrom] = call.pendingFallbackFrom;
    if (call.pendingQueueWaitMs !== undefined) attributes[a.queueWaitMs] = call.pendingQueueWaitMs;
    call.pendingDelayMs = undefined;
    call.pendingFallbackFrom = undefined;
    call.pendingQueueWaitMs = undefined;
    return tracer.startSpan(`chat ${model}`, { kind: SpanKind.CLIENT, attributes }, call.context);
  }

  const startMiddlewareAttempt = (request: ChatRequest, context: CallContext, call: CallTrace): Span => {
    const span = startAttempt(
      call,
      context.target?.provider ?? '',
      context.target?.model ?? request.model,
      attemptNumber(context),
      request,
    );
    call.middlewareAttempt = span;
    return span;
  };

  const attempt: MiddlewareV1 = {
    specificationVersion: 'v1',
    name: 'otel-attempt',
    level: 'target',
    async complete(request, context, next) {
      const call = context.state.get(traceKey) as CallTrace | undefined;
      if (!call) return next(request, context);
      const span = startMiddlewareAttempt(request, context, call);
      try {
        const response = await otelContext.with(trace.setSpan(call.context, span), () =>
          next(request, context),
        );
        responseAttributes(span, response);
        return response;
      } catch (error) {
        recordError(span, error);
        if (BulwarkError.isInstance(error)) usageAttributes(span, error.usage);
        throw error;
      } finally {
        call.middlewareAttempt = undefined;
        span.end();
      }
    },
    async *stream(request, context, next) {
      const call = context.state.get(traceKey) as CallTrace | undefined;
      if (!call) {
        yield* next(request, context);
        return;
      }
      const span = startMiddlewareAttempt(request, context, call);
      const accumulator = new StreamAccumulator();
      let outcome: 'ok' | 'error' | 'cancelled' = 'cancelled';
      try {
        for await (const event of withContext(trace.setSpan(call.context, span), () =>
          next(request, context),
        )) {
          accumulator.add(event);
          yield event as StreamEvent;
        }
        outcome = 'ok';
        responseAttributes(span, accumulator.toResponse());
      } catch (error) {
        outcome = 'error';
        recordError(span, error);
        usageAttributes(
          span,
          (BulwarkError.isInstance(error) ? error.usage : undefined) ?? accumulator.usage,
        );
        throw error;
      } finally {
        if (outcome === 'cancelled') span.setAttribute(a.streamCancelled, true);
        call.middlewareAttempt = undefined;
        span.end();
      }
    },
  };

  return tracing;
}
