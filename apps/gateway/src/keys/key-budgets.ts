import { ConfigError } from '@bulwark/core';
import { type GatewayConfig, tenantName } from '../config/config-schema.js';

/**
 * The config with each key's `budget` added to the budget section as a rule of its tenant
 * (`{ name: key-<tenant>-<window>, scope: tenant, match: <tenant> }`), so the budget middleware keeps
 * it on its spend store like any other (`budget.store: { plugin: redis }` shares it across replicas).
 * A key budget turns the budget section on (in-process store) when the config has none; `budget: false`
 * with a key budget is a config error naming the key.
 */
export function withKeyBudgets(config: GatewayConfig): GatewayConfig {
  const rules: Array<Record<string, unknown>> = [];
  for (const [index, entry] of (config.auth?.keys ?? []).entries()) {
    if (typeof entry === 'string' || !entry.budget) continue;
    if (config.budget === false)
      throw new ConfigError({
        path: `auth.keys.${index}.budget`,
        message: `auth.keys[${index}].budget needs the budget middleware, but the config has budget: false`,
      });
    const tenant = tenantName(entry, index);
    rules.push({
      name: `key-${tenant}-${entry.budget.window}`,
      scope: 'tenant',
      match: tenant,
      window: entry.budget.window,
      limitUsd: entry.budget.limitUsd,
      mode: entry.budget.mode,
    });
  }
  if (rules.length === 0) return config;
  const section = (config.budget || {}) as Record<string, unknown> & { budgets?: unknown[] };
  return { ...config, budget: { ...section, budgets: [...(section.budgets ?? []), ...rules] } };
}
