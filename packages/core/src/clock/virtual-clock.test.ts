import { describe, expect, it } from 'vitest';
import { AbortedError } from '../errors/errors.js';
import { createVirtualClock } from './virtual-clock.js';

describe('createVirtualClock', () => {
  it('fires timers in time order, then creation order, only when advanced', async () => {
    const clock = createVirtualClock(100);
    const fired: string[] = [];
    clock.setTimer(20, () => fired.push('b'));
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(20, () => fired.push('c'));
    await clock.advance(15);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(115);
    await clock.advance(5);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('lets promise chains schedule further sleeps within one advance', async () => {
    const clock = createVirtualClock();
    const stamps: number[] = [];
    const work = (async () => {
      for (let step = 0; step < 3; step += 1) {
        await clock.sleep(100);
        stamps.push(clock.now());
      }
    })();
    await clock.advance(300);
    await work;
    expect(stamps).toEqual([100, 200, 300]);
  });

  it('rejects a sleep at once on abort and leaves no timer', async () => {
    const clock = createVirtualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    expect(clock.pending()).toBe(1);
    controller.abort();
    await expect(sleeping).rejects.toBeInstanceOf(AbortedError);
    expect(clock.pending()).toBe(0);
    await expect(clock.sleep(1, controller.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it('counts the timers that would keep a process alive apart from the others', async () => {
    const clock = createVirtualClock();
    const cancelHousekeeping = clock.setTimer(50, () => {}, { ref: false });
    clock.setTimer(10, () => {});
    const sleeping = clock.sleep(20);
    expect(clock.pending()).toBe(3);
    expect(clock.pending({ ref: true })).toBe(2);
    expect(clock.pending({ ref: false })).toBe(1);
    await clock.advance(20);
    await sleeping;
    expect(clock.pending({ ref: true })).toBe(0);
    cancelHousekeeping();
    expect(clock.pending({ ref: false })).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('cancels timers', async () => {
    const clock = createVirtualClock();
    let fired = false;
    const cancel = clock.setTimer(5, () => (fired = true));
    cancel();
    await clock.advance(10);
    expect(fired).toBe(false);
  });

  it('runs thousands of concurrent sleepers to completion in virtual time', async () => {
    const clock = createVirtualClock();
    const sleepers = Array.from({ length: 5000 }, (_, index) =>
      clock.sleep((index % 100) * 10).then(() => clock.now()),
    );
    const ends = await clock.run(Promise.all(sleepers));
    expect(Math.max(...ends)).toBe(990);
    expect(clock.now()).toBe(990);
  });

  it('says when work waits on nothing that the clock controls', async () => {
    const clock = createVirtualClock();
    await expect(clock.run(new Promise(() => {}))).rejects.toThrow(/no timer is pending/);
  });
});
