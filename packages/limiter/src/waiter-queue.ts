import type { CallContext } from '@bulwark/core';

/** A caller waiting for capacity. */
export interface Waiter {
  readonly priority: number;
  readonly costs: readonly number[];
  readonly context: CallContext;
  readonly enqueuedAt: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  /** Detaches the max-wait timer and the abort listener. */
  cleanup: () => void;
}

interface Bucket {
  priority: number;
  items: Waiter[];
  /** Sum of the queued costs per dimension, for wait estimates. */
  costSums: number[];
}

/**
 * Waiters by priority (higher first), FIFO within a priority. Removal of any waiter (abort, max wait)
 * is immediate, so an aborted caller never holds a place in line.
 */
export class WaiterQueue {
  private readonly buckets: Bucket[] = [];
  private count = 0;

  constructor(private readonly dimensionCount: number) {}

  get size(): number {
    return this.count;
  }

  push(waiter: Waiter): void {
    let index = 0;
    while (index < this.buckets.length && this.buckets[index]!.priority > waiter.priority) index += 1;
    let bucket = this.buckets[index];
    if (!bucket || bucket.priority !== waiter.priority) {
      bucket = { priority: waiter.priority, items: [], costSums: new Array(this.dimensionCount).fill(0) };
      this.buckets.splice(index, 0, bucket);
    }
    bucket.items.push(waiter);
    for (let dimension = 0; dimension < this.dimensionCount; dimension += 1) {
      bucket.costSums[dimension]! += waiter.costs[dimension] ?? 0;
    }
    this.count += 1;
  }

  peek(): Waiter | undefined {
    return this.buckets[0]?.items[0];
  }

  /** Removes `waiter`; false when it was not queued (already admitted or removed). */
  remove(waiter: Waiter): boolean {
    for (let index = 0; index < this.buckets.length; index += 1) {
      const bucket = this.buckets[index]!;
      if (bucket.priority !== waiter.priority) continue;
      const position = bucket.items.indexOf(waiter);
      if (position < 0) return false;
      bucket.items.splice(position, 1);
      for (let dimension = 0; dimension < this.dimensionCount; dimension += 1) {
        bucket.costSums[dimension]! -= waiter.costs[dimension] ?? 0;
      }
      if (bucket.items.length === 0) this.buckets.splice(index, 1);
      this.count -= 1;
      return true;
    }
    return false;
  }

  /** Number of waiters and their summed cost on `dimension` that go before a newcomer of `priority`. */
  ahead(priority: number, dimension: number): { count: number; cost: number } {
    let count = 0;
    let cost = 0;
    for (const bucket of this.buckets) {
      if (bucket.priority < priority) break;
      count += bucket.items.length;
      cost += bucket.costSums[dimension] ?? 0;
    }
    return { count, cost };
  }

  /** Removes and returns every waiter (for `close`). */
  drain(): Waiter[] {
    const all = this.buckets.flatMap((bucket) => bucket.items);
    this.buckets.length = 0;
    this.count = 0;
    return all;
  }
}
