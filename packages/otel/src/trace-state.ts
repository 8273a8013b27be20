import type { BreakerState, ChatRequest } from '@bulwark/core';
import {
  type Attributes,
  type Context,
  context as otelContext,
  type Span,
  SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { attributeNames as a, requestAttributes } from './span-attributes.js';

/** What tracing keeps about one running call. */
export interface CallTrace {
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

/** Where the call middleware leaves its `CallTrace` for the attempt middleware (`context.state`). */
export const traceKey = Symbol('bulwark.otel.call');

/** State one tracing instance shares between its call middleware, attempt middleware and event listeners. */
export interface TraceState {
  readonly tracer: Tracer;
  readonly recordContent: boolean;
  /** The kind of API behind a configured provider name. */
  systemOf(provider: string): string | undefined;
  /** Running calls by call id. */
  readonly calls: Map<string, CallTrace>;
  /** Last breaker state seen per target id. */
  readonly breakerStates: Map<string, BreakerState>;
  /**
   * Opens an attempt span under the call span, with the retry delay, fallback origin and queue wait
   * that preceded it (consumed here).
   */
  startAttempt(call: CallTrace, provider: string, model: string, number: number, request?: ChatRequest): Span;
}

export function createTraceState(options: {
  tracer: Tracer;
  recordContent: boolean;
  systemOf: (provider: string) => string | undefined;
}): TraceState {
  const { tracer, systemOf } = options;
  const breakerStates = new Map<string, BreakerState>();
  return {
    tracer,
    recordContent: options.recordContent,
    systemOf,
    calls: new Map(),
    breakerStates,
    startAttempt(call, provider, model, number, request) {
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
    },
  };
}

/** Runs `next()` of an async iterator inside an OpenTelemetry context, so spans below nest correctly. */
export async function* withContext<T>(active: Context, make: () => AsyncIterable<T>): AsyncGenerator<T> {
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
