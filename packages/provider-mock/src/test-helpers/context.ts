import { type CallContext, type Clock, createEventBus, silentLogger } from '@bulwark/core';

/** A call context on `clock` with its own abort controller, as createBulwark would build it. */
export function createTestContext(clock: Clock, controller = new AbortController()): CallContext {
  return {
    callId: 'test-call',
    signal: controller.signal,
    clock,
    logger: silentLogger,
    events: createEventBus(),
    metadata: {},
    stream: false,
    trail: [],
    state: new Map(),
  };
}
