import {
  type ChatResponse,
  type Clock,
  fastTokenEstimator,
  type MiddlewareV1,
  type StreamEvent,
  type TokenEstimatorV1,
} from '@bulwark/core';
import { createReservationDesk, type TargetsOf } from './budget-reservation.js';
import { type BudgetRule, compileRules, counterKey, nano, usd } from './budget-rules.js';
import { type BudgetWindow, windowAt } from './budget-window.js';
import { StreamWatch } from './call-account.js';
import { createPriceTable, type PriceTable, type PriceTableOptions } from './price-table.js';
import type { SpendStoreV1 } from './spend-store.js';
import { createMemorySpendStore } from './spend-store.js';
import { isPriceTable } from './usage-tracker.js';

export type { TargetsOf } from './budget-reservation.js';
export type { BudgetRule } from './budget-rules.js';

/** Where a counted budget stands (for metrics and dashboards). */
export interface BudgetStatus {
  budget: string;
  scope: 'tenant' | 'model' | 'global';
  /** The tenant or model alias (absent for global budgets). */
  subject?: string;
  window: BudgetWindow;
  /** The current window's id (`2025-01-15`, `2025-01`). */
  windowId: string;
  mode: 'hard' | 'soft';
  limitUsd: number;
  /** Settled spend plus reservations of calls in flight. */
  spentUsd: number;
  /** `limitUsd − spentUsd`, never below 0. */
  remainingUsd: number;
}

export interface BudgetOptions {
  /** Spend limits per tenant, model alias or the whole gateway, per day or month. */
  budgets?: BudgetRule[];
  /**
   * Refuse a single call whose worst-case cost (prompt estimate + `maxTokens` at the dearest target's
   * price) is above this many USD, before any provider call.
   */
  maxRequestCostUsd?: number;
  /**
   * Where spend counters live. Default: in memory (one process). A `spend-store` plugin such as the Redis
   * one of `@bulwark/redis-stores` shares them between replicas.
   */
  store?: SpendStoreV1;
  /** A price table, or options to build one. Default: the built-in prices. Share the tracker's table. */
  prices?: PriceTable | PriceTableOptions;
  /**
   * The targets behind a model name, for calls that carry no route. Calls made through `createBulwark`
   * do: the client resolves the alias before middleware run (`CallContext.route`), and the estimate
   * uses the dearest target the alias may fall back to. Without either, the requested name is priced
   * as a model name.
   */
  targetsOf?: TargetsOf;
  /** Output tokens assumed when a request sets no `maxTokens`. Default 4096. */
  defaultMaxTokens?: number;
  /**
   * A call whose model has no price cannot be checked against a hard budget. `deny` (default) refuses
   * it with `BudgetExceededError`; `allow` lets it through and counts only priced attempts.
   */
  unpricedModels?: 'deny' | 'allow';
  /**
   * When the store fails (Redis down): `allow` (default) lets calls through uncounted and logs an error;
   * `deny` refuses them with `BudgetExceededError`.
   */
  onStoreError?: 'allow' | 'deny';
  /** Clock for the UTC windows. Default: the call's clock. */
  clock?: Clock;
  /**
   * Counts the prompt a reservation is sized by and the output of cut streams. Default: core's fast
   * per-script estimate; `await loadO200kTokenEstimator()` for exact o200k counts.
   */
  tokenEstimator?: TokenEstimatorV1;
  /** Subjects (tenants, aliases) per rule that `status()` reports. Default 100. */
  maxStatusSubjects?: number;
}

/** The budget middleware (stage `budget`) and a view of where the budgets stand. */
export interface Budget extends MiddlewareV1 {
  readonly rules: readonly Required<Omit<BudgetRule, 'match'>>[];
  /** Spend and remaining allowance of global budgets, `match` budgets and recently seen subjects. */
  status(): Promise<BudgetStatus[]>;
  /** Closes the store. */
  close(): Promise<void>;
}

