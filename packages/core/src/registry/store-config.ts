import { ConfigError } from '../errors/errors.js';
import type { PluginContext, PluginInstanceMap, StoreKind } from './plugin.js';

/**
 * A middleware's `store:` setting, the same for every store kind: the store plugin and that plugin's
 * options (`store: { plugin: redis, url: "redis://…", prefix: "myapp:" }`).
 */
export interface StoreConfig {
  /** `memory` (this process, the default) or a store plugin of the kind the middleware needs. */
  plugin: string;
  [option: string]: unknown;
}

/**
 * Creates the store a middleware plugin's `store:` names, through the registry by kind, at
 * `<path>.store`. Answers `undefined` for `memory` or no `store`: the middleware then keeps its own
 * in-process store. The memory store takes no options, so a `url` next to `plugin: memory` is an error
 * rather than a silently unshared store.
 */
export async function createConfiguredStore<K extends StoreKind>(
  context: PluginContext,
  kind: K,
  config: StoreConfig | undefined,
): Promise<PluginInstanceMap[K] | undefined> {
  const path = `${context.path}.store`;
  if (config === undefined) return undefined;
  const { plugin, ...options } = config;
  if (plugin === 'memory') {
    const extra = Object.keys(options);
    if (extra.length > 0) {
      throw new ConfigError({
        path: `${path}.${extra[0]}`,
        message: `${path}: the memory store takes no options (got ${extra.join(', ')}); did you mean another plugin?`,
      });
    }
    return undefined;
  }
  return context.create(kind, plugin, options, path);
}
