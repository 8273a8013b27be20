import type { BreakerStoreV1 } from '@bulwark/breaker';
import type { PluginInstanceMap, PluginKind, PluginRegistry, StoreKind } from '@bulwark/core';
import type { LimiterStoreV1 } from '@bulwark/limiter';
import type { SpendStoreV1 } from '@bulwark/usage';
import { describe, expectTypeOf, it } from 'vitest';
import { breakerStorePlugin, limiterStorePlugin, spendStorePlugin } from './plugin.js';

describe('store plugin kinds', () => {
  it('are plugin kinds typed by the package that defines each contract', () => {
    expectTypeOf<StoreKind>().toExtend<PluginKind>();
    expectTypeOf<PluginInstanceMap['limiter-store']>().toEqualTypeOf<LimiterStoreV1>();
    expectTypeOf<PluginInstanceMap['breaker-store']>().toEqualTypeOf<BreakerStoreV1>();
    expectTypeOf<PluginInstanceMap['spend-store']>().toEqualTypeOf<SpendStoreV1>();
    expectTypeOf<ReturnType<PluginRegistry['create']>>().toEqualTypeOf<
      Promise<PluginInstanceMap[PluginKind]>
    >();
  });

  it('has one redis plugin per kind, each creating the store of its kind', () => {
    expectTypeOf(limiterStorePlugin.kind).toEqualTypeOf<'limiter-store'>();
    expectTypeOf(breakerStorePlugin.kind).toEqualTypeOf<'breaker-store'>();
    expectTypeOf(spendStorePlugin.kind).toEqualTypeOf<'spend-store'>();
    expectTypeOf(limiterStorePlugin.create).returns.toExtend<LimiterStoreV1 | Promise<LimiterStoreV1>>();
    expectTypeOf(breakerStorePlugin.create).returns.toExtend<BreakerStoreV1 | Promise<BreakerStoreV1>>();
    expectTypeOf(spendStorePlugin.create).returns.toExtend<SpendStoreV1 | Promise<SpendStoreV1>>();
  });
});
