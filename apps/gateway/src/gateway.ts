import { createServer, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import {
  type Bulwark,
  type BulwarkError,
  type Clock,
  createBulwark,
  createEventBus,
  createJsonLogger,
  type EventBus,
  type Logger,
  OverloadedError,
  type PluginDescriptor,
  systemClock,
} from '@bulwark/core';
import type { GatewayConfig, GatewayConfigInput } from './config/config-schema.js';
import { substituteEnv, validateGatewayConfig } from './config/load-config.js';
import { createDashboardRoutes } from './dashboard/dashboard-routes.js';
import { createDashboardState, type DashboardState } from './dashboard/dashboard-state.js';
import { type ApiKeyChecker, createApiKeyChecker } from './http/api-keys.js';
import { createRequestHandler } from './http/request-handler.js';
import { withKeyBudgets } from './keys/key-budgets.js';
import { createKeyLimiter, withKeyLimiter } from './keys/key-limiter.js';
import { createKeySource } from './keys/key-source.js';
import { createLiveKeyChecker, type LiveKeyChecker } from './keys/live-key-checker.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics/gateway-metrics.js';
import { metricNamesFromConfig } from './metrics/metric-names.js';
import { buildPlan, type GatewayPlan } from './plan/build-plan.js';
import { checkReadiness, type ReadinessReport } from './plan/readiness.js';
import { createRequestLog } from './request-log/request-log.js';
import { createResponsePinStore, type ResponsePinStore } from './routes/response-pins.js';

/** How long the error events of calls cut at the drain deadline may take to reach their sockets. */
const cutGraceMs = 1000;

export interface GatewayOptions {
  /** The config: a parsed file (validated here, `${env:…}` substituted) or an already validated one. */
  config: GatewayConfigInput | GatewayConfig;
  /** The config file's directory: `plugins:` packages are looked for there first, then in the working directory. */
  configDirectory?: string;
  /** Environment for `${env:NAME}`. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Extra plugin descriptors (embedding, tests), registered after the built-ins. */
  plugins?: readonly PluginDescriptor[];
  /** Default: JSON lines on stderr at the config's `log.level`. */
  logger?: Logger;
  clock?: Clock;
  events?: EventBus;
  /** Where request-log lines go (default: `log.file`, else stdout). */
  requestLogDestination?: Writable;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly plan: GatewayPlan;
  readonly bulwark: Bulwark;
  readonly server: Server;
  readonly metrics: GatewayMetrics | undefined;
  /** What the live dashboard shows, aggregated from the event bus. */
  readonly dashboard: DashboardState;
  /** `http://host:port` once listening. */
  readonly url: string | undefined;
  /** Starts listening (default: the config's host and port); resolves to the URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Graceful stop: stops accepting, lets in-flight calls (running streams included) finish for up to
   * `drainTimeoutMs` (default: the config's), then ends what is left with a 503 error in the caller's
   * format (a stream: an error event and no terminator), closes the connections and every plugin.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * Builds a gateway from a config: validates it, resolves plugins, composes the Bulwark pipeline and
 * creates (without starting) the HTTP server. Any config error throws before anything listens.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const config = validateGatewayConfig(substituteEnv(options.config, options.env ?? process.env));
  const logger =
    options.logger ?? createJsonLogger({ level: config.log.level, base: { service: 'bulwark-gateway' } });
  const clock = options.clock ?? systemClock;
  const events = options.events ?? createEventBus({ logger });
  const metrics = config.metrics.enabled
    ? createGatewayMetrics({ events, names: metricNamesFromConfig(config) })
    : undefined;
  let plan: GatewayPlan;
  try {
    plan = await buildPlan(withKeyBudgets(config), {
      logger,
      events,
      clock,
      ...(options.plugins ? { plugins: options.plugins } : {}),
      ...(options.configDirectory ? { configDirectory: options.configDirectory } : {}),
    });
  } catch (error) {
    metrics?.close();
    throw error;
  }
  let bulwark: Bulwark;
  let keyLimiter: Awaited<ReturnType<typeof createKeyLimiter>>;
  // Keys of `auth.source` are read again every refreshMs: added and revoked keys without a restart.
  let liveKeys: LiveKeyChecker | undefined;
  // `/v1/responses` pins: which target produced each response id (memory, or Redis shared by replicas).
  let responsePins!: ResponsePinStore;
  try {
    responsePins = await createResponsePinStore(config.responses?.pinning, { logger, clock });
    const source = config.auth?.source;
    if (source)
      liveKeys = await createLiveKeyChecker({
        keys: config.auth!.keys,
        source: await createKeySource(source),
        refreshMs: source.refreshMs,
        logger,
      });
    keyLimiter = await createKeyLimiter(config, plan, liveKeys?.limitsOf);
    bulwark = createBulwark({
      providers: Object.fromEntries(plan.providers),
      models: plan.models,
      middleware: withKeyLimiter(plan.middleware, keyLimiter),
      ...(plan.routing ? { routing: plan.routing } : {}),
      clock,
      logger,
      events,
      passThrough: config.passThrough,
      validateRequests: false,
    });
  } catch (error) {
    metrics?.close();
    await keyLimiter?.close();
    await liveKeys?.close();
    await responsePins?.close();
    await plan.close();
    throw error;
  }

  const auth: ApiKeyChecker | undefined =
    liveKeys ?? (config.auth ? createApiKeyChecker(config.auth.keys) : undefined);
  const dashboardState = createDashboardState({
    events,
    clock,
    ...breakerCooldownOf(config),
  });
  const dashboard = createDashboardRoutes({
    state: dashboardState,
    auth,
  });

  const requestLog = config.log.requests
    ? createRequestLog({
        events,
        sample: config.log.sample,
        level: config.log.level,
        file: config.log.file,
        ...(options.requestLogDestination ? { destination: options.requestLogDestination } : {}),
      })
    : undefined;

  /** Calls in flight, each with the function that cuts it at the drain deadline. */
  const active = new Map<ServerResponse, ((error: BulwarkError) => void) | undefined>();
  let draining = false;
  let drained: (() => void) | undefined;
  const handler = createRequestHandler({
    bulwark,
    logger,
    metrics,
    auth,
    corsOrigins: config.server.cors.origins,
    bodyLimit: config.server.bodyLimit,
    bodyIdleTimeoutMs: config.server.bodyIdleTimeoutMs,
    requestTimeoutMs: config.server.requestTimeoutMs,
    clock,
    caching: plan.caching,
    requestLog,
    dashboard,
    translation: (model) => {
      const alias = config.models[model];
      return (alias && !Array.isArray(alias) ? alias.translation : undefined) ?? config.translation;
    },
    responsePins,
    ready: () => readyWithPins(plan, responsePins),
    isDraining: () => draining,
    track(response, isActive, cut) {
      if (isActive) active.set(response, cut);
      else {
        active.delete(response);
        if (draining && active.size === 0) drained?.();
      }
    },
  });
  const server = createServer(serverOptions(config.server), handler);
  let url: string | undefined;
  let closing: Promise<void> | undefined;

  return {
    config,
    plan,
    bulwark,
    server,
    metrics,
    dashboard: dashboardState,
    get url() {
      return url;
    },
    listen(port = config.server.port, host = config.server.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          url = `http://${shownHost}:${address.port}`;
          logger.info('gateway listening', {
            url,
            providers: [...plan.providers.keys()],
            models: bulwark.aliases,
            middleware: plan.middleware.map((middleware) => middleware.name),
          });
          resolve(url);
        });
      });
    },
    close(closeOptions = {}) {
      /**
       * Ends what the drain deadline left running like any failed call: an error answer, or for a stream an
       * error event and no terminator, so no client takes a cut stream for a complete one. Waits (briefly) for
       * those last bytes to reach the sockets before they are closed.
       */
      const cutActive = async (limit: number): Promise<void> => {
        logger.warn('drain deadline passed: cutting in-flight calls', {
          inFlight: active.size,
          timeoutMs: limit,
        });
        const error = new OverloadedError({
          local: true,
          message: `The gateway is shutting down and the call did not finish within the ${limit} ms drain`,
        });
        const ended = [...active].map(([response, cut]) => {
          cut?.(error);
          return new Promise<void>((resolve) => {
            if (response.writableFinished || response.destroyed) resolve();
            else {
              response.once('finish', () => resolve());
              response.once('close', () => resolve());
            }
          });
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.all(ended),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, cutGraceMs);
          }),
        ]);
        clearTimeout(timer);
      };

      closing ??= (async () => {
        draining = true;
        dashboard.close();
        dashboardState.close();
        const limit = closeOptions.drainTimeoutMs ?? config.server.drainTimeoutMs;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (active.size > 0) {
          logger.info('draining in-flight calls', { inFlight: active.size, timeoutMs: limit });
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, limit);
            drained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        if (active.size > 0) await cutActive(limit);
        server.closeAllConnections();
        await stopped;
        await keyLimiter?.close();
        await liveKeys?.close();
        await responsePins.close();
        await plan.close();
        metrics?.close();
        requestLog?.close();
        logger.info('gateway stopped', {});
      })();
      return closing;
    },
  };
}

