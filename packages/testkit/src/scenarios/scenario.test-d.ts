import type { Bulwark, BulwarkEventMap, MiddlewareV1, VirtualClock } from '@bulwark/core';
import { describe, expectTypeOf, it } from 'vitest';
import { createScenario } from './scenario.js';
import {
  createScriptedProvider,
  type ScriptedProvider,
  type ScriptedProviderOptions,
} from './scripted-provider.js';

declare const middleware: MiddlewareV1[];

describe('createScenario', () => {
  const scenario = createScenario(createScriptedProvider);

  it('infers the provider options and the provider type from the factory', () => {
    expectTypeOf(scenario)
      .parameter(1)
      .toEqualTypeOf<Record<string, Omit<ScriptedProviderOptions, 'clock' | 'name'>> | undefined>();
    const { mocks, clock, bulwark } = scenario(middleware, { primary: { steps: [{ latencyMs: 5 }] } });
    expectTypeOf(mocks).toEqualTypeOf<Record<string, ScriptedProvider>>();
    expectTypeOf(clock).toEqualTypeOf<VirtualClock>();
    expectTypeOf(bulwark).toEqualTypeOf<Bulwark>();
  });

  it('refuses options the factory does not take, and the name and clock it sets itself', () => {
    // @ts-expect-error not an option of the scripted provider
    scenario(middleware, { primary: { latency: 5 } });
    // @ts-expect-error the scenario names each provider after its key
    scenario(middleware, { primary: { name: 'other' } });
  });

  it('types the events by name, with the time they were emitted', () => {
    const { eventsNamed } = scenario(middleware);
    expectTypeOf(eventsNamed('retry:scheduled')).items.toEqualTypeOf<
      BulwarkEventMap['retry:scheduled'] & { at: number }
    >();
    // @ts-expect-error no such event
    eventsNamed('retry:started');
  });
});
