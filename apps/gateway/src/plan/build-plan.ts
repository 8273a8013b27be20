import { readFileSync } from 'node:fs';
import {
  BulwarkError,
  type Clock,
  ConfigError,
  type ConfiguredProvider,
  createPluginRegistry,
  type EventBus,
  type Logger,
  type MiddlewareV1,
  type ModelAlias,
  middlewareLevel,
  type PluginDescriptor,
  PluginNotFoundError,
  type PluginRegistry,
  type ProviderV1,
  type RoutingStrategyV1,
  redactSecrets,
  registerSecret,
  suggestedPackage,
  type Target,
} from '@bulwark/core';
import type { GatewayConfig } from '../config/config-schema.js';
import { describeIssue } from '../config/load-config.js';
import { builtinPlugins, lazyBuiltinProviders } from './builtin-plugins.js';
import { createMasker, maskConfig, maskConfigError } from './mask-secrets.js';
import { type CreatedMiddleware, createMiddleware, expandMiddleware } from './middleware-list.js';
import { createPluginImporter } from './plugin-importer.js';
import { checkReadiness, type ReadinessProbe, type ReadinessReport } from './readiness.js';

export type { MiddlewareSection } from './middleware-list.js';
export { middlewareSections } from './middleware-list.js';

/** What `check-config` prints: the resolved plan, with every secret masked. */
export interface PlanDescription {
  server: { host: string; port: number; bodyLimitBytes: number; drainTimeoutMs: number };
  auth: { enabled: boolean; tenants: string[] };
  plugins: { packages: string[]; registered: string[] };
  providers: Record<string, { plugin: string; package?: string; config: unknown }>;
  models: Record<string, string[]>;
  passThrough: boolean;
  routing: string;
  middleware: Array<{
    section: string;
    plugin: string;
    name: string;
    stage: string;
    level: string;
    config: unknown;
  }>;
  skipped: Array<{ section: string; reason: string }>;
  /** The plugin instances `/readyz` asks (`kind:name at path`): those with a `ready()`. */
  readiness: string[];
}

export interface GatewayPlan {
  readonly config: GatewayConfig;
  readonly registry: PluginRegistry;
  readonly providers: Map<string, ProviderV1>;
  readonly models: Record<string, ModelAlias>;
  readonly middleware: MiddlewareV1[];
  readonly routing?: RoutingStrategyV1;
  /** Asks every plugin instance with a `ready()` (Redis stores, the Redis cache…); `/readyz` answers with it. */
  ready(): Promise<ReadinessReport>;
  /** True when a cache middleware is in the pipeline. */
  readonly caching: boolean;
  describe(): PlanDescription;
  /** Closes every created provider and middleware. */
  close(): Promise<void>;
}

export interface BuildPlanOptions {
  logger: Logger;
  events: EventBus;
  clock: Clock;
  /** Extra descriptors (embedding, tests), registered after the built-ins. */
  plugins?: readonly PluginDescriptor[];
  /**
   * Imports `plugins:` packages. Default: from `configDirectory`, then the working directory, then next
   * to the gateway (`createPluginImporter`); relative paths resolve against `configDirectory`.
   */
  importer?: (specifier: string) => Promise<unknown>;
  /** The config file's directory, searched first for `plugins:` packages. */
  configDirectory?: string;
}

type Closable = { close?: () => unknown; dispose?: () => unknown };

/** Restates a plugin's config error with the value found at each path, secrets and `${env:…}` values masked. */
function withValues(error: unknown, config: unknown): unknown {
  if (!ConfigError.isInstance(error)) return error;
  const shown = maskConfig(config);
  const issues = error.issues.map((issue) => ({
    path: issue.path,
    message: redactSecrets(describeIssue(shown, issue.path, issue.message.replace(`${issue.path}: `, ''))),
  }));
  return new ConfigError({
    path: error.path,
    issues,
    cause: error,
    message: `Invalid configuration:\n  ${issues.map((issue) => issue.message).join('\n  ')}`,
  });
}

