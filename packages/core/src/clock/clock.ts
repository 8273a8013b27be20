import { AbortedError } from '../errors/errors.js';

/** Options of `Clock.setTimer`. */
export interface TimerOptions {
  /**
   * Whether the timer keeps the process alive while it is pending, as a Node timer that is `ref`'d.
   * Default `true`: a timer that a call in flight waits on (a retry backoff, a limiter queue wait, a
   * hedge delay) must not let a script exit before the call settles. Pass `false` for timers that only
   * bound work which already holds the process by itself (a deadline, an attempt timeout around a
   * socket) and for background housekeeping, so that an idle process can exit. A clock without the
   * notion (a virtual clock) records the flag and otherwise ignores it.
   */
  ref?: boolean;
}

/**
 * Time, injected wherever behaviour depends on it (backoff, breakers, windows, limiters, timeouts), so
 * tests and simulations run in virtual time. Times are milliseconds on the clock's own scale.
 *
 * Keeping the process alive: a pending `sleep` and a `setTimer` without `{ ref: false }` hold the
 * event loop (the system clock's timers are `ref`'d), so a call waiting on them is never dropped by a
 * process exiting under it. Implementations written before `TimerOptions` existed stay valid: the
 * third argument is optional, and a clock that ignores it keeps every timer as it did.
 */
export interface Clock {
  /** Current time in ms. */
  now(): number;
  /**
   * Resolves after `ms`; rejects with `AbortedError` as soon as `signal` aborts, leaving no timer behind.
   * The wait keeps the process alive (a sleep is always something a call waits on).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `callback` after `ms`. Returns a function that cancels it. The timer keeps the process alive
   * unless `options.ref` is `false` (see `TimerOptions`).
   */
  setTimer(ms: number, callback: () => void, options?: TimerOptions): () => void;
}

function abortReason(signal: AbortSignal): AbortedError {
  return new AbortedError({ cause: signal.reason });
}

/** Sleeps on a clock's timers, honouring an abort signal. Shared by the real and the virtual clock. */
export function sleepWithTimers(
  setTimer: Clock['setTimer'],
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(abortReason(signal!));
    };
    const cancel = setTimer(Math.max(0, ms), () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Node fires a timer longer than this after 1 ms; longer waits are chained. */
const longestNodeTimer = 2_147_483_647;

/**
 * The real clock: `Date.now()` and Node timers. Timers are `ref`'d (they keep the process alive while
 * pending) unless set with `{ ref: false }`; waits longer than Node's ~24.8-day timer limit are chained.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepWithTimers(systemClock.setTimer, ms, signal),
  setTimer(ms, callback, options) {
    const ref = options?.ref !== false;
    let handle: ReturnType<typeof setTimeout>;
    const arm = (remaining: number): void => {
      const step = Math.min(remaining, longestNodeTimer);
      handle = setTimeout(step < remaining ? () => arm(remaining - step) : callback, Math.max(0, step));
      if (!ref) handle.unref?.();
    };
    arm(ms);
    return () => clearTimeout(handle);
  },
};
