import {
  type BulwarkEventMap,
  type ChatRequest,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type EventName,
  type MiddlewareV1,
  type StreamEvent,
} from '@bulwark/core';
import { createMockProvider, type MockProvider, type MockProviderOptions } from '@bulwark/provider-mock';

export const ask: ChatRequest = {
  model: 'smart',
  messages: [{ role: 'user', content: 'Tell me about timeouts' }],
};

/** A Bulwark client on a virtual clock; alias `smart` walks the given mock providers in order. */
export function scenario(
  middleware: MiddlewareV1[],
  providers: Record<string, Omit<MockProviderOptions, 'clock' | 'name'>> = { primary: {} },
) {
  const clock = createVirtualClock();
  const events = createEventBus();
  const mocks: Record<string, MockProvider> = {};
  for (const [name, config] of Object.entries(providers))
    mocks[name] = createMockProvider({ ...config, name, clock });
  const bulwark = createBulwark({
    providers: mocks,
    models: { smart: Object.keys(providers).map((name) => ({ provider: name, model: `${name}-model` })) },
    middleware,
    clock,
    events,
  });
  const log: Array<{ name: EventName; payload: unknown }> = [];
  events.onAny((name, payload) => log.push({ name, payload }));
  const eventsNamed = <K extends EventName>(name: K) =>
    log.filter((entry) => entry.name === name).map((entry) => entry.payload as BulwarkEventMap[K]);
  return { clock, bulwark, mocks, eventsNamed };
}

/** Settles a promise into `{ value }` or `{ error }`. */
// biome-ignore lint/suspicious/noExplicitAny: assertions read fields of several error classes
export async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: any }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/** Reads a stream to its end or its error. */
export async function drain(
  events: AsyncIterable<StreamEvent>,
  // biome-ignore lint/suspicious/noExplicitAny: assertions read fields of several error classes
): Promise<{ seen: StreamEvent[]; error?: any }> {
  const seen: StreamEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
    return { seen };
  } catch (error) {
    return { seen, error };
  }
}
