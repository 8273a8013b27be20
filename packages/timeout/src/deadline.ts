import { type Clock, ConfigError, linkSignals, type MiddlewareV1, TimeoutError } from '@bulwark/core';

export interface DeadlineOptions {
  /**
   * Longest a call may take, retries and fallbacks included. Applies when the caller set no
   * `timeoutMs`, and shortens a caller's longer one. The gateway default is 120 000.
   */
  totalMs: number;
  /** Clock for the timer. Default: the call context's clock. */
  clock?: Clock;
}

/**
 * A default total deadline (stage `deadline`, once per call, above the router). `createBulwark`
 * already enforces a caller's `timeoutMs`; this middleware gives every call a deadline configured
 * once, for callers that pass none (the gateway's `timeout.totalMs`). It sets `context.deadline`
 * (retry and router stop early instead of sleeping past it) and, when it passes, aborts everything
 * below with `TimeoutError{ phase: 'total' }` (not retryable, no fallback).
 */
export function createDeadline(options: DeadlineOptions): MiddlewareV1 {
  const totalMs = options?.totalMs;
  if (!(Number.isFinite(totalMs) && totalMs > 0)) {
    throw new ConfigError({
      path: 'totalMs',
      message: `totalMs must be a number of milliseconds > 0 (received ${String(totalMs)})`,
    });
  }
  return {
    specificationVersion: 'v1',
    name: 'deadline',
    stage: 'deadline',
    async complete(request, context, next) {
      const clock = options.clock ?? context.clock;
      const deadline = clock.now() + totalMs;
      if (context.deadline !== undefined && context.deadline <= deadline) return next(request, context);
      const link = linkSignals(context.signal);
      let fired: TimeoutError | undefined;
      const cancel = clock.setTimer(
        totalMs,
        () => {
          fired = new TimeoutError({ phase: 'total', timeoutMs: totalMs });
          link.controller.abort(fired);
        },
        // A bound, not a wait: the work below holds the process while it runs (see TimerOptions).
        { ref: false },
      );
      try {
        return await next(request, { ...context, deadline, signal: link.signal });
      } catch (thrown) {
        if (fired && !context.signal.aborted) {
          fired.attempts = context.trail;
          throw fired;
        }
        throw thrown;
      } finally {
        cancel();
        link.dispose();
      }
    },
    async *stream(request, context, next) {
      const clock = options.clock ?? context.clock;
      const deadline = clock.now() + totalMs;
      if (context.deadline !== undefined && context.deadline <= deadline) {
        yield* next(request, context);
        return;
      }
      const link = linkSignals(context.signal);
      let fired: TimeoutError | undefined;
      const cancel = clock.setTimer(
        totalMs,
        () => {
          fired = new TimeoutError({ phase: 'total', timeoutMs: totalMs });
          link.controller.abort(fired);
        },
        // A bound, not a wait: the work below holds the process while it runs (see TimerOptions).
        { ref: false },
      );
      try {
        yield* next(request, { ...context, deadline, signal: link.signal });
      } catch (thrown) {
        if (fired && !context.signal.aborted) {
          fired.attempts = context.trail;
          throw fired;
        }
        throw thrown;
      } finally {
        cancel();
        link.dispose();
      }
    },
  };
}
