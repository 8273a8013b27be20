import {
  type BulwarkEventMap,
  type ChatRequest,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type EventName,
  type MiddlewareV1,
  type ModelAlias,
  type ProviderV1,
  type StreamEvent,
  type Target,
  type VirtualClock,
} from '@bulwark/core';

/** A request for the alias `smart` (the one every scenario configures) with one user message. */
export function userRequest(content: string, model = 'smart'): ChatRequest {
  return { model, messages: [{ role: 'user', content }] };
}

/** Options of one scenario. */
export interface ScenarioOptions {
  /** Start time of the virtual clock (ms). Default 0. */
  start?: number;
  /**
   * What the alias `smart` points at. Default: every provider in the order given, each with the model
   * `<name>-model`.
   */
  alias?: ModelAlias | Target[];
}

/** One event the scenario's bus emitted, with the virtual time it was emitted at. */
export interface ScenarioLogEntry {
  name: EventName;
  at: number;
  payload: unknown;
}

/**
 * Makes a `scenario(middleware, providers, options)` function for a provider factory, e.g.
 * `createScenario(createMockProvider)`. The factory gets each provider's options with its `name` and
 * the scenario's `clock`. (Testkit takes the factory rather than importing a provider package, so the
 * provider packages' own tests can use testkit without a dependency cycle.)
 */
export function createScenario<
  Factory extends (options: { name: string; clock: VirtualClock }) => ProviderV1,
>(createProvider: Factory) {
  type Options = Omit<NonNullable<Parameters<Factory>[0]>, 'clock' | 'name'>;
  /**
   * A Bulwark client on a virtual clock with the given providers (alias `smart` tries them in order,
   * unless `options.alias` says otherwise) and a log of every event.
   */
  return function scenario(
    middleware: MiddlewareV1[],
    providers: Record<string, Omit<Options, 'clock' | 'name'>> = {
      primary: {} as Omit<Options, 'clock' | 'name'>,
    },
    options: ScenarioOptions = {},
  ) {
    const clock = createVirtualClock(options.start ?? 0);
    const events = createEventBus();
    const mocks: Record<string, ReturnType<Factory>> = {};
    for (const [name, config] of Object.entries(providers))
      mocks[name] = createProvider({ ...config, name, clock }) as ReturnType<Factory>;
    const alias =
      options.alias ?? Object.keys(providers).map((name) => ({ provider: name, model: `${name}-model` }));
    const bulwark = createBulwark({ providers: mocks, models: { smart: alias }, middleware, clock, events });
    const log: ScenarioLogEntry[] = [];
    events.onAny((name, payload) => log.push({ name, at: clock.now(), payload }));
    /** The payloads of the events named `name`, in order, each with the time it was emitted (`at`). */
    const eventsNamed = <K extends EventName>(name: K) =>
      log
        .filter((entry) => entry.name === name)
        .map((entry) => ({ ...(entry.payload as BulwarkEventMap[K]), at: entry.at }));
    return { clock, bulwark, mocks, events, log, eventsNamed };
  };
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
