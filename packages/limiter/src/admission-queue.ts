import { AbortedError, type CallContext, RateLimitError, throwIfAborted } from '@bulwark/core';
import { emissionInterval } from './gcra.js';
import type { AcquireResult, LimiterStoreV1 } from './limiter-store.js';
import { chargeServerBudgets, serverWait } from './server-mirror.js';
import type { LimiterClock, TargetState } from './target-state.js';
import type { Waiter } from './waiter-queue.js';

/** Admission of calls to a scope: at once while capacity lasts, else through its bounded priority queue. */
export interface Admission {
  /** Takes capacity for one call: at once when the queue is empty and capacity allows, else queued. */
  acquire(state: TargetState, costs: readonly number[], context: CallContext): Promise<void>;
  /** Gives back the call's concurrency permit and lets the queue move. */
  release(state: TargetState): void;
  /** Rejects every waiter of the scope with `AbortedError` and cancels its timer. */
  close(state: TargetState): void;
}

export interface AdmissionOptions {
  store: LimiterStoreV1;
  clock: LimiterClock;
  /** Waiters per scope key; one more is rejected at once. */
  maxQueue: number;
  /** Longest a caller may wait (also capped by the call's deadline). */
  maxWaitMs: number | ((context: CallContext) => number);
}

/** True for a store's asynchronous answer (a synchronous one is used without an `await`). */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}

