import type { CallContext, MiddlewareV1 } from '@bulwark/core';
import { createRateLimiter, type LimiterStoreV1, type RateLimiter } from '@bulwark/limiter';
import { type GatewayConfig, tenantName } from '../config/config-schema.js';
import type { KeyLimits } from '../http/api-keys.js';
import type { GatewayPlan } from '../plan/build-plan.js';

const tenantOf = (context: CallContext): string => String(context.metadata.tenant ?? '');

/**
 * The per-key limits of `auth.keys[i].limits`, as a limiter whose scope is the caller's tenant
 * (`key:<tenant>`) on the `limiter:` section's store — on Redis they hold across replicas. It runs
 * beside the per-target limiter (every attempt counts), never queues: a key over its limit gets a 429
 * at once, with `retry-after` from the limiter's estimate of when the key may call again.
 * Undefined when no key has limits.
 */
export async function createKeyLimiter(
  config: GatewayConfig,
  plan: GatewayPlan,
  /** Limits of keys from `auth.source` (a tenant's limits are read when its first call comes). */
  sourceLimits?: (tenant: string) => KeyLimits | undefined,
): Promise<RateLimiter | undefined> {
  const limits = new Map<
    string,
    NonNullable<Exclude<NonNullable<GatewayConfig['auth']>['keys'][number], string>['limits']>
  >();
  for (const [index, entry] of (config.auth?.keys ?? []).entries()) {
    if (typeof entry !== 'string' && entry.limits) limits.set(tenantName(entry, index), entry.limits);
  }
  if (limits.size === 0 && !sourceLimits) return undefined;
  const section = config.limiter as
    | { store?: { plugin: string } & Record<string, unknown> }
    | false
    | undefined;
  let store: LimiterStoreV1 | undefined;
  const storeConfig = section ? section.store : undefined;
  if (storeConfig && storeConfig.plugin !== 'memory') {
    const { plugin, ...options } = storeConfig;
    store = (await plan.registry.create('limiter-store', plugin, options, 'limiter.store')) as LimiterStoreV1;
  }
  return createRateLimiter({
    name: 'key-limiter',
    limits: (_target, context) => limits.get(tenantOf(context)) ?? sourceLimits?.(tenantOf(context)),
    scope: (_target, context) => `key:${tenantOf(context)}`,
    ...(store ? { store } : {}),
    maxWaitMs: 0,
    adaptive: false,
  });
}

/** The pipeline with the key limiter at the limiter stage: before the first timeout, else last. */
export function withKeyLimiter(
  middleware: readonly MiddlewareV1[],
  keyLimiter: MiddlewareV1 | undefined,
): MiddlewareV1[] {
  if (!keyLimiter) return [...middleware];
  const timeout = middleware.findIndex((entry) => entry.stage === 'timeout');
  const at = timeout === -1 ? middleware.length : timeout;
  return [...middleware.slice(0, at), keyLimiter, ...middleware.slice(at)];
}
