import {
  BulwarkError,
  ConfigError,
  type MiddlewareV1,
  middlewareLevel,
  type PluginRegistry,
  type RoutingStrategyV1,
  stageOrder,
} from '@bulwark/core';
import type { GatewayConfig } from '../config/config-schema.js';

/**
 * The middleware sections of the config: shorthand for entries of `middleware:`, with the plugins each
 * expands to (the `timeout` section serves both plugins of `@bulwark/timeout`, whose schemas share its
 * keys). `defaultOn` sections run with their plugins' defaults when absent from the config (and when the
 * plugin is installed); the others only when configured.
 */
export const middlewareSections = [
  { section: 'usage', plugins: ['usage'], defaultOn: true },
  { section: 'cache', plugins: ['cache'], defaultOn: true },
  { section: 'budget', plugins: ['budget'], defaultOn: false },
  { section: 'timeout', plugins: ['deadline', 'timeout'], defaultOn: true },
  { section: 'retry', plugins: ['retry'], defaultOn: true },
  { section: 'hedge', plugins: ['hedge'], defaultOn: false },
  { section: 'breaker', plugins: ['breaker'], defaultOn: true },
  { section: 'limiter', plugins: ['limiter'], defaultOn: true },
] as const;

export type MiddlewareSection = (typeof middlewareSections)[number]['section'];

/** One middleware to create: where the config wrote it (a section or `middleware[i]`), the plugin and its config. */
export interface MiddlewareEntry {
  section: string;
  /** Where its config sits, for error messages (`retry`, `middleware[0].config`). */
  path: string;
  plugin: string;
  config: unknown;
}

/** A created middleware, with where it came from (for `check-config`). */
export interface CreatedMiddleware extends MiddlewareEntry {
  instance: MiddlewareV1;
}

/**
 * The `middleware:` list with the sections expanded into it: the list's entries first, then the
 * sections in the order above (the order only breaks ties between plugins of one stage). A default-on section gives way to a list entry naming the same plugin; a section
 * configured as well as listed is an error.
 */
export function expandMiddleware(
  config: GatewayConfig,
  registry: PluginRegistry,
  skipped: Array<{ section: string; reason: string }>,
): MiddlewareEntry[] {
  const listed = new Map<string, string>();
  for (const [index, entry] of config.middleware.entries()) {
    if (!listed.has(entry.plugin)) listed.set(entry.plugin, `middleware[${index}]`);
  }
  const entries: MiddlewareEntry[] = [];
  for (const [index, entry] of config.middleware.entries()) {
    entries.push({
      section: `middleware[${index}]`,
      path: `middleware[${index}].config`,
      plugin: entry.plugin,
      config: entry.config ?? {},
    });
  }
  for (const { section, plugins, defaultOn } of middlewareSections) {
    const value = config[section];
    if (value === false) {
      skipped.push({ section, reason: 'switched off in the config' });
      continue;
    }
    if (value === undefined && !defaultOn) continue;
    for (const plugin of plugins) {
      const listedAt = listed.get(plugin);
      if (listedAt !== undefined) {
        if (value === undefined) continue;
        throw new ConfigError({
          path: section,
          message: `${section}: plugin "${plugin}" is also configured at ${listedAt}; configure it once (the section or the list entry)`,
        });
      }
      if (value === undefined && !registry.has('middleware', plugin) && !registry.has('routing', plugin)) {
        skipped.push({ section, reason: `plugin "${plugin}" is not installed` });
        continue;
      }
      entries.push({ section, path: section, plugin, config: value ?? {} });
    }
  }
  return entries;
}

const isPackageName = (name: string): boolean => name.startsWith('@') || name.includes('/');

/**
 * The kind and registered name of an entry's plugin. A package name is imported and must export exactly
 * one middleware (or routing) plugin; a plain name is a registered plugin, or one the registry loads
 * from its conventional package (`otel` → `@bulwark/otel`) when the middleware is created.
 */
async function resolvePlugin(
  registry: PluginRegistry,
  entry: MiddlewareEntry,
): Promise<{ kind: 'middleware' | 'routing'; name: string }> {
  if (registry.has('middleware', entry.plugin)) return { kind: 'middleware', name: entry.plugin };
  if (registry.has('routing', entry.plugin)) return { kind: 'routing', name: entry.plugin };
  if (!isPackageName(entry.plugin)) return { kind: 'middleware', name: entry.plugin };
  const path = `${entry.section}.plugin`;
  let loaded: Awaited<ReturnType<PluginRegistry['load']>>;
  try {
    loaded = await registry.load(entry.plugin);
  } catch (error) {
    if (!BulwarkError.isInstance(error)) throw error;
    throw new ConfigError({ path, cause: error, message: `${path}: ${error.message}` });
  }
  const usable = loaded.filter(
    (descriptor) => descriptor.kind === 'middleware' || descriptor.kind === 'routing',
  );
  if (usable.length === 1)
    return { kind: usable[0]!.kind as 'middleware' | 'routing', name: usable[0]!.name };
  throw new ConfigError({
    path,
    message: `${path}: package "${entry.plugin}" exports ${
      usable.length === 0
        ? 'no middleware plugin'
        : `${usable.length} middleware plugins (${usable.map((descriptor) => descriptor.name).join(', ')}): name one of them and list the package under "plugins"`
    }`,
  });
}

/**
 * Creates every entry through the registry. A plugin may appear once; at most one routing plugin
 * (`hedge`) replaces the default fallback router. `restate` turns a plugin's config error into the
 * gateway's wording.
 */
export async function createMiddleware(
  entries: readonly MiddlewareEntry[],
  registry: PluginRegistry,
  restate: (error: unknown) => unknown,
): Promise<{ middleware: CreatedMiddleware[]; routing?: { instance: RoutingStrategyV1; section: string } }> {
  const middleware: CreatedMiddleware[] = [];
  let routing: { instance: RoutingStrategyV1; section: string } | undefined;
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const { kind, name } = await resolvePlugin(registry, entry);
    const earlier = seen.get(`${kind}:${name}`);
    if (earlier !== undefined) {
      throw new ConfigError({
        path: `${entry.section}.plugin`,
        message: `${entry.section}.plugin: plugin "${name}" is already configured at ${earlier}; configure it once`,
      });
    }
    seen.set(`${kind}:${name}`, entry.section);
    try {
      if (kind === 'routing') {
        if (routing) {
          throw new ConfigError({
            path: `${entry.section}.plugin`,
            message: `${entry.section}.plugin: only one routing plugin may run; ${routing.section} already sets one`,
          });
        }
        routing = {
          instance: await registry.create('routing', name, entry.config, entry.path),
          section: entry.section,
        };
        continue;
      }
      const instance = await registry.create('middleware', name, entry.config, entry.path);
      middleware.push({ ...entry, plugin: name, instance });
    } catch (error) {
      throw restate(error);
    }
  }
  return { middleware: sortMiddleware(middleware), ...(routing ? { routing } : {}) };
}

/** Orders middleware by declared stage (call level first), keeping the given order among equals. */
export function sortMiddleware<T extends { instance: MiddlewareV1 }>(entries: T[]): T[] {
  const rank = (middleware: MiddlewareV1): number => {
    const level = middlewareLevel(middleware) === 'call' ? 0 : 1000;
    const stage = middleware.stage ?? 'custom';
    return level + (stage === 'custom' ? 999 : stageOrder[stage].rank);
  };
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => rank(a.entry.instance) - rank(b.entry.instance) || a.index - b.index)
    .map(({ entry }) => entry);
}
