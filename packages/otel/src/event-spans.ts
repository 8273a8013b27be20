import { type EventBus, targetId } from '@bulwark/core';
import { SpanStatusCode } from '@opentelemetry/api';
import { attributeNames as a, usageAttributes } from './span-attributes.js';
import type { TraceState } from './trace-state.js';

/**
 * Listens to a client's events (once per bus): retry, fallback and limiter waits are noted on the call
 * and land on the next attempt span; breaker states are remembered per target; and without the
 * `attempt` middleware, attempt spans are made from the `attempt:*` events.
 */
export function createEventSubscriber(state: TraceState): (events: EventBus) => void {
  const { calls, breakerStates } = state;
  const subscribed = new WeakSet<EventBus>();
  return (events) => {
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
      call.eventAttempt = state.startAttempt(call, event.provider, event.model, event.attempt);
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
}