/**
 * Node's own timers bound what the request handler cannot see: headers (`headersTimeout`, checked every
 * `connectionsCheckingInterval`, so that interval follows the timeout) and, as a backstop for requests
 * whose body nobody reads, the whole request. Both answer a bare 408 and close the connection; a chat
 * request's body read has its own, earlier timers that answer in the caller's format.
 */
function serverOptions(server: GatewayConfig['server']): ServerOptions {
  const headersTimeout = server.headersTimeoutMs;
  const body = server.requestTimeoutMs;
  return {
    keepAliveTimeout: server.keepAliveTimeoutMs,
    headersTimeout,
    requestTimeout: body > 0 ? headersTimeout + body + 1000 : 0,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

/** When an open target probes again: the breaker section's cooldown and its growth, else the breaker's defaults. */
function breakerCooldownOf(config: GatewayConfig): {
  breakerCooldownMs: number;
  breakerMaxCooldownMs?: number;
  breakerCooldownMultiplier?: number;
} {
  const section = (config.breaker || {}) as Record<string, unknown>;
  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const maxCooldownMs = number(section.maxCooldownMs);
  const multiplier = number(section.cooldownMultiplier);
  return {
    breakerCooldownMs: number(section.cooldownMs) ?? 15_000,
    ...(maxCooldownMs !== undefined ? { breakerMaxCooldownMs: maxCooldownMs } : {}),
    ...(multiplier !== undefined ? { breakerCooldownMultiplier: multiplier } : {}),
  };
}

/** `createGateway` then `listen`: a running gateway. */
export async function startGateway(
  options: GatewayOptions & { port?: number; host?: string },
): Promise<Gateway> {
  const gateway = await createGateway(options);
  try {
    await gateway.listen(options.port, options.host);
  } catch (error) {
    await gateway.close({ drainTimeoutMs: 0 });
    throw error;
  }
  return gateway;
}

/** The plan's readiness and, when the pin store has a `ready()` (Redis), the pin store's. */
async function readyWithPins(plan: GatewayPlan, pins: ResponsePinStore): Promise<ReadinessReport> {
  const ready = pins.ready;
  if (!ready) return plan.ready();
  const [report, pinCheck] = await Promise.all([
    plan.ready(),
    checkReadiness([
      {
        plugin: 'response-pin-store:redis',
        path: 'responses.pinning.store',
        instance: { ready: () => ready() },
      },
    ]),
  ]);
  return { ready: report.ready && pinCheck.ready, checks: [...report.checks, ...pinCheck.checks] };
}