/**
 * Budgets, checked before any provider call (stage `budget`, inside the cache so hits cost nothing).
 * Each call reserves its worst-case cost (prompt estimate + `maxTokens` at the dearest target's price)
 * on every budget that applies, in one atomic step, and settles to the actual cost when it ends. A hard
 * budget that would be exceeded fails the call with `BudgetExceededError` (the gateway answers 402);
 * a soft one emits `budget:exceeded` and logs a warning. Aliases are priced by their targets, read
 * from the route on the call context.
 *
 * ```ts
 * const budget = createBudget({ budgets: [{ scope: 'tenant', window: 'day', limitUsd: 5 }], maxRequestCostUsd: 0.5 });
 * const bulwark = createBulwark({ providers, models, middleware: [usage, budget] });
 * ```
 */
export function createBudget(options: BudgetOptions = {}): Budget {
  const rules = compileRules(options);
  const prices = isPriceTable(options.prices) ? options.prices : createPriceTable(options.prices);
  const store = options.store ?? createMemorySpendStore(options.clock ? { clock: options.clock } : {});
  const hasHard = rules.some((rule) => rule.hard) || options.maxRequestCostUsd !== undefined;
  const active = hasHard || rules.length > 0;
  let statusClock: Clock | undefined = options.clock;
  const desk = createReservationDesk({
    rules,
    prices,
    store,
    ceilingUsd: options.maxRequestCostUsd,
    defaultMaxTokens: options.defaultMaxTokens ?? 4096,
    denyUnpriced: (options.unpricedModels ?? 'deny') === 'deny',
    denyOnStoreError: options.onStoreError === 'deny',
    maxSubjects: options.maxStatusSubjects ?? 100,
    targetsOf: options.targetsOf,
    tokenEstimator: options.tokenEstimator ?? fastTokenEstimator,
    clockOf(context) {
      const clock = options.clock ?? context.clock;
      statusClock ??= clock;
      return clock;
    },
  });

  return {
    specificationVersion: 'v1',
    name: 'budget',
    stage: 'budget',
    rules: rules.map(({ name, scope, window, limitUsd, hard }) => ({
      name,
      scope,
      window,
      limitUsd,
      mode: hard ? ('hard' as const) : ('soft' as const),
    })),
    async complete(request, context, next) {
      const reservation = active ? await desk.admit(request, context) : undefined;
      if (!reservation) return next(request, context);
      let response: ChatResponse | undefined;
      try {
        response = await next(request, context);
        return response;
      } finally {
        await desk.settle(reservation, request, context, response ? { response } : {});
      }
    },
    async *stream(request, context, next): AsyncIterable<StreamEvent> {
      const reservation = active ? await desk.admit(request, context) : undefined;
      if (!reservation) {
        yield* next(request, context);
        return;
      }
      const watch = new StreamWatch(context);
      try {
        for await (const event of next(request, context)) {
          watch.add(event);
          yield event;
        }
      } finally {
        await desk.settle(reservation, request, context, { watch });
      }
    },
    async status() {
      const now = (statusClock ?? { now: () => Date.now() }).now();
      const rows: BudgetStatus[] = [];
      const keys: string[] = [];
      for (const rule of rules) {
        const window = windowAt(now, rule.window);
        const subjects: (string | undefined)[] =
          rule.scope === 'global'
            ? [undefined]
            : rule.match !== undefined
              ? [rule.match]
              : [...rule.subjects];
        for (const subject of subjects) {
          keys.push(counterKey(rule, subject, window.id));
          const row: BudgetStatus = {
            budget: rule.name,
            scope: rule.scope,
            window: rule.window,
            windowId: window.id,
            mode: rule.hard ? 'hard' : 'soft',
            limitUsd: rule.limitUsd,
            spentUsd: 0,
            remainingUsd: rule.limitUsd,
          };
          if (subject !== undefined) row.subject = subject;
          rows.push(row);
        }
      }
      const values = await store.read(keys);
      for (const [index, row] of rows.entries()) {
        row.spentUsd = usd(values[index] ?? 0);
        row.remainingUsd = Math.max(0, usd(nano(row.limitUsd) - (values[index] ?? 0)));
      }
      return rows;
    },
    async close() {
      await store.close?.();
    },
  };
}
