import type { BreakerState, EventBus } from '@bulwark/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricLabelNames } from './metric-names.js';

/** Most distinct values an error-class or reason label may take; later values are reported as `other`. */
const maxLabelValues = 200;
/** Error classes and reasons are short codes; anything else is reported as `other`. */
const codePattern = /^[A-Za-z0-9_.:-]{1,64}$/;

const breakerValue: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  /** One finished HTTP call on a /v1 route. */
  observeRequest(route: string, model: string, status: number, stream: boolean, seconds: number): void;
  /** Time from request arrival to the first streamed byte. */
  observeFirstToken(route: string, seconds: number): void;
  requestStarted(): void;
  requestEnded(): void;
  /** Unsubscribes from the event bus. */
  close(): void;
}

export interface GatewayMetricsOptions {
  events: EventBus;
  /**
   * The configured names labels may hold (see `metricNamesFromConfig`); every other provider, model or
   * tenant value is reported as `other`.
   */
  names: MetricLabelNames;
  /** Include Node process metrics (`bulwark_process_*`). Default true. */
  processMetrics?: boolean;
}

/**
 * Prometheus metrics, prefixed `bulwark_`, fed by the HTTP layer and by core's event bus. Labels hold
 * only configured names (provider, model alias, target model, tenant) and short error codes, never
 * prompt text, keys or a name a client chose: anything else is `other`.
 */
