import { AbortedError } from '../errors/errors.js';

/**
 * Time, injected wherever behaviour depends on it (backoff, breakers, windows, limiters, timeouts), so
 * tests and simulations run in virtual time. Times are milliseconds on the clock's own scale.
 */
export interface Clock {
  /** Current time in ms. */
  now(): number;
  /** Resolves after `ms`; rejects with `AbortedError` as soon as `signal` aborts, leaving no timer behind. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `callback` after `ms`. Returns a function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void;
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

/** The real clock: `Date.now()` and Node timers (unref'd, so a pending backoff never holds the process open). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepWithTimers(systemClock.setTimer, ms, signal),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return () => clearTimeout(handle);
  },
};