export function createAdmission(options: AdmissionOptions): Admission {
  const { store, clock, maxQueue, maxWaitMs } = options;

  const estimateWait = (state: TargetState, priority: number, retryAfterMs: number, now: number): number => {
    const headWait = state.pumpTimer ? state.pumpAt - now : 0;
    let wait = Math.max(retryAfterMs, headWait, state.pausedUntil - now, 0);
    for (let index = 0; index < state.dimensions.length; index += 1) {
      const ahead = state.queue.ahead(priority, index);
      const queued = wait + ahead.cost * emissionInterval(state.dimensions[index]!);
      if (queued > wait) wait = queued;
    }
    return Math.ceil(wait);
  };

  const reject = (
    state: TargetState,
    context: CallContext,
    reason: 'queue-full' | 'expected-wait' | 'max-wait',
    retryAfterMs: number,
  ): RateLimitError => {
    state.stats.rejected += 1;
    if (context.events.has('limiter:reject')) {
      context.events.emit('limiter:reject', {
        callId: context.callId,
        tenant: context.metadata.tenant,
        provider: state.provider,
        model: context.target?.model ?? state.model,
        reason,
        retryAfterMs,
      });
    }
    const messages = {
      'queue-full': `the queue of ${state.key} is full (${maxQueue} waiting)`,
      'expected-wait': `${state.key} has no capacity within this call's maximum wait`,
      'max-wait': `waited the maximum time for ${state.key}`,
    } as const;
    return new RateLimitError({
      scope: 'limiter',
      local: true,
      retryAfterMs,
      provider: state.provider,
      model: context.target?.model ?? state.model,
      message: `Rate limited by Bulwark's limiter: ${messages[reason]}; retry in about ${retryAfterMs} ms`,
    });
  };

  const cancelPumpTimer = (state: TargetState): void => {
    state.pumpTimer?.();
    state.pumpTimer = undefined;
  };

  const schedulePump = (state: TargetState, delayMs: number, now: number): void => {
    const at = now + Math.max(1, delayMs);
    if (state.pumpTimer && state.pumpAt <= at) return;
    cancelPumpTimer(state);
    state.pumpAt = at;
    state.pumpTimer = clock.current.setTimer(at - now, () => {
      state.pumpTimer = undefined;
      void pump(state);
    });
  };

  const countAdmission = (state: TargetState, costs: readonly number[]): void => {
    state.stats.admitted += 1;
    if (state.tokenIndex >= 0) state.stats.tokensReserved += costs[state.tokenIndex] ?? 0;
  };

  const grant = (state: TargetState, waiter: Waiter, now: number): void => {
    waiter.cleanup();
    const waited = now - waiter.enqueuedAt;
    const stats = state.stats;
    countAdmission(state, waiter.costs);
    stats.waited += 1;
    stats.waitMsTotal += waited;
    if (waited > stats.waitMsMax) stats.waitMsMax = waited;
    const context = waiter.context;
    if (context.events.has('limiter:wait')) {
      context.events.emit('limiter:wait', {
        callId: context.callId,
        tenant: context.metadata.tenant,
        provider: state.provider,
        model: context.target?.model ?? state.model,
        waitedMs: waited,
        queueLength: state.queue.size,
      });
    }
    waiter.resolve();
  };

  /** Admits queued callers in order while capacity lasts; one pump per scope at a time. */
  const pump = async (state: TargetState): Promise<void> => {
    if (state.pumping) return;
    state.pumping = true;
    try {
      while (state.queue.size > 0) {
        const head = state.queue.peek()!;
        if (state.inFlight >= state.concurrency) return;
        let now = clock.current.now();
        const wait = serverWait(state, head.costs, now);
        if (wait > 0) {
          schedulePump(state, wait, now);
          return;
        }
        state.inFlight += 1;
        let result: AcquireResult;
        try {
          const pending = store.acquire(state.key, head.costs, state.dimensions, now);
          result = isPromise(pending) ? await pending : pending;
        } catch (error) {
          state.inFlight -= 1;
          if (state.queue.remove(head)) {
            head.cleanup();
            head.reject(error);
          }
          continue;
        }
        now = clock.current.now();
        if (!result.allowed) {
          state.inFlight -= 1;
          if (state.queue.size > 0) schedulePump(state, result.retryAfterMs, now);
          return;
        }
        if (!state.queue.remove(head)) {
          // The waiter left (abort or max wait) while the store answered: give back what it was charged.
          state.inFlight -= 1;
          await refund(state, head.costs, now);
          continue;
        }
        chargeServerBudgets(state, head.costs);
        grant(state, head, now);
      }
    } finally {
      state.pumping = false;
      if (state.queue.size === 0) cancelPumpTimer(state);
    }
  };

  const refund = async (state: TargetState, costs: readonly number[], now: number): Promise<void> => {
    const deltas = costs.map((cost) => -cost);
    try {
      await store.adjust(state.key, deltas, state.dimensions, now);
    } catch {
      // A failed refund only leaves the limiter a little conservative.
    }
  };

  const enqueue = (
    state: TargetState,
    costs: readonly number[],
    context: CallContext,
    retryAfterMs: number,
    now: number,
  ): Promise<void> => {
    if (context.signal.aborted) return Promise.reject(new AbortedError({ cause: context.signal.reason }));
    const priority = context.metadata.priority ?? 0;
    const estimate = estimateWait(state, priority, retryAfterMs, now);
    if (state.queue.size >= maxQueue) return Promise.reject(reject(state, context, 'queue-full', estimate));
    let allowed = typeof maxWaitMs === 'function' ? maxWaitMs(context) : maxWaitMs;
    if (context.deadline !== undefined) allowed = Math.min(allowed, context.deadline - now);
    if (estimate > allowed) return Promise.reject(reject(state, context, 'expected-wait', estimate));
    return new Promise<void>((resolve, rejectWaiter) => {
      const onAbort = (): void => {
        if (!state.queue.remove(waiter)) return;
        waiter.cleanup();
        if (state.queue.size === 0) cancelPumpTimer(state);
        rejectWaiter(new AbortedError({ cause: context.signal.reason }));
      };
      const cancelTimer = clock.current.setTimer(allowed, () => {
        if (!state.queue.remove(waiter)) return;
        context.signal.removeEventListener('abort', onAbort);
        if (state.queue.size === 0) cancelPumpTimer(state);
        const at = clock.current.now();
        rejectWaiter(reject(state, context, 'max-wait', estimateWait(state, priority, 0, at)));
      });
      const waiter: Waiter = {
        priority,
        costs,
        context,
        enqueuedAt: now,
        resolve,
        reject: rejectWaiter,
        cleanup: () => {
          cancelTimer();
          context.signal.removeEventListener('abort', onAbort);
        },
      };
      context.signal.addEventListener('abort', onAbort, { once: true });
      state.queue.push(waiter);
      if (state.queue.peek() === waiter && state.inFlight < state.concurrency) {
        schedulePump(state, retryAfterMs, now);
      }
    });
  };

  return {
    async acquire(state, costs, context) {
      const activeClock = clock.of(context);
      throwIfAborted(context.signal);
      let now = activeClock.now();
      let retryAfterMs = 0;
      if (state.queue.size === 0 && state.inFlight < state.concurrency) {
        retryAfterMs = serverWait(state, costs, now);
        if (retryAfterMs === 0) {
          state.inFlight += 1;
          let result: AcquireResult;
          try {
            const pending = store.acquire(state.key, costs, state.dimensions, now);
            result = isPromise(pending) ? await pending : pending;
          } catch (error) {
            state.inFlight -= 1;
            throw error;
          }
          if (result.allowed) {
            chargeServerBudgets(state, costs);
            countAdmission(state, costs);
            return;
          }
          state.inFlight -= 1;
          retryAfterMs = result.retryAfterMs;
          now = activeClock.now();
        }
      }
      await enqueue(state, costs, context, retryAfterMs, now);
    },
    release(state) {
      state.inFlight -= 1;
      if (state.queue.size > 0 && !state.pumpTimer) void pump(state);
    },
    close(state) {
      cancelPumpTimer(state);
      for (const waiter of state.queue.drain()) {
        waiter.cleanup();
        waiter.reject(new AbortedError({ message: 'The rate limiter was closed' }));
      }
    },
  };
}
