import { plugin as breakerPlugin } from '@bulwark/breaker';
import { plugin as cachePlugin } from '@bulwark/cache';
import { plugin as memoryCachePlugin } from '@bulwark/cache-memory';
import type { PluginDescriptor } from '@bulwark/core';
import { plugin as hedgePlugin } from '@bulwark/hedge';
import { plugin as limiterPlugin } from '@bulwark/limiter';
import { plugin as mockProviderPlugin } from '@bulwark/provider-mock';
import { plugin as retryPlugin } from '@bulwark/retry';
import { plugins as timeoutPlugins } from '@bulwark/timeout';
import { plugins as usagePlugins } from '@bulwark/usage';

/**
 * Plugins that ship with the gateway, taken from each package's exported `plugin` / `plugins`.
 * A config refers to them by name with no `plugins:` entry. The SDK providers are not among them: see
 * `lazyBuiltinProviders`.
 */
export const builtinPlugins: readonly PluginDescriptor[] = [
  mockProviderPlugin,
  retryPlugin,
  hedgePlugin,
  breakerPlugin,
  limiterPlugin,
  ...timeoutPlugins,
  cachePlugin,
  memoryCachePlugin,
  ...usagePlugins,
];

/**
 * Providers that ship with the gateway but are imported only when a config names them (from
 * `@bulwark/provider-<name>`, their conventional package), so their SDKs (`openai`, `@anthropic-ai/sdk`)
 * stay optional peers: a config using only the mock or a third-party provider runs without them.
 */
export const lazyBuiltinProviders: readonly string[] = ['openai', 'anthropic'];
