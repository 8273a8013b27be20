import {
  type CallContext,
  type Clock,
  createEventBus,
  type EventBus,
  type Logger,
  silentLogger,
  systemClock,
} from '@bulwark/core';

/** Options of `createTestCallContext`. */
export interface TestCallContextOptions {
  /** Abort signal of the call. Default: one that never aborts. */
  signal?: AbortSignal;
  /** Whether the call streams. Default false. */
  stream?: boolean;
  /** Sets `context.target` to this provider and model, as the router does below it. */
  target?: { provider: string; model: string };
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: a fresh event bus. */
  events?: EventBus;
  /** Default: a logger that drops everything. */
  logger?: Logger;
}

let counter = 0;

/** A complete `CallContext` for calling a provider directly in a test, without `createBulwark`. */
export function createTestCallContext(options: TestCallContextOptions = {}): CallContext {
  counter += 1;
  return {
    callId: `test-call-${counter}`,
    signal: options.signal ?? new AbortController().signal,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    events: options.events ?? createEventBus(),
    metadata: {},
    stream: options.stream ?? false,
    ...(options.target === undefined ? {} : { target: options.target }),
    trail: [],
    state: new Map(),
  };
}
