import { type Clock, systemClock } from '../clock/clock.js';
import { ConfigError, PluginNotFoundError } from '../errors/errors.js';
import { createEventBus, type EventBus } from '../events/event-bus.js';
import type { ModelAlias } from '../routing/target.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { coreVersion } from './core-version.js';
import type {
  ConfiguredProvider,
  PluginContext,
  PluginDescriptor,
  PluginInstanceMap,
  PluginKind,
  StoreKind,
} from './plugin.js';
import { formatPath, type StandardSchemaV1 } from './standard-schema.js';
import { satisfiesRange } from './version-range.js';

export interface PluginRegistry {
  /** Adds plugins; a second plugin with the same kind and name replaces the first. */
  register(...plugins: PluginDescriptor[]): void;
  has(kind: PluginKind, name: string): boolean;
  /** The descriptor, or `PluginNotFoundError` listing what is registered and which package to install. */
  get<K extends PluginKind>(kind: K, name: string): PluginDescriptor<K>;
  list(kind?: PluginKind): PluginDescriptor[];
  /** Validates `config` against the plugin's schema and creates the instance. */
  create<K extends PluginKind>(
    kind: K,
    name: string,
    config: unknown,
    path: string,
  ): Promise<PluginInstanceMap[K]>;
  /**
   * Imports an npm package (only when asked: nothing is scanned) and registers the plugins it exports
   * as `plugin`, `plugins` or `default`. Returns what it registered.
   */
  load(packageName: string, importer?: (specifier: string) => Promise<unknown>): Promise<PluginDescriptor[]>;
}

