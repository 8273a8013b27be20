import { plugin as breakerPlugin } from '@bulwark/breaker';
import { plugin as cachePlugin } from '@bulwark/cache';
import { plugin as memoryCachePlugin } from '@bulwark/cache-memory';
import type { PluginDescriptor } from '@bulwark/core';
import { plugin as hedgePlugin } from '@bulwark/hedge';
import { plugin as limiterPlugin } from '@bulwark/limiter';
import { plugin as anthropicProviderPlugin } from '@bulwark/provider-anthropic';
import { plugin as mockProviderPlugin } from '@bulwark/provider-mock';
import { plugin as openAIProviderPlugin } from '@bulwark/provider-openai';
import { plugin as retryPlugin } from '@bulwark/retry';
import { plugins as timeoutPlugins } from '@bulwark/timeout';
import { plugins as usagePlugins } from '@bulwark/usage';

/**
 * Plugins that ship with the gateway, taken from each package's exported `plugin` / `plugins`.
 * A config refers to them by name with no `plugins:` entry.
 */
export const builtinPlugins: readonly PluginDescriptor[] = [
  openAIProviderPlugin,
  anthropicProviderPlugin,
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
