import {
  type CallContext,
  type Clock,
  ConfigError,
  linkSignals,
  type MiddlewareV1,
  TimeoutError,
} from '@bulwark/core';

export interface AttemptTimeoutOptions {
  /**
   * Longest wait for the first stream event (the provider sends it once the response headers are in)
   * or, for a non-streaming call, for the whole response. Omit or 0 for none. The gateway default is 30 000.
   */
  firstTokenMs?: number;
  /** Longest silence between two stream events. Omit or 0 for none. The gateway default is 15 000. */
  idleMs?: number;
  /** Clock for the timers. Default: the call context's clock. */
  clock?: Clock;
}

function check(path: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new ConfigError({
      path,
      message: `${path} must be a number of milliseconds ≥ 0 (received ${String(value)})`,
    });
  }
}

/** One attempt's timer: arms a phase, aborts the attempt's own signal with a TimeoutError when it fires. */
class AttemptTimer {
  readonly link: ReturnType<typeof linkSignals>;
  fired: TimeoutError | undefined;
  private cancel: (() => void) | undefined;

  constructor(
    private readonly context: CallContext,
    private readonly clock: Clock,
  ) {
    this.link = linkSignals(context.signal);
  }

  arm(ms: number | undefined, phase: 'first-token' | 'idle'): void {
    this.disarm();
    if (!ms) return;
    const onTimeout = (): void => {
      this.cancel = undefined;
      const target = this.context.target;
      this.fired = new TimeoutError({
        phase,
        timeoutMs: ms,
        ...(target ? { provider: target.provider, model: target.model } : {}),
        message:
          phase === 'idle'
            ? `No stream event for ${ms} ms from ${target ? `${target.provider}/${target.model}` : 'the provider'} (idle timeout)`
            : `No ${this.context.stream ? 'first stream event' : 'response'} within ${ms} ms from ${target ? `${target.provider}/${target.model}` : 'the provider'} (first-token timeout)`,
      });
      this.link.controller.abort(this.fired);
    };
    // A bound on the provider's own I/O, which holds the process while it runs (see TimerOptions).
    this.cancel = this.clock.setTimer(ms, onTimeout, { ref: false });
  }

  disarm(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /** The error to raise for `thrown`: our TimeoutError when our timer (not the caller) aborted the attempt. */
  translate(thrown: unknown): unknown {
    if (this.fired && !this.context.signal.aborted) return this.fired;
    return thrown;
  }

  dispose(): void {
    this.disarm();
    this.link.dispose();
  }
}

/**
 * Per-attempt timeouts (stage `timeout`, innermost, so queue time in the limiter does not count):
 * time to the first stream event (or to the whole response when not streaming) and silence between
 * stream events. Each attempt gets its own `AbortController` linked to the call's signal and passed
 * down in a derived context; on expiry it is aborted — the provider closes the socket — and the
 * attempt fails with `TimeoutError` (`phase: 'first-token' | 'idle'`, retryable). A caller abort stays
 * an abort. The idle clock stops while the consumer holds an event, so a slow reader is not a stall.
 * Cooperative: the provider must honour `context.signal` (every Bulwark provider does).
 */
export function createAttemptTimeout(options: AttemptTimeoutOptions = {}): MiddlewareV1 {
  const { firstTokenMs, idleMs } = options;
  check('firstTokenMs', firstTokenMs);
  check('idleMs', idleMs);
  return {
    specificationVersion: 'v1',
    name: 'attempt-timeout',
    stage: 'timeout',
    async complete(request, context, next) {
      if (!firstTokenMs) return next(request, context);
      const timer = new AttemptTimer(context, options.clock ?? context.clock);
      timer.arm(firstTokenMs, 'first-token');
      try {
        return await next(request, { ...context, signal: timer.link.signal });
      } catch (thrown) {
        throw timer.translate(thrown);
      } finally {
        timer.dispose();
      }
    },
    async *stream(request, context, next) {
      if (!firstTokenMs && !idleMs) {
        yield* next(request, context);
        return;
      }
      const timer = new AttemptTimer(context, options.clock ?? context.clock);
      timer.arm(firstTokenMs, 'first-token');
      try {
        for await (const event of next(request, { ...context, signal: timer.link.signal })) {
          timer.disarm();
          if (timer.fired) throw timer.fired;
          yield event;
          timer.arm(idleMs, 'idle');
        }
      } catch (thrown) {
        throw timer.translate(thrown);
      } finally {
        timer.dispose();
      }
    },
  };
}
