import { type CallContext, type ChatRequest, ConfigError } from '@bulwark/core';
import type { BudgetWindow } from './budget-window.js';

/** A spend limit over a UTC window. */
export interface BudgetRule {
  /** Name in errors, events and metrics. Default `<scope>-<window>` (plus `-<match>`). Must be unique. */
  name?: string;
  /** `tenant`: each tenant (`metadata.tenant`) separately; `model`: each requested model alias; `global`: everything. */
  scope: 'tenant' | 'model' | 'global';
  /** Only this tenant or model alias. Absent: every tenant / alias gets its own counter with this limit. */
  match?: string;
  window: BudgetWindow;
  /** USD the window may spend. */
  limitUsd: number;
  /** `hard` (default): refuse calls that would go over. `soft`: let them through, emit `budget:exceeded` and log. */
  mode?: 'hard' | 'soft';
}

/** A validated rule, with its limit in nano-USD and the subjects `status()` reports. */
export interface CompiledRule {
  name: string;
  scope: 'tenant' | 'model' | 'global';
  match: string | undefined;
  window: BudgetWindow;
  limitUsd: number;
  /** `limitUsd` in nano-USD. */
  limit: number;
  hard: boolean;
  /** Subjects seen so far (bounded by the budget's `maxStatusSubjects`). */
  subjects: Set<string>;
}

/** USD → integer nano-USD: counters hold integers, so sums are exact. */
export const nano = (usd: number): number => Math.round(usd * 1e9);
/** Nano-USD → USD. */
export const usd = (value: number): number => value / 1e9;

export const formatUsd = (value: number): string => `$${value.toFixed(value < 1 ? 6 : 2)}`;

function invalid(path: string, message: string): ConfigError {
  return new ConfigError({ path, message: `${path} ${message}` });
}

/** Checks the rules and the numeric options; throws `ConfigError` naming the field. */
export function compileRules(options: {
  budgets?: readonly BudgetRule[];
  maxRequestCostUsd?: number;
  defaultMaxTokens?: number;
}): CompiledRule[] {
  const rules: CompiledRule[] = [];
  const names = new Set<string>();
  for (const [index, rule] of (options.budgets ?? []).entries()) {
    const path = `budgets[${index}]`;
    if (!['tenant', 'model', 'global'].includes(rule.scope)) {
      throw invalid(`${path}.scope`, `must be tenant, model or global (got ${String(rule.scope)})`);
    }
    if (rule.window !== 'day' && rule.window !== 'month') {
      throw invalid(`${path}.window`, `must be day or month (got ${String(rule.window)})`);
    }
    if (typeof rule.limitUsd !== 'number' || !Number.isFinite(rule.limitUsd) || rule.limitUsd < 0) {
      throw invalid(
        `${path}.limitUsd`,
        `must be a non-negative number of USD (got ${String(rule.limitUsd)})`,
      );
    }
    if (rule.mode !== undefined && rule.mode !== 'hard' && rule.mode !== 'soft') {
      throw invalid(`${path}.mode`, `must be hard or soft (got ${String(rule.mode)})`);
    }
    if (rule.match !== undefined && rule.scope === 'global') {
      throw invalid(`${path}.match`, 'makes no sense for a global budget');
    }
    const name =
      rule.name ?? `${rule.scope}-${rule.window}${rule.match === undefined ? '' : `-${rule.match}`}`;
    if (names.has(name)) {
      throw invalid(`${path}.name`, `"${name}" is used by another budget; names must be unique`);
    }
    names.add(name);
    rules.push({
      name,
      scope: rule.scope,
      match: rule.match,
      window: rule.window,
      limitUsd: rule.limitUsd,
      limit: nano(rule.limitUsd),
      hard: (rule.mode ?? 'hard') === 'hard',
      subjects: new Set(),
    });
  }
  const ceiling = options.maxRequestCostUsd;
  if (ceiling !== undefined && (typeof ceiling !== 'number' || !Number.isFinite(ceiling) || ceiling < 0)) {
    throw invalid('maxRequestCostUsd', `must be a non-negative number of USD (got ${String(ceiling)})`);
  }
  const maxTokens = options.defaultMaxTokens;
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens <= 0)) {
    throw invalid('defaultMaxTokens', `must be a positive integer (got ${String(maxTokens)})`);
  }
  return rules;
}

/**
 * Who a rule counts this call against: the tenant, the requested model, `undefined` for a global rule,
 * or `null` when the rule does not apply (no tenant, or another `match`).
 */
export function subjectOf(
  rule: CompiledRule,
  request: ChatRequest,
  context: CallContext,
): string | undefined | null {
  const subject =
    rule.scope === 'tenant' ? context.metadata.tenant : rule.scope === 'model' ? request.model : undefined;
  if (rule.scope !== 'global' && subject === undefined) return null;
  if (rule.match !== undefined && rule.match !== subject) return null;
  return subject;
}

/** The store key of a rule's counter for one subject and window. */
export function counterKey(rule: CompiledRule, subject: string | undefined, windowId: string): string {
  return `${encodeURIComponent(rule.name)}:${subject === undefined ? '*' : encodeURIComponent(subject)}:${windowId}`;
}
