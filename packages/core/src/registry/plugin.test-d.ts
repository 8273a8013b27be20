import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type {
  CacheBackendV1,
  InferOutput,
  MaybePromise,
  MiddlewareV1,
  PluginContext,
  PluginDescriptor,
  PluginInstanceMap,
  PluginKind,
  PluginRegistry,
  ProviderV1,
  RoutingStrategyV1,
  StoreBaseV1,
  StoreInstance,
  StoreKind,
} from '../index.js';

declare const provider: ProviderV1;
declare const cache: CacheBackendV1;

const retryConfigSchema = z.object({ maxAttempts: z.number().int(), jitter: z.boolean().default(true) });
type RetryConfig = z.output<typeof retryConfigSchema>;

describe('PluginInstanceMap', () => {
  it('maps each kind to the contract its instances implement', () => {
    expectTypeOf<PluginInstanceMap['provider']>().toEqualTypeOf<ProviderV1>();
    expectTypeOf<PluginInstanceMap['cache']>().toEqualTypeOf<CacheBackendV1>();
    expectTypeOf<PluginInstanceMap['middleware']>().toEqualTypeOf<MiddlewareV1>();
    expectTypeOf<PluginInstanceMap['routing']>().toEqualTypeOf<RoutingStrategyV1>();
  });

  it('makes its keys the plugin kinds', () => {
    expectTypeOf<PluginKind>().toEqualTypeOf<keyof PluginInstanceMap>();
    expectTypeOf<PluginKind>().toEqualTypeOf<
      'provider' | 'cache' | 'middleware' | 'routing' | 'limiter-store' | 'breaker-store' | 'spend-store'
    >();
    // @ts-expect-error not a plugin kind
    const unknownKind: PluginKind = 'transport';
    expectTypeOf(unknownKind).toEqualTypeOf<PluginKind>();
  });

  it('gives a store kind only the base store contract until the package that owns the kind is loaded', () => {
    expectTypeOf<StoreKind>().toEqualTypeOf<'limiter-store' | 'breaker-store' | 'spend-store'>();
    // Core alone: no package has added its contract to StoreContractMap (see @bulwark/limiter's type test).
    expectTypeOf<PluginInstanceMap['limiter-store']>().toEqualTypeOf<StoreBaseV1>();
    expectTypeOf<StoreInstance<'spend-store'>>().toEqualTypeOf<StoreBaseV1>();
    expectTypeOf<StoreBaseV1['specificationVersion']>().toEqualTypeOf<'v1'>();
    // @ts-expect-error a store instance must say which contract version it implements
    const unversioned: PluginInstanceMap['breaker-store'] = {};
    expectTypeOf(unversioned).toEqualTypeOf<StoreBaseV1>();
  });
});

describe('PluginDescriptor', () => {
  it('infers the instance type of create from the kind', () => {
    expectTypeOf<PluginDescriptor<'provider'>['create']>().returns.toEqualTypeOf<MaybePromise<ProviderV1>>();
    expectTypeOf<PluginDescriptor<'cache'>['create']>().returns.toEqualTypeOf<MaybePromise<CacheBackendV1>>();
    expectTypeOf<PluginDescriptor<'middleware'>['create']>().returns.toEqualTypeOf<
      MaybePromise<MiddlewareV1>
    >();
    expectTypeOf<PluginDescriptor<'provider'>['kind']>().toEqualTypeOf<'provider'>();
  });

  it('refuses a create that returns another kind’s instance', () => {
    const wrongInstance: PluginDescriptor<'provider', RetryConfig> = {
      specificationVersion: 'v1',
      kind: 'provider',
      name: 'wrong',
      configSchema: retryConfigSchema,
      // @ts-expect-error a cache backend is not a provider
      create: () => cache,
    };
    const wrongKind: PluginDescriptor<'provider', RetryConfig> = {
      specificationVersion: 'v1',
      // @ts-expect-error the kind literal must match the type parameter
      kind: 'cache',
      name: 'wrong',
      configSchema: retryConfigSchema,
      create: () => provider,
    };
    expectTypeOf(wrongInstance).toEqualTypeOf(wrongKind);
  });

  it('infers the config type create receives from the schema’s output', () => {
    expectTypeOf<InferOutput<typeof retryConfigSchema>>().toEqualTypeOf<{
      maxAttempts: number;
      jitter: boolean;
    }>();
    const descriptor: PluginDescriptor<'provider', InferOutput<typeof retryConfigSchema>> = {
      specificationVersion: 'v1',
      kind: 'provider',
      name: 'typed',
      configSchema: retryConfigSchema,
      create(config) {
        expectTypeOf(config).toEqualTypeOf<{ maxAttempts: number; jitter: boolean }>();
        // @ts-expect-error not in the schema
        config.baseURL;
        return provider;
      },
    };
    expectTypeOf(descriptor.configSchema['~standard'].validate).returns.toExtend<
      MaybePromise<{ readonly value: RetryConfig } | { readonly issues: ReadonlyArray<unknown> }>
    >();
  });

  it('refuses a schema whose output is not the declared config', () => {
    const mismatched: PluginDescriptor<'provider', { apiKey: string }> = {
      specificationVersion: 'v1',
      kind: 'provider',
      name: 'mismatched',
      // @ts-expect-error the schema produces RetryConfig, not { apiKey }
      configSchema: retryConfigSchema,
      create: () => provider,
    };
    expectTypeOf(mismatched.create).parameter(0).toEqualTypeOf<{ apiKey: string }>();
  });

  it('lets descriptors with different configs share one list', () => {
    const retry = {} as PluginDescriptor<'middleware', RetryConfig>;
    const openai = {} as PluginDescriptor<'provider', { apiKey: string }>;
    const all: PluginDescriptor[] = [retry, openai];
    expectTypeOf(all).items.toEqualTypeOf<PluginDescriptor>();
  });
});

describe('creating instances by kind', () => {
  it('types what the registry and a plugin context create by the kind asked for', () => {
    const registry = {} as PluginRegistry;
    expectTypeOf(
      registry.create('provider', 'openai', {}, 'providers.main'),
    ).resolves.toEqualTypeOf<ProviderV1>();
    expectTypeOf(
      registry.create('cache', 'memory', {}, 'cache.backend'),
    ).resolves.toEqualTypeOf<CacheBackendV1>();
    expectTypeOf(registry.get('middleware', 'retry')).toEqualTypeOf<PluginDescriptor<'middleware'>>();
    const context = {} as PluginContext;
    expectTypeOf(
      context.create('routing', 'weighted', {}, 'routing'),
    ).resolves.toEqualTypeOf<RoutingStrategyV1>();
    // @ts-expect-error not a plugin kind
    context.create('transport', 'node', {}, 'transport');
  });
});
