import { type Clock, sleepWithTimers } from './clock.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
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
  /** Number of pending timers. */
  pending(): number;
}

/** Lets every queued promise reaction and I/O callback run before the clock moves. */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export function createVirtualClock(start = 0): VirtualClock {
  let now = start;
  let sequence = 0;
  const timers: Timer[] = [];

  const insert = (timer: Timer): void => {
    let index = timers.length;
    while (index > 0 && timers[index - 1]!.at > timer.at) index -= 1;
    timers.splice(index, 0, timer);
  };

  const fireDue = async (until: number): Promise<number> => {
    let fired = 0;
    await settle();
    while (timers.length > 0 && timers[0]!.at <= until) {
      const timer = timers.shift()!;
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
    setTimer(ms, callback) {
      const timer: Timer = { id: sequence++, at: now + Math.max(0, ms), callback };
      insert(timer);
      return () => {
        const index = timers.indexOf(timer);
        if (index >= 0) timers.splice(index, 1);
      };
    },
    async advance(ms) {
      const target = now + ms;
      await fireDue(target);
      now = Math.max(now, target);
    },
    async next() {
      await settle();
      const first = timers[0];
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
    pending: () => timers.length,
  };
  return clock;
}
