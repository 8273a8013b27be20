import type { CacheBackendV1 } from '../cache/cache-backend.js';
import type { Clock } from '../clock/clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { MiddlewareV1 } from '../middleware/middleware.js';
import type { MaybePromise, ProviderV1 } from '../provider.js';
import type { RoutingStrategyV1 } from '../routing/routing-strategy.js';
import type { ModelAlias } from '../routing/target.js';
import type { Logger } from '../util/logger.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** What every store plugin instance has, whatever its kind. */
export interface StoreBaseV1 {
  readonly specificationVersion: 'v1';
  /** Releases connections the store opened itself. */
  close?(): MaybePromise<void>;
}

/**
 * The contract of each store kind, added by the package that defines it through declaration merging:
 * `@bulwark/limiter` adds `'limiter-store': LimiterStoreV1`, `@bulwark/breaker` adds
 * `'breaker-store': BreakerStoreV1` and `@bulwark/usage` adds `'spend-store': SpendStoreV1`. Core
 * knows the kinds; the middleware that uses a store owns its contract.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging (see above)
export interface StoreContractMap {}

/** The store plugin kinds: state a middleware keeps, in this process or shared (Redis). */
export type StoreKind = 'limiter-store' | 'breaker-store' | 'spend-store';

/** `StoreContractMap[K]` once the package defining the kind is loaded; `StoreBaseV1` before. */
export type StoreInstance<K extends StoreKind> = K extends keyof StoreContractMap
  ? StoreContractMap[K]
  : StoreBaseV1;

/** What each plugin kind creates. */
export interface PluginInstanceMap {
  provider: ProviderV1;
  cache: CacheBackendV1;
  middleware: MiddlewareV1;
  routing: RoutingStrategyV1;
  /** A rate-limiter store (`LimiterStoreV1` of `@bulwark/limiter`). */
  'limiter-store': StoreInstance<'limiter-store'>;
  /** A circuit-breaker store (`BreakerStoreV1` of `@bulwark/breaker`). */
  'breaker-store': StoreInstance<'breaker-store'>;
  /** A spend-counter store for budgets (`SpendStoreV1` of `@bulwark/usage`). */
  'spend-store': StoreInstance<'spend-store'>;
}

export type PluginKind = keyof PluginInstanceMap;

/** A provider as the host configured it, for plugins that need one (see `PluginContext.providers`). */
export interface ConfiguredProvider {
  readonly instance: ProviderV1;
  /** The provider plugin's name (`openai`, `anthropic`…). */
  readonly plugin: string;
  /**
   * The provider's limits as the host config declares them beside the provider (`rpm`, `tpm`,
   * `concurrency`…), for the limiter; undefined when none are set.
   */
  readonly limits?: Readonly<Record<string, unknown>>;
}

/** What an optional `ready()` reports: a bare boolean, or the verdict with a reason to show. */
export type Readiness = boolean | { ready: boolean; reason?: string };

/**
 * An optional capability of any plugin instance (provider, cache backend, middleware, store): whether it
 * can serve now, e.g. a Redis-backed store whose client is connected and answers `PING`. Hosts ask every
 * instance that has it (the gateway's `/readyz` is the conjunction, with the reasons of those that are
 * not ready); instances without it count as ready. Keep it cheap and bounded in time (a second at most),
 * never throw (a rejection counts as not ready, with its message as the reason), and never put a secret
 * in the reason.
 */
export interface ReadyCapability {
  ready?(): MaybePromise<Readiness>;
}

/** Services a plugin's `create` receives besides its validated config. */
export interface PluginContext {
  /** The instance name the config gave it (e.g. the provider key `main`). */
  name: string;
  /** Where its config sits, for error messages (`providers.main`). */
  path: string;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  /** Creates another plugin (a middleware that needs a store, say). */
  create<K extends PluginKind>(
    kind: K,
    plugin: string,
    config: unknown,
    path: string,
  ): Promise<PluginInstanceMap[K]>;
  /**
   * The providers the host configured, by the name targets use (the gateway creates them before any
   * middleware). Absent in a registry created without them. A semantic cache resolves its embeddings
   * provider here; the limiter reads each provider's `limits`.
   */
  providers?: ReadonlyMap<string, ConfiguredProvider>;
  /** The model aliases the host configured (alias → targets). Absent in a registry created without them. */
  models?: Readonly<Record<string, ModelAlias>>;
}

/**
 * A plugin (version 1 of the contract): a kind, a name, a config schema and a factory. Export it
 * from your package as `plugin` (or a `plugins` array) so `registry.load('your-package')` finds it.
 */
// `any` by default so descriptors with different config types fit one `PluginDescriptor[]` (a config
// parameter is contravariant: `unknown` would reject them all).
// biome-ignore lint/suspicious/noExplicitAny: see above
export interface PluginDescriptor<K extends PluginKind = PluginKind, Config = any> {
  readonly specificationVersion: 'v1';
  readonly kind: K;
  /** The name configs refer to (`openai`, `redis`, `breaker`…); unique per kind. */
  readonly name: string;
  /** The npm package that provides it, for error messages. */
  readonly packageName?: string;
  /**
   * The `@bulwark/core` versions this plugin was built for, as an npm range (`'^0.1.0'`); usually the
   * package's peer range of core. Registration refuses the plugin when the loaded core is outside it,
   * naming both versions, instead of failing later on a changed contract.
   */
  readonly coreRange?: string;
  readonly description?: string;
  readonly configSchema: StandardSchemaV1<unknown, Config>;
  create(config: Config, context: PluginContext): MaybePromise<PluginInstanceMap[K]>;
}

export type Plugin = PluginDescriptor;
