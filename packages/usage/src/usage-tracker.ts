import type {
  CallContext,
  ChatRequest,
  ChatResponse,
  MiddlewareV1,
  StreamEvent,
  TokenEstimatorV1,
} from '@bulwark/core';
import { BulwarkError, fastTokenEstimator } from '@bulwark/core';
import { accountCall, type CallAccount, StreamWatch } from './call-account.js';
import type { UsageRecordedEvent } from './events.js';
import { createPriceTable, type PriceTable, type PriceTableOptions, roundUsd } from './price-table.js';

/** Cumulative totals for one (tenant, provider, model): what a metrics exporter turns into counters. */
export interface UsageSample {
  /** The call's tenant, `none` without one, `other` past `maxTenants`. */
  tenant: string;
  /** Configured provider instance (`other` past `maxModels`). */
  provider: string;
  /** The model that consumed the tokens (`other` past `maxModels`). */
  model: string;
  /** Attempts that consumed tokens. */
  attempts: number;
  /** Of those, attempts that failed but were billed. */
  failedAttempts: number;
  /** Of those, attempts whose usage was estimated. */
  estimatedAttempts: number;
  /** Of those, attempts whose model has no price (their cost is not in `costUsd`). */
  unpricedAttempts: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  /** USD of the priced attempts. */
  costUsd: number;
  /** Calls served from Bulwark's response cache. */
  cacheHits: number;
  /** USD the cache hits saved. */
  savedUsd: number;
}

export interface UsageTrackerOptions {
  /** A price table, or options to build one (built-in prices plus yours). Default: the built-in prices. */
  prices?: PriceTable | PriceTableOptions;
  /** Distinct tenants kept apart in `snapshot()`; later ones are summed as `other`. Default 100. */
  maxTenants?: number;
  /** Distinct provider/model pairs kept apart in `snapshot()`; later ones are summed as `other`. Default 200. */
  maxModels?: number;
  /**
   * Estimates the usage of an attempt that reported none (a cut or abandoned stream). Default: core's
   * fast per-script estimate; `await loadO200kTokenEstimator()` for exact o200k counts.
   */
  tokenEstimator?: TokenEstimatorV1;
}

/** The usage middleware (stage `observe`) plus the totals it keeps. */
export interface UsageTracker extends MiddlewareV1 {
  readonly prices: PriceTable;
  /** Cumulative totals since creation, with bounded label values (no prompt text, no keys). */
  snapshot(): UsageSample[];
}

export function isPriceTable(value: PriceTable | PriceTableOptions | undefined): value is PriceTable {
  return typeof (value as PriceTable | undefined)?.priceOf === 'function';
}

/**
 * Accounts for every call: usage and cost of each attempt that consumed tokens (billed failures
 * included, each once), `response.costUsd`, cache savings, a `usage:recorded` event per call and
 * cumulative totals for metrics. Place it at stage `observe`, outside the cache, so hits are seen.
 *
 * ```ts
 * const usage = createUsageTracker({ prices: { prices: { 'my-model': { input: 1, output: 2 } } } });
 * const bulwark = createBulwark({ providers, models, middleware: [usage] });
 * ```
 */
