import {
  type BulwarkEventMap,
  type ChatRequest,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type EventName,
  type MiddlewareV1,
  type ModelAlias,
  type Target,
} from '@bulwark/core';
import { createMockProvider, type MockProvider, type MockProviderOptions } from '@bulwark/provider-mock';

export const ask: ChatRequest = {
  model: 'smart',
  messages: [{ role: 'user', content: 'What is a circuit breaker?' }],
};

/**
 * A Bulwark client on a virtual clock with mock providers `primary` and `secondary` (alias `smart`
 * tries them in that order) and an event log.
 */
export function scenario(
  middleware: MiddlewareV1[],
  providers: Record<string, Omit<MockProviderOptions, 'clock' | 'name'>> = { primary: {} },
  options: { start?: number; alias?: ModelAlias | Target[] } = {},
) {
  const clock = createVirtualClock(options.start ?? 0);
  const events = createEventBus();
  const mocks: Record<string, MockProvider> = {};
  for (const [name, config] of Object.entries(providers))
    mocks[name] = createMockProvider({ ...config, name, clock });
  const alias =
    options.alias ?? Object.keys(providers).map((name) => ({ provider: name, model: `${name}-model` }));
  const bulwark = createBulwark({ providers: mocks, models: { smart: alias }, middleware, clock, events });
  const log: Array<{ name: EventName; at: number; payload: unknown }> = [];
  events.onAny((name, payload) => log.push({ name, at: clock.now(), payload }));
  const eventsNamed = <K extends EventName>(name: K) =>
    log
      .filter((entry) => entry.name === name)
      .map((entry) => ({ ...(entry.payload as BulwarkEventMap[K]), at: entry.at }));
  return { clock, bulwark, mocks, events, log, eventsNamed };
}

/** Settles a promise into `{ value }` or `{ error }` so tests can assert on either. */
// biome-ignore lint/suspicious/noExplicitAny: assertions read fields of several error classes
export async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: any }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}