/** Validates a value against a Standard Schema; throws `ConfigError` naming every bad path. */
export async function validateConfig<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
  path: string,
): Promise<T> {
  const result = await schema['~standard'].validate(value);
  if (!result.issues) return result.value;
  const issues = result.issues.map((issue) => ({
    path: formatPath(path, issue.path),
    message: issue.message,
  }));
  const first = issues[0]!;
  throw new ConfigError({
    path: first.path,
    issues,
    message: `Invalid configuration: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
  });
}

const memoryStorePackages: Record<StoreKind, string> = {
  'limiter-store': '@bulwark/limiter',
  'breaker-store': '@bulwark/breaker',
  'spend-store': '@bulwark/usage',
};

const bridgeProviderPackages: Record<string, string> = { 'ai-sdk': '@bulwark/ai-sdk' };

/** The package that conventionally provides a plugin, for the "install it" hint. */
export function suggestedPackage(kind: PluginKind, name: string): string {
  if (name.startsWith('@') || name.includes('/')) return name;
  switch (kind) {
    case 'provider':
      // A bridge is named for what it bridges: `ai-sdk` (any Vercel AI SDK provider) → @bulwark/ai-sdk.
      return bridgeProviderPackages[name] ?? `@bulwark/provider-${name}`;
    case 'cache':
      return `@bulwark/cache-${name}`;
    case 'limiter-store':
    case 'breaker-store':
    case 'spend-store':
      // In-process stores come with the middleware that uses them; `redis` → `@bulwark/redis-stores`.
      if (name === 'memory') return memoryStorePackages[kind];
      return `@bulwark/${name}-stores`;
    default:
      return `@bulwark/${name}`;
  }
}

const isDescriptor = (value: unknown): value is PluginDescriptor =>
  typeof value === 'object' &&
  value !== null &&
  (value as PluginDescriptor).specificationVersion === 'v1' &&
  typeof (value as PluginDescriptor).kind === 'string' &&
  typeof (value as PluginDescriptor).create === 'function';

/** Something shaped like a plugin descriptor of any contract version (`kind`, `create`, a version string). */
const looksLikeDescriptor = (value: unknown): value is { specificationVersion?: unknown; kind: string } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { kind?: unknown }).kind === 'string' &&
  typeof (value as { create?: unknown }).create === 'function';

function describePlugin(
  value: { kind?: unknown; name?: unknown; packageName?: unknown },
  packageName?: string,
): string {
  const from = packageName ?? (typeof value.packageName === 'string' ? value.packageName : undefined);
  const name = typeof value.name === 'string' ? `"${value.name}"` : '(unnamed)';
  return `${String(value.kind)} plugin ${name}${from ? ` of package "${from}"` : ''}`;
}

/**
 * Why a value is not a usable v1 descriptor for this core, or `undefined` when it is one. Names the
 * package, the contract version it exports and the one this core expects, and what to upgrade.
 */
function incompatibility(value: unknown, packageName?: string): string | undefined {
  if (!looksLikeDescriptor(value)) {
    return `register() was given ${value === null ? 'null' : typeof value === 'object' ? 'an object that is not a Bulwark plugin descriptor (it needs kind, name, create and specificationVersion)' : `a ${typeof value}`}${packageName ? ` from package "${packageName}"` : ''}`;
  }
  const plugin = describePlugin(
    value as { kind?: unknown; name?: unknown; packageName?: unknown },
    packageName,
  );
  const version = value.specificationVersion;
  if (version !== 'v1') {
    const exported =
      typeof version === 'string'
        ? `plugin contract ${version}`
        : 'no plugin contract version (specificationVersion)';
    return `The ${plugin} implements ${exported}; @bulwark/core ${coreVersion} implements v1. Install a release of ${packageName ?? 'the plugin'} built for @bulwark/core ${coreVersion}, or upgrade @bulwark/core (and @bulwark/gateway) to a release that implements ${typeof version === 'string' ? version : 'its contract'}.`;
  }
  const range = (value as PluginDescriptor).coreRange;
  if (range === undefined) return undefined;
  const satisfied = satisfiesRange(coreVersion, range);
  if (satisfied === undefined) {
    return `The ${plugin} declares coreRange "${range}", which is not a version range Bulwark understands (use e.g. "^0.1.0").`;
  }
  if (!satisfied) {
    return `The ${plugin} was built for @bulwark/core ${range}, but the loaded @bulwark/core is ${coreVersion}. Install @bulwark/core (and @bulwark/gateway) in ${range}, or a release of ${packageName ?? (value as PluginDescriptor).packageName ?? 'the plugin'} built for ${coreVersion}.`;
  }
  return undefined;
}

/** ` (looked in: a, b)` when the importer says where it looked (`searched` on its error). */
function searchedIn(error: unknown): string {
  const searched = (error as { searched?: unknown })?.searched;
  return Array.isArray(searched) && searched.length > 0 ? ` (looked in: ${searched.join(', ')})` : '';
}

/** The package a module-not-found error could not find (`Cannot find package 'x'` / `module 'x'`), if it is one. */
function missingPackageOf(error: unknown): string | undefined {
  const code = (error as { code?: string })?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const message = error instanceof Error ? error.message : '';
  const specifier = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  if (specifier === undefined) return '';
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:'))
    return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export interface PluginRegistryOptions {
  clock?: Clock;
  logger?: Logger;
  events?: EventBus;
  plugins?: PluginDescriptor[];
  /**
   * Called with every instance the registry creates, those a plugin creates through its context
   * included (a cache middleware's backend, a limiter's store), so the owner can close them all (and
   * ask those with a `ready()` whether they can serve). `plugin` is the name of the plugin that made it.
   */
  onCreate?: (instance: unknown, kind: PluginKind, path: string, plugin: string) => void;
  /**
   * Imports plugin packages. With it, `create` of a plugin that is not registered first loads its
   * conventional package (`suggestedPackage(kind, name)`: `cache` `redis` → `@bulwark/cache-redis`, a
   * middleware `otel` → `@bulwark/otel`, a scoped name → that package) once, so a config may name a plugin
   * of an installed package without listing the package. Nothing is scanned. Also `load`'s default.
   */
  importer?: (specifier: string) => Promise<unknown>;
  /** Handed to every plugin's context (`PluginContext.providers`); may be filled after the registry is made. */
  providers?: ReadonlyMap<string, ConfiguredProvider>;
  /** Handed to every plugin's context (`PluginContext.models`). */
  models?: Readonly<Record<string, ModelAlias>>;
}

export function createPluginRegistry(options: PluginRegistryOptions = {}): PluginRegistry {
  const plugins = new Map<string, PluginDescriptor>();
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const events = options.events ?? createEventBus({ logger });
  const keyOf = (kind: string, name: string) => `${kind}:${name}`;

  const registry: PluginRegistry = {
    register(...descriptors) {
      for (const descriptor of descriptors) {
        const problem = incompatibility(descriptor);
        if (problem !== undefined) throw new ConfigError({ path: 'plugins', message: problem });
        plugins.set(keyOf(descriptor.kind, descriptor.name), descriptor);
      }
    },
    has: (kind, name) => plugins.has(keyOf(kind, name)),
    get<K extends PluginKind>(kind: K, name: string) {
      const found = plugins.get(keyOf(kind, name));
      if (found) return found as PluginDescriptor<K>;
      const available = registry.list(kind).map((plugin) => plugin.name);
      const packageName = suggestedPackage(kind, name);
      throw new PluginNotFoundError({
        packageName,
        message: `No ${kind} plugin named "${name}". Registered: ${available.length ? available.join(', ') : 'none'}. If it comes from a package, install it (pnpm add ${packageName}) and list it under "plugins".`,
      });
    },
    list: (kind) => [...plugins.values()].filter((plugin) => kind === undefined || plugin.kind === kind),
    async create<K extends PluginKind>(kind: K, name: string, config: unknown, path: string) {
      if (!plugins.has(keyOf(kind, name)) && options.importer) await loadConventional(kind, name);
      const descriptor = registry.get(kind, name);
      const valid = await validateConfig(descriptor.configSchema, config ?? {}, path);
      const context: PluginContext = {
        name: path.split('.').at(-1) ?? name,
        path,
        clock,
        logger,
        events,
        create: (innerKind, plugin, innerConfig, innerPath) =>
          registry.create(innerKind, plugin, innerConfig, innerPath),
        ...(options.providers ? { providers: options.providers } : {}),
        ...(options.models ? { models: options.models } : {}),
      };
      const instance = (await descriptor.create(valid, context)) as PluginInstanceMap[K];
      options.onCreate?.(instance, kind, path, descriptor.name);
      return instance;
    },
    async load(packageName, importer = options.importer ?? ((specifier) => import(specifier))) {
      let module: Record<string, unknown>;
      try {
        module = (await importer(packageName)) as Record<string, unknown>;
      } catch (error) {
        const missing = missingPackageOf(error);
        if (
          missing === packageName ||
          (missing === '' && error instanceof Error && error.message.includes(packageName))
        ) {
          throw new PluginNotFoundError({
            packageName,
            cause: error,
            message: `Plugin package "${packageName}" is not installed${searchedIn(error)}. Install it next to Bulwark: pnpm add ${packageName} (or npm install ${packageName}).`,
          });
        }
        if (missing) {
          // The plugin is installed but something it imports is not (an SDK it takes as an optional peer).
          throw new ConfigError({
            path: 'plugins',
            cause: error,
            message: `Plugin package "${packageName}" needs "${missing}", which is not installed: pnpm add ${missing} (or npm install ${missing}).`,
          });
        }
        throw error;
      }
      const candidates = [
        module.plugin,
        ...(Array.isArray(module.plugins) ? module.plugins : []),
        module.default,
      ];
      const shaped = candidates.filter(looksLikeDescriptor);
      for (const candidate of shaped) {
        const problem = incompatibility(candidate, packageName);
        if (problem !== undefined) throw new ConfigError({ path: 'plugins', message: problem });
      }
      const found = shaped.filter(isDescriptor);
      if (found.length === 0) {
        throw new PluginNotFoundError({
          packageName,
          message: `Package "${packageName}" exports no Bulwark plugin (expected an export named "plugin" or "plugins" holding a descriptor with kind, name, create and specificationVersion).`,
        });
      }
      registry.register(...found);
      return found;
    },
  };
  const attempted = new Set<string>();
  /** Loads the conventional package of a plugin once; a package that is not installed leaves `get` to report it. */
  async function loadConventional(kind: PluginKind, name: string): Promise<void> {
    const packageName = suggestedPackage(kind, name);
    if (attempted.has(packageName)) return;
    attempted.add(packageName);
    try {
      await registry.load(packageName);
    } catch (error) {
      if (!PluginNotFoundError.isInstance(error)) throw error;
    }
  }
  if (options.plugins) registry.register(...options.plugins);
  return registry;
}
