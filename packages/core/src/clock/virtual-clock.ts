import { type Clock, sleepWithTimers } from './clock.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
  cancelled: boolean;
  ref: boolean;
}

/** A clock whose time moves only when told to. Timers fire in time order (then creation order). */
export interface VirtualClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in order and letting promise chains settle between them. */
  advance(ms: number): Promise<void>;
  /** Moves time to the next timer and fires it (and all due at the same instant). False when none is pending. */
  next(): Promise<boolean>;
  /** Fires timers until none is left or `limit` timers fired. */
  runAll(limit?: number): Promise<void>;
  /**
   * Runs `work` to completion, moving time forward only when nothing else can happen: the way to run
   * a simulation of many concurrent calls in virtual time.
   */
  run<T>(work: Promise<T> | (() => Promise<T>), options?: { maxTimers?: number }): Promise<T>;
  /**
   * Number of pending timers. With `{ ref: true }` only those that would keep a real process alive
   * (set without `{ ref: false }`: what a call in flight waits on); with `{ ref: false }` only the others.
   */
  pending(filter?: { ref?: boolean }): number;
}

/**
 * Lets every queued promise reaction and `process.nextTick` callback run before the clock moves: both
 * queues drain completely before the event loop reaches the check phase where `setImmediate` fires.
 */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

const earlier = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.id < b.id);

export function createVirtualClock(start = 0): VirtualClock {
  let now = start;
  let sequence = 0;
  let live = 0;
  // A binary min-heap on (time, creation order); cancelled timers are dropped lazily when they surface.
  const heap: Timer[] = [];

  const push = (timer: Timer): void => {
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  };

  const pop = (): Timer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  };

  const peek = (): Timer | undefined => {
    while (heap.length > 0 && heap[0]!.cancelled) pop();
    return heap[0];
  };

  const fireDue = async (until: number): Promise<number> => {
    let fired = 0;
    await settle();
    for (let timer = peek(); timer && timer.at <= until; timer = peek()) {
      pop();
      live -= 1;
      timer.cancelled = true;
      now = Math.max(now, timer.at);
      timer.callback();
      fired += 1;
      await settle();
    }
    return fired;
  };

  const clock: VirtualClock = {
    now: () => now,
    sleep: (ms, signal) => sleepWithTimers(clock.setTimer, ms, signal),
    setTimer(ms, callback, options) {
      const timer: Timer = {
        id: sequence++,
        at: now + Math.max(0, ms),
        callback,
        cancelled: false,
        ref: options?.ref !== false,
      };
      push(timer);
      live += 1;
      return () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        live -= 1;
      };
    },
    async advance(ms) {
      const target = now + ms;
      await fireDue(target);
      now = Math.max(now, target);
    },
    async next() {
      await settle();
      const first = peek();
      if (!first) return false;
      await fireDue(first.at);
      return true;
    },
    async runAll(limit = 1_000_000) {
      let fired = 0;
      while (fired < limit && (await clock.next())) fired += 1;
    },
    async run(work, options = {}) {
      const promise = typeof work === 'function' ? work() : work;
      let done = false;
      const tracked = promise.finally(() => {
        done = true;
      });
      tracked.catch(() => {});
      const maxTimers = options.maxTimers ?? 10_000_000;
      let fired = 0;
      await settle();
      while (!done) {
        if (!(await clock.next())) {
          await settle();
          if (done) break;
          throw new Error('VirtualClock.run: the work is waiting but no timer is pending (it would hang)');
        }
        fired += 1;
        if (fired > maxTimers) throw new Error(`VirtualClock.run: more than ${maxTimers} timers fired`);
      }
      return tracked;
    },
    pending(filter) {
      if (filter?.ref === undefined) return live;
      return heap.filter((timer) => !timer.cancelled && timer.ref === filter.ref).length;
    },
  };
  return clock;
}