function registerConfigSecrets(value: unknown, key = ''): void {
  if (typeof value === 'string') {
    if (/key|secret|token|password/i.test(key)) registerSecret(value);
    if (value.includes('://') && value.includes('@')) {
      try {
        const url = new URL(value);
        registerSecret(decodeURIComponent(url.password));
      } catch {}
    }
  } else if (Array.isArray(value)) {
    for (const item of value) registerConfigSecrets(item, key);
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, item] of Object.entries(value)) registerConfigSecrets(item, name);
  }
}

/** The gateway's own dependencies: loaded from its installation, whatever a project has installed. */
const gatewayDependencies: ReadonlySet<string> = new Set(
  Object.keys(
    (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        dependencies?: Record<string, string>;
      }
    ).dependencies ?? {},
  ),
);

/**
 * Resolves a validated config into live plugins: loads `plugins:` packages, creates providers and
 * middleware through core's plugin registry, checks every target names a provider. On any error it
 * closes what it created and throws a `ConfigError` naming the path, so nothing half-starts.
 */
export async function buildPlan(config: GatewayConfig, options: BuildPlanOptions): Promise<GatewayPlan> {
  // Imported from here, so packages resolve next to the gateway (not next to @bulwark/core).
  const importer =
    options.importer ??
    createPluginImporter({
      directories: [...(options.configDirectory ? [options.configDirectory] : []), process.cwd()],
      fallback: (specifier: string) => import(specifier),
      own: gatewayDependencies,
    });
  registerConfigSecrets(config);
  // Every instance, those plugins create through their context included (the cache middleware's
  // backend, a limiter's store), is closed with the plan.
  const created: Closable[] = [];
  const probes: ReadinessProbe[] = [];
  // Handed to every plugin's context: filled below, before any middleware is created.
  const configuredProviders = new Map<string, ConfiguredProvider>();
  const models: Record<string, ModelAlias> = {};
  const registry = createPluginRegistry({
    clock: options.clock,
    logger: options.logger,
    events: options.events,
    onCreate: (instance, kind, path, plugin) => {
      created.push(instance as Closable);
      if (typeof (instance as Partial<ReadinessProbe['instance']>)?.ready === 'function') {
        probes.push({ plugin: `${kind}:${plugin}`, path, instance: instance as ReadinessProbe['instance'] });
      }
    },
    // A plugin named in the config but not registered is loaded from its conventional package
    // (`store: { plugin: redis }` of the cache → @bulwark/cache-redis, `middleware: [{ plugin: otel }]` →
    // @bulwark/otel): nothing is scanned, and a missing package is reported with the one to install.
    importer,
    providers: configuredProviders,
    models,
  });
  registry.register(...builtinPlugins);
  if (options.plugins) registry.register(...options.plugins);
  const providers = new Map<string, ProviderV1>();
  let middleware: CreatedMiddleware[] = [];
  const skipped: Array<{ section: string; reason: string }> = [];
  let routing: RoutingStrategyV1 | undefined;
  try {
    for (const [index, packageName] of config.plugins.entries()) {
      try {
        await registry.load(packageName, importer);
      } catch (error) {
        if (BulwarkError.isInstance(error)) {
          throw new ConfigError({
            path: `plugins[${index}]`,
            cause: error,
            message: `plugins[${index}]: ${error.message}`,
          });
        }
        throw error;
      }
    }

    for (const [name, entry] of Object.entries(config.providers)) {
      const { plugin, limits: _limits, ...providerConfig } = entry;
      const path = `providers.${name}`;
      if (!registry.has('provider', plugin)) {
        // A provider plugin of an installed package needs no `plugins:` entry (`ai-sdk` → @bulwark/ai-sdk).
        await registry.load(suggestedPackage('provider', plugin), importer).catch((error: unknown) => {
          if (!PluginNotFoundError.isInstance(error)) throw error;
        });
      }
      if (!registry.has('provider', plugin)) {
        const available = [
          ...new Set([
            ...lazyBuiltinProviders,
            ...registry.list('provider').map((descriptor) => descriptor.name),
          ]),
        ];
        throw new ConfigError({
          path: `${path}.plugin`,
          message: describeIssue(
            maskConfig(config),
            `${path}.plugin`,
            `one of ${available.join(', ') || '(no provider plugin installed)'}, or a provider from a package listed under "plugins"`,
          ),
        });
      }
      try {
        const provider = await registry.create('provider', plugin, providerConfig, path);
        providers.set(name, provider);
        configuredProviders.set(name, {
          instance: provider,
          plugin,
          ...(entry.limits ? { limits: entry.limits } : {}),
        });
      } catch (error) {
        throw withValues(error, config);
      }
    }

    const providerNames = [...providers.keys()];
    const checkTarget = (target: Target, path: string): void => {
      if (!providers.has(target.provider)) {
        throw new ConfigError({
          path: `${path}.provider`,
          message: describeIssue(
            maskConfig(config),
            `${path}.provider`,
            `one of the configured providers: ${providerNames.join(', ')}`,
          ),
        });
      }
    };
    for (const [alias, value] of Object.entries(config.models)) {
      const resolved: ModelAlias = Array.isArray(value) ? { targets: value } : (value as ModelAlias);
      const base = Array.isArray(value) ? `models.${alias}` : `models.${alias}.targets`;
      for (const [index, target] of resolved.targets.entries()) checkTarget(target, `${base}[${index}]`);
      if (resolved.contentFilterFallback)
        checkTarget(resolved.contentFilterFallback, `models.${alias}.contentFilterFallback`);
      models[alias] = resolved;
    }

    const built = await createMiddleware(expandMiddleware(config, registry, skipped), registry, (error) =>
      withValues(error, config),
    );
    middleware = built.middleware;
    routing = built.routing?.instance;
  } catch (error) {
    await closeAll(created);
    throw maskConfigError(error, config);
  }

  const ordered = middleware;
  const maskSecrets = createMasker(config);
  return {
    config,
    registry,
    providers,
    models: Object.fromEntries(
      Object.entries(config.models).map(([alias, value]) => [
        alias,
        Array.isArray(value) ? { targets: value } : (value as ModelAlias),
      ]),
    ),
    middleware: ordered.map((entry) => entry.instance),
    ...(routing ? { routing } : {}),
    ready: () => checkReadiness(probes),
    caching: ordered.some((entry) => entry.instance.stage === 'cache'),
    describe: () => ({
      server: {
        host: maskSecrets(config.server.host) as string,
        port: config.server.port,
        bodyLimitBytes: config.server.bodyLimit,
        drainTimeoutMs: config.server.drainTimeoutMs,
      },
      auth: {
        enabled: config.auth !== undefined,
        tenants: (config.auth?.keys ?? []).map(
          (key, index) =>
            maskSecrets(typeof key === 'string' ? `key-${index}` : (key.name ?? `key-${index}`)) as string,
        ),
      },
      plugins: {
        packages: config.plugins,
        registered: registry
          .list()
          .map(
            (descriptor) =>
              `${descriptor.kind}:${descriptor.name}${descriptor.packageName ? ` (${descriptor.packageName})` : ''}`,
          ),
      },
      providers: Object.fromEntries(
        Object.entries(config.providers).map(([name, entry]) => {
          const { plugin, ...rest } = entry;
          const packageName = registry.get('provider', plugin).packageName;
          return [
            name,
            { plugin, ...(packageName ? { package: packageName } : {}), config: maskSecrets(rest) },
          ];
        }),
      ),
      models: Object.fromEntries(
        Object.entries(config.models).map(([alias, value]) => [
          alias,
          (Array.isArray(value) ? value : value.targets).map(
            (target) => `${target.provider}/${maskSecrets(target.model) as string}`,
          ),
        ]),
      ),
      passThrough: config.passThrough,
      routing: routing?.name ?? 'fallback',
      middleware: ordered.map((entry) => ({
        section: entry.section,
        plugin: entry.plugin,
        name: entry.instance.name,
        stage: entry.instance.stage ?? 'custom',
        level: middlewareLevel(entry.instance),
        config: maskSecrets(entry.config),
      })),
      skipped,
      readiness: probes.map((probe) => `${probe.plugin} at ${probe.path}`),
    }),
    async close() {
      await closeAll(created);
    },
  };
}

async function closeAll(created: Closable[]): Promise<void> {
  const instances = [...new Set(created)].reverse();
  created.length = 0;
  await Promise.allSettled(
    instances.map(async (item) => {
      if (typeof item.close === 'function') await item.close();
      else if (typeof item.dispose === 'function') await item.dispose();
    }),
  );
}