export function createGatewayMetrics(options: GatewayMetricsOptions): GatewayMetrics {
  const registry = new Registry();
  const configured = {
    alias: new Set(options.names.requestModels),
    provider: new Set(options.names.providers),
    model: new Set(options.names.models),
    tenant: new Set(options.names.tenants),
  };
  const named = (kind: keyof typeof configured, value: string): string =>
    configured[kind].has(value) ? value : 'other';
  const seen = new Map<string, Set<string>>();
  const bounded = (label: 'class' | 'reason', value: string): string => {
    if (!codePattern.test(value)) return 'other';
    let values = seen.get(label);
    if (!values) {
      values = new Set();
      seen.set(label, values);
    }
    if (values.has(value)) return value;
    if (values.size >= maxLabelValues) return 'other';
    values.add(value);
    return value;
  };
  const registers = [registry];
  const requests = new Counter({
    name: 'bulwark_requests_total',
    help: 'HTTP calls on the /v1 routes by route, model alias and status',
    labelNames: ['route', 'model', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'bulwark_request_duration_seconds',
    help: 'Time from request arrival to the end of the response',
    labelNames: ['route', 'stream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const firstToken = new Histogram({
    name: 'bulwark_time_to_first_token_seconds',
    help: 'Time from request arrival to the first streamed byte',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const inflight = new Gauge({ name: 'bulwark_inflight_requests', help: 'Calls in progress', registers });
  const attempts = new Counter({
    name: 'bulwark_attempts_total',
    help: 'Provider attempts by target and outcome (success or error class)',
    labelNames: ['provider', 'model', 'outcome'] as const,
    registers,
  });
  const attemptDuration = new Histogram({
    name: 'bulwark_attempt_duration_seconds',
    help: 'Duration of provider attempts',
    labelNames: ['provider'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const errors = new Counter({
    name: 'bulwark_errors_total',
    help: 'Failed attempts by provider and error class',
    labelNames: ['provider', 'class'] as const,
    registers,
  });
  const tokens = new Counter({
    name: 'bulwark_tokens_total',
    help: 'Tokens consumed by provider attempts (failed attempts that billed included; estimated for cut streams, as the cost is)',
    labelNames: ['provider', 'model', 'tenant', 'type'] as const,
    registers,
  });
  const cost = new Counter({
    name: 'bulwark_cost_usd_total',
    help: 'Spend in USD by provider, model and tenant (every billed attempt once, from the usage plugin)',
    labelNames: ['provider', 'model', 'tenant'] as const,
    registers,
  });
  const savedCost = new Counter({
    name: 'bulwark_cache_saved_usd_total',
    help: 'Spend avoided by cache hits, in USD (what the cached answers cost when they were made)',
    labelNames: ['tenant'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'bulwark_retries_total',
    help: 'Retries scheduled by provider and the error that caused them',
    labelNames: ['provider', 'class'] as const,
    registers,
  });
  const fallbacks = new Counter({
    name: 'bulwark_fallbacks_total',
    help: 'Fallbacks from one provider to another',
    labelNames: ['from', 'to', 'class'] as const,
    registers,
  });
  const cacheLookups = new Counter({
    name: 'bulwark_cache_lookups_total',
    help: 'Cache lookups by result (hit, miss, bypass)',
    labelNames: ['status'] as const,
    registers,
  });
  const cacheStores = new Counter({
    name: 'bulwark_cache_stores_total',
    help: 'Responses offered to the cache, by whether they were stored',
    labelNames: ['stored'] as const,
    registers,
  });
  const breakerState = new Gauge({
    name: 'bulwark_breaker_state',
    help: 'Circuit breaker state per target: 0 closed, 1 half-open, 2 open',
    labelNames: ['provider', 'model'] as const,
    registers,
  });
  const breakerTransitions = new Counter({
    name: 'bulwark_breaker_transitions_total',
    help: 'Circuit breaker state changes',
    labelNames: ['provider', 'model', 'to'] as const,
    registers,
  });
  const queueLength = new Gauge({
    name: 'bulwark_limiter_queue_length',
    help: 'Calls waiting in the rate limiter queue, per provider (as of the last admission)',
    labelNames: ['provider'] as const,
    registers,
  });
  const queueWait = new Histogram({
    name: 'bulwark_limiter_wait_seconds',
    help: 'Time calls waited in the rate limiter queue',
    labelNames: ['provider'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const limiterRejections = new Counter({
    name: 'bulwark_limiter_rejections_total',
    help: 'Calls the rate limiter refused',
    labelNames: ['provider', 'reason'] as const,
    registers,
  });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });

  type UsageLike = {
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens?: number;
    cacheWriteTokens?: number;
  };
  const countTokens = (
    provider: string,
    model: string,
    tenant: string | undefined,
    usage: UsageLike,
  ): void => {
    const labels = {
      provider: named('provider', provider),
      model: named('model', model),
      tenant: named('tenant', tenant ?? ''),
    };
    tokens.inc({ ...labels, type: 'input' }, usage.inputTokens);
    tokens.inc({ ...labels, type: 'output' }, usage.outputTokens);
    if (usage.cachedInputTokens) tokens.inc({ ...labels, type: 'cached_input' }, usage.cachedInputTokens);
    if (usage.cacheWriteTokens) tokens.inc({ ...labels, type: 'cache_write' }, usage.cacheWriteTokens);
  };

  const events = options.events;
  const unsubscribe = [
    events.on('attempt:success', (event) => {
      attempts.inc({
        provider: named('provider', event.provider),
        model: named('model', event.model),
        outcome: 'success',
      });
      attemptDuration.observe({ provider: named('provider', event.provider) }, event.durationMs / 1000);
      if (event.usage) countTokens(event.provider, event.model, event.tenant, event.usage);
    }),
    events.on('attempt:failure', (event) => {
      const provider = named('provider', event.provider);
      attempts.inc({
        provider,
        model: named('model', event.model),
        outcome: bounded('class', event.error),
      });
      attemptDuration.observe({ provider }, event.durationMs / 1000);
      errors.inc({ provider, class: bounded('class', event.error) });
      if (event.usage) countTokens(event.provider, event.model, event.tenant, event.usage);
    }),
    events.on('retry:scheduled', (event) => {
      retries.inc({ provider: named('provider', event.provider), class: bounded('class', event.error) });
    }),
    events.on('fallback:taken', (event) => {
      fallbacks.inc({
        from: named('provider', event.from.provider),
        to: named('provider', event.to.provider),
        class: bounded('class', event.error),
      });
    }),
    events.on('breaker:state', (event) => {
      const labels = { provider: named('provider', event.provider), model: named('model', event.model) };
      breakerState.set(labels, breakerValue[event.to] ?? 0);
      breakerTransitions.inc({ ...labels, to: event.to });
    }),
    events.on('usage:recorded', (event) => {
      for (const attempt of event.attempts) {
        // Usage no attempt event carried (a cut or aborted stream, an answer without a usage report) is
        // counted here, estimated as the cost is, so tokens and cost describe the same attempts.
        if (attempt.attempt === 0 || attempt.usage.estimated)
          countTokens(attempt.provider, attempt.model, event.tenant, attempt.usage);
        if (attempt.costUsd !== undefined && attempt.costUsd > 0)
          cost.inc(
            {
              provider: named('provider', attempt.provider),
              model: named('model', attempt.model),
              tenant: named('tenant', event.tenant ?? ''),
            },
            attempt.costUsd,
          );
      }
      if (event.savedUsd) savedCost.inc({ tenant: named('tenant', event.tenant ?? '') }, event.savedUsd);
    }),
    events.on('cache:lookup', (event) => cacheLookups.inc({ status: event.status })),
    events.on('cache:store', (event) => cacheStores.inc({ stored: String(event.stored) })),
    events.on('limiter:wait', (event) => {
      const provider = named('provider', event.provider);
      queueLength.set({ provider }, event.queueLength);
      queueWait.observe({ provider }, event.waitedMs / 1000);
    }),
    events.on('limiter:reject', (event) => {
      limiterRejections.inc({
        provider: named('provider', event.provider),
        reason: bounded('reason', event.reason),
      });
    }),
  ];

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest(route, model, status, stream, seconds) {
      requests.inc({ route, model: named('alias', model), status: String(status) });
      duration.observe({ route, stream: stream ? 'true' : 'false' }, seconds);
    },
    observeFirstToken(route, seconds) {
      firstToken.observe({ route }, seconds);
    },
    requestStarted: () => inflight.inc(),
    requestEnded: () => inflight.dec(),
    close() {
      for (const stop of unsubscribe) stop();
      registry.clear();
    },
  };
}
