import {
  BulwarkError,
  type CallContext,
  type ChatRequest,
  type MiddlewareV1,
  StreamAccumulator,
  type StreamEvent,
} from '@bulwark/core';
import { context as otelContext, type Span, trace } from '@opentelemetry/api';
import { attributeNames as a, recordError, responseAttributes, usageAttributes } from './span-attributes.js';
import { type CallTrace, type TraceState, traceKey, withContext } from './trace-state.js';

/** The 1-based attempt number on the context's target, counted from the trail (local rejections excluded). */
function attemptNumber(context: CallContext): number {
  const target = context.target;
  let count = 1;
  for (const record of context.trail) {
    if (!record.local && record.provider === target?.provider && record.model === target?.model) count += 1;
  }
  return count;
}

/** The target-level `attempt` middleware: one span around each provider call, under the call span. */
export function createAttemptMiddleware(state: TraceState): MiddlewareV1 {
  const startMiddlewareAttempt = (request: ChatRequest, context: CallContext, call: CallTrace): Span => {
    const span = state.startAttempt(
      call,
      context.target?.provider ?? '',
      context.target?.model ?? request.model,
      attemptNumber(context),
      request,
    );
    call.middlewareAttempt = span;
    return span;
  };

  return {
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
}
