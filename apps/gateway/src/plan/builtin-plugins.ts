import type { PluginDescriptor } from '@bulwark/core';

/**
 * Plugins that ship with the gateway, taken from each package's exported `plugin` / `plugins`.
 * A config refers to them by name with no `plugins:` entry.
 */
export const builtinPlugins: readonly PluginDescriptor[] = [];
