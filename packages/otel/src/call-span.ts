import {
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type CompleteHandler,
  type EventBus,
  redactSecrets,
  StreamAccumulator,
  type StreamEvent,
  type StreamHandler,
  targetId,
} from '@bulwark/core';
import { context as otelContext, SpanKind, trace } from '@opentelemetry/api';
import {
  attributeNames as a,
  recordError,
  requestAttributes,
  responseAttributes,
} from './span-attributes.js';
import { type CallTrace, type TraceState, traceKey, withContext } from './trace-state.js';

/** The call span: one per logical call, around retries and fallbacks. */
export interface CallSpans {
  complete(request: ChatRequest, context: CallContext, next: CompleteHandler): Promise<ChatResponse>;
  stream(request: ChatRequest, context: CallContext, next: StreamHandler): AsyncIterable<StreamEvent>;
}

export function createCallSpans(state: TraceState, subscribe: (events: EventBus) => void): CallSpans {
  const { tracer, recordContent, systemOf, calls } = state;

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

  return {
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
}
