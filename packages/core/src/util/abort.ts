import { AbortedError } from '../errors/errors.js';

/** Throws `AbortedError` when the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
}

/**
 * A signal that aborts when any of `signals` aborts, with a `dispose` that detaches it (so long-lived
 * parent signals do not collect listeners). Use `AbortSignal.any` semantics without its leak on Node 20.
 */
export function linkSignals(...signals: Array<AbortSignal | undefined>): {
  signal: AbortSignal;
  controller: AbortController;
  dispose: () => void;
} {
  const controller = new AbortController();
  const cleanups: Array<() => void> = [];
  for (const parent of signals) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => parent.removeEventListener('abort', onAbort));
  }
  return {
    signal: controller.signal,
    controller,
    dispose: () => {
      for (const cleanup of cleanups) cleanup();
      cleanups.length = 0;
    },
  };
}

/** Races `promise` against `signal`: rejects with `AbortedError` at once when it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new AbortedError({ cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError({ cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
