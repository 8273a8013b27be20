import type { CacheBackendV1 } from '../cache/cache-backend.js';
import type { Clock } from '../clock/clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { MiddlewareV1 } from '../middleware/middleware.js';
import type { MaybePromise, ProviderV1 } from '../provider.js';
import type { RoutingStrategyV1 } from '../routing/routing-strategy.js';
import type { Logger } from '../util/logger.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** What each plugin kind creates. `store` is free-form state storage (breaker, limiter, budget stores). */
export interface PluginInstanceMap {
  provider: ProviderV1;
  cache: CacheBackendV1;
  middleware: MiddlewareV1;
  store: unknown;
  routing: RoutingStrategyV1;
}

export type PluginKind = keyof PluginInstanceMap;

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
  /** The name configs refer to (`openai`, `redis`, `breaker`…). */
  readonly name: string;
  /** The npm package that provides it, for error messages. */
  readonly packageName?: string;
  readonly description?: string;
  readonly configSchema: StandardSchemaV1<unknown, Config>;
  create(config: Config, context: PluginContext): MaybePromise<PluginInstanceMap[K]>;
}

export type Plugin = PluginDescriptor;
