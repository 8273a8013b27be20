import type { EventBus, MiddlewareV1 } from '@bulwark/core';
import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { createAttemptMiddleware } from './attempt-span.js';
import { createCallSpans } from './call-span.js';
import { createEventSubscriber } from './event-spans.js';
import { createTraceState } from './trace-state.js';

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
  const state = createTraceState({
    tracer,
    recordContent: options.recordContent ?? false,
    systemOf: options.systemOf ?? ((provider: string) => provider),
  });
  const subscribe = createEventSubscriber(state);
  if (options.events) subscribe(options.events);
  const calls = createCallSpans(state, subscribe);
  const attempt = createAttemptMiddleware(state);
  return {
    specificationVersion: 'v1',
    name: 'otel',
    stage: 'observe',
    get attempt() {
      return attempt;
    },
    complete: calls.complete,
    stream: calls.stream,
  };
}