export function createUsageTracker(options: UsageTrackerOptions = {}): UsageTracker {
  const prices = isPriceTable(options.prices) ? options.prices : createPriceTable(options.prices);
  const maxTenants = options.maxTenants ?? 100;
  const maxModels = options.maxModels ?? 200;
  const estimator = options.tokenEstimator ?? fastTokenEstimator;
  const tenants = new Set<string>();
  const targets = new Set<string>();
  const samples = new Map<string, UsageSample>();
  const warned = new Set<string>();

  const tenantLabel = (tenant: string | undefined): string => {
    if (tenant === undefined) return 'none';
    if (tenants.has(tenant)) return tenant;
    if (tenants.size >= maxTenants) return 'other';
    tenants.add(tenant);
    return tenant;
  };
  const sampleFor = (tenant: string, provider: string, model: string): UsageSample => {
    let target = `${provider}\u0000${model}`;
    if (!targets.has(target)) {
      if (targets.size >= maxModels) {
        provider = 'other';
        model = 'other';
        target = 'other\u0000other';
      } else targets.add(target);
    }
    const key = `${tenant}\u0000${target}`;
    let sample = samples.get(key);
    if (!sample) {
      sample = {
        tenant,
        provider,
        model,
        attempts: 0,
        failedAttempts: 0,
        estimatedAttempts: 0,
        unpricedAttempts: 0,
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0,
        cacheHits: 0,
        savedUsd: 0,
      };
      samples.set(key, sample);
    }
    return sample;
  };

  const record = (
    request: ChatRequest,
    context: CallContext,
    account: CallAccount,
    answered: { provider: string; model: string } | undefined,
    error: unknown,
  ): void => {
    const tenant = tenantLabel(context.metadata.tenant);
    if (account.cache === 'hit') {
      const sample = sampleFor(tenant, answered?.provider ?? 'cache', answered?.model ?? request.model);
      sample.cacheHits += 1;
      sample.savedUsd = roundUsd(sample.savedUsd + (account.savedUsd ?? 0));
    }
    for (const attempt of account.attempts) {
      const sample = sampleFor(tenant, attempt.provider, attempt.model);
      sample.attempts += 1;
      if (attempt.failed) sample.failedAttempts += 1;
      if (attempt.usage.estimated) sample.estimatedAttempts += 1;
      sample.inputTokens += attempt.usage.inputTokens;
      sample.outputTokens += attempt.usage.outputTokens;
      sample.cachedInputTokens += attempt.usage.cachedInputTokens ?? 0;
      sample.cacheWriteTokens += attempt.usage.cacheWriteTokens ?? 0;
      if (attempt.costUsd === undefined) sample.unpricedAttempts += 1;
      else sample.costUsd = roundUsd(sample.costUsd + attempt.costUsd);
    }
    for (const name of account.unpriced) {
      if (warned.has(name) || warned.size >= 1000) continue;
      warned.add(name);
      context.logger.warn('no price for model: its cost is unknown and not counted', { model: name });
    }
    if (context.events.has('usage:recorded')) {
      const payload: UsageRecordedEvent = {
        callId: context.callId,
        model: request.model,
        stream: context.stream,
        usage: account.usage,
        attempts: account.attempts,
        unpriced: account.unpriced,
        estimated: account.estimated,
      };
      if (context.metadata.tenant !== undefined) payload.tenant = context.metadata.tenant;
      if (account.costUsd !== undefined) payload.costUsd = account.costUsd;
      if (account.cache) payload.cache = account.cache;
      if (account.savedUsd !== undefined) payload.savedUsd = account.savedUsd;
      if (error !== undefined) payload.error = BulwarkError.isInstance(error) ? error.code : 'unknown';
      context.events.emit('usage:recorded', payload);
    }
  };

  return {
    specificationVersion: 'v1',
    name: 'usage',
    stage: 'observe',
    prices,
    async complete(request, context, next): Promise<ChatResponse> {
      let response: ChatResponse;
      try {
        response = await next(request, context);
      } catch (error) {
        record(request, context, accountCall(prices, request, context, {}, estimator), undefined, error);
        throw error;
      }
      const account = accountCall(prices, request, context, { response }, estimator);
      if (account.costUsd !== undefined) response.costUsd = account.costUsd;
      record(request, context, account, response, undefined);
      return response;
    },
    async *stream(request, context, next): AsyncIterable<StreamEvent> {
      const watch = new StreamWatch(context);
      let failure: unknown;
      try {
        for await (const event of next(request, context)) {
          watch.add(event);
          yield event;
        }
      } catch (error) {
        failure = error;
        throw error;
      } finally {
        const account = accountCall(prices, request, context, { watch }, estimator);
        const answered = watch.committedIndex >= 0 ? watch : undefined;
        record(request, context, account, answered, failure);
      }
    },
    snapshot() {
      return [...samples.values()].map((sample) => ({ ...sample }));
    },
  };
}
