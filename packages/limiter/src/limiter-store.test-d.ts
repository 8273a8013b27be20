import type {
  MaybePromise,
  PluginContext,
  PluginDescriptor,
  PluginInstanceMap,
  StoreBaseV1,
  StoreInstance,
} from '@bulwark/core';
import { describe, expectTypeOf, it } from 'vitest';
import type { LimiterStoreV1 } from './index.js';

declare const context: PluginContext;

describe('the limiter-store plugin kind, once @bulwark/limiter is loaded', () => {
  it('maps the kind to LimiterStoreV1 in the plugin instance map (declaration merging)', () => {
    expectTypeOf<PluginInstanceMap['limiter-store']>().toEqualTypeOf<LimiterStoreV1>();
    expectTypeOf<StoreInstance<'limiter-store'>>().toEqualTypeOf<LimiterStoreV1>();
    expectTypeOf<LimiterStoreV1>().toExtend<StoreBaseV1>();
    // Kinds owned by packages this one does not load keep the base contract.
    expectTypeOf<PluginInstanceMap['spend-store']>().toEqualTypeOf<StoreBaseV1>();
  });

  it('types what create returns and what a plugin context creates', () => {
    expectTypeOf<PluginDescriptor<'limiter-store'>['create']>().returns.toEqualTypeOf<
      MaybePromise<LimiterStoreV1>
    >();
    expectTypeOf(
      context.create('limiter-store', 'redis', {}, 'limiter.store'),
    ).resolves.toEqualTypeOf<LimiterStoreV1>();
  });

  it('refuses a limiter-store plugin whose instance lacks the store methods', () => {
    const incomplete: PluginDescriptor<'limiter-store', Record<string, never>> = {
      specificationVersion: 'v1',
      kind: 'limiter-store',
      name: 'incomplete',
      configSchema: {
        '~standard': { version: 1, vendor: 'test', validate: () => ({ value: {} }) },
      },
      // @ts-expect-error acquire, adjust and pause are missing
      create: () => ({ specificationVersion: 'v1' as const, name: 'incomplete' }),
    };
    expectTypeOf(incomplete.kind).toEqualTypeOf<'limiter-store'>();
  });
});
