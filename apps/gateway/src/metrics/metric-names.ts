import { type GatewayConfig, tenantName } from '../config/config-schema.js';

/**
 * The names a metric label may hold: only names the operator configured. Any other value (a model
 * name a client made up, a pass-through `provider/model` that is no configured target) is reported as
 * `other`, so clients cannot grow the exposition.
 */
export interface MetricLabelNames {
  /** Model names clients may send that are configured: aliases, target models, `provider/model` of targets. */
  requestModels: Iterable<string>;
  /** Configured provider instances. */
  providers: Iterable<string>;
  /** Upstream model names of configured targets. */
  models: Iterable<string>;
  /** Tenant names of the configured API keys (the empty string stands for "no auth"). */
  tenants: Iterable<string>;
}

type TargetLike = { provider: string; model: string };

/** The label names a gateway config allows. */
export function metricNamesFromConfig(config: GatewayConfig): MetricLabelNames {
  const targets: TargetLike[] = [];
  for (const alias of Object.values(config.models)) {
    if (Array.isArray(alias)) targets.push(...alias);
    else {
      targets.push(...alias.targets);
      if (alias.contentFilterFallback) targets.push(alias.contentFilterFallback);
    }
  }
  const models = targets.map((target) => target.model);
  const tenants = [''];
  for (const [index, entry] of (config.auth?.keys ?? []).entries()) tenants.push(tenantName(entry, index));
  return {
    requestModels: [
      ...Object.keys(config.models),
      ...models,
      ...targets.map((target) => `${target.provider}/${target.model}`),
    ],
    providers: Object.keys(config.providers),
    models,
    tenants,
  };
}
