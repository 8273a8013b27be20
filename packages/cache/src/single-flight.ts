import {
  AbortedError,
  BulwarkError,
  type CallContext,
  type ChatResponse,
  type StreamEvent,
} from '@bulwark/core';

interface CompleteFlight {
  waiters: number;
  settled: boolean;
  controller: AbortController;
  promise: Promise<ChatResponse>;
}

interface StreamFlight {
  waiters: number;
  events: StreamEvent[];
  done: boolean;
  failed: boolean;
  error: unknown;
  controller: AbortController;
  /** Callers waiting for the next event; the pump reads the source only while there is one. */
  wakers: Set<() => void>;
  /** Set while the pump waits for a caller to want the next event. */
  pull: (() => void) | undefined;
}

function abortError(signal: AbortSignal): BulwarkError {
  return BulwarkError.isInstance(signal.reason) ? signal.reason : new AbortedError({ cause: signal.reason });
}

/**
 * Single flight: identical calls in flight at the same time share one upstream call. The shared call
 * runs on its own abort signal, so one caller leaving (abort, timeout, a stream consumer that stops)
 * does not cancel it for the others; it is aborted only when every caller has left. A failure reaches
 * every caller. Entries leave the table as soon as the call settles, so a later call starts afresh.
 */
export class SingleFlight {
  private readonly completes = new Map<string, CompleteFlight>();
  private readonly streams = new Map<string, StreamFlight>();

  /** Number of shared calls in flight (both kinds). */
  get size(): number {
    return this.completes.size + this.streams.size;
  }

  /**
   * Joins the flight under `key` or starts it with `start`, which receives a context whose signal only
   * aborts when every caller has left. `joined` is true when another caller started it.
   */
  complete(
    key: string,
    context: CallContext,
    start: (shared: CallContext) => Promise<ChatResponse>,
  ): { joined: boolean; promise: Promise<ChatResponse> } {
    let flight = this.completes.get(key);
    const joined = flight !== undefined;
    if (!flight) {
      const controller = new AbortController();
      const created: CompleteFlight = {
        waiters: 0,
        settled: false,
        controller,
        promise: undefined as unknown as Promise<ChatResponse>,
      };
      const settle = (): void => {
        created.settled = true;
        if (this.completes.get(key) === created) this.completes.delete(key);
      };
      created.promise = start(sharedContext(context, controller.signal)).then(
        (response) => {
          settle();
          return response;
        },
        (error: unknown) => {
          settle();
          throw error;
        },
      );
      // Callers observe the promise through `join`; this keeps a flight everyone left from reporting an unhandled rejection.
      created.promise.catch(() => {});
      this.completes.set(key, created);
      flight = created;
    }
    return { joined, promise: this.join(key, flight, context.signal) };
  }

  private join(key: string, flight: CompleteFlight, signal: AbortSignal): Promise<ChatResponse> {
    flight.waiters += 1;
    return new Promise<ChatResponse>((resolve, reject) => {
      let left = false;
      const leave = (): void => {
        left = true;
        flight.waiters -= 1;
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        if (left) return;
        leave();
        if (flight.waiters === 0 && !flight.settled) {
          if (this.completes.get(key) === flight) this.completes.delete(key);
          flight.controller.abort(signal.reason);
        }
        reject(abortError(signal));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (response) => {
          if (left) return;
          leave();
          resolve({ ...response });
        },
        (error: unknown) => {
          if (left) return;
          leave();
          reject(error);
        },
      );
    });
  }

  /**
   * Joins the streamed flight under `key` or starts it. Events are buffered for the flight's lifetime so
   * a caller that joins late still gets the stream from its first event. The source is read only as
   * fast as the fastest caller reads: when every caller stops reading, so does the upstream call, and
   * TCP backpressure reaches the provider instead of the whole answer piling up here.
   */
  stream(
    key: string,
    context: CallContext,
    start: (shared: CallContext) => AsyncIterable<StreamEvent>,
  ): { joined: boolean; events: AsyncGenerator<StreamEvent> } {
    let flight = this.streams.get(key);
    const joined = flight !== undefined;
    if (!flight) {
      const created: StreamFlight = {
        waiters: 0,
        events: [],
        done: false,
        failed: false,
        error: undefined,
        controller: new AbortController(),
        wakers: new Set(),
        pull: undefined,
      };
      this.streams.set(key, created);
      flight = created;
      void this.pump(key, created, start(sharedContext(context, created.controller.signal)));
    }
    return { joined, events: this.subscribe(key, flight, context.signal) };
  }

  private async pump(key: string, flight: StreamFlight, source: AsyncIterable<StreamEvent>): Promise<void> {
    const iterator = source[Symbol.asyncIterator]();
    const signal = flight.controller.signal;
    const onAbort = (): void => flight.pull?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        if (flight.wakers.size === 0) {
          await new Promise<void>((resolve) => {
            flight.pull = resolve;
          });
          flight.pull = undefined;
          continue;
        }
        const next = await iterator.next();
        if (next.done) break;
        flight.events.push(next.value);
        wake(flight);
      }
      if (signal.aborted) await iterator.return?.();
      flight.done = true;
    } catch (error) {
      flight.failed = true;
      flight.error = error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (this.streams.get(key) === flight) this.streams.delete(key);
      wake(flight);
    }
  }

  private async *subscribe(
    key: string,
    flight: StreamFlight,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent> {
    flight.waiters += 1;
    let index = 0;
    try {
      while (true) {
        if (index < flight.events.length) {
          yield flight.events[index]!;
          index += 1;
          continue;
        }
        if (flight.failed) throw flight.error;
        if (flight.done) return;
        await waitForEvent(flight, signal);
      }
    } finally {
      flight.waiters -= 1;
      if (flight.waiters === 0 && !flight.done && !flight.failed) {
        if (this.streams.get(key) === flight) this.streams.delete(key);
        flight.controller.abort(
          signal.aborted ? signal.reason : new AbortedError({ message: 'every caller left' }),
        );
      }
    }
  }
}

function wake(flight: StreamFlight): void {
  for (const waker of flight.wakers) waker();
  flight.wakers.clear();
}

function waitForEvent(flight: StreamFlight, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      flight.wakers.delete(waker);
      reject(abortError(signal));
    };
    const waker = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    flight.wakers.add(waker);
    signal.addEventListener('abort', onAbort, { once: true });
    flight.pull?.();
  });
}

/**
 * The context the shared call runs with: the first caller's, on the flight's own signal. It keeps the
 * first caller's deadline, trail and state, so its attempts are recorded once, on that caller's trail.
 */
function sharedContext(context: CallContext, signal: AbortSignal): CallContext {
  return { ...context, signal };
}
