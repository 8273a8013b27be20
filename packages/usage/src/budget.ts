import {
  BudgetExceededError,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type Clock,
  ConfigError,
  type MiddlewareV1,
  type StreamEvent,
} from '@bulwark/core';
import { type BudgetWindow, windowAt, windowGraceMs } from './budget-window.js';
import { accountCall, StreamWatch } from './call-account.js';
import type { BudgetExceededEvent, BudgetScope } from './events.js';
import { costOf, createPriceTable, type PriceTable, type PriceTableOptions } from './price-table.js';
import type { SpendEntry, SpendStoreV1 } from './spend-store.js';
import { createMemorySpendStore } from './spend-store.js';
import { estimateRequestTokens } from './token-estimate.js';
import { isPriceTable } from './usage-tracker.js';

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

/** A model's targets, as `bulwark.resolve(model).targets` returns them. */
export type TargetsOf = (
  model: string,
) => readonly { provider: string; model: string; overrides?: { maxTokens?: number } }[] | undefined;

export interface BudgetOptions {
  /** Spend limits per tenant, model alias or the whole gateway, per day or month. */
  budgets?: BudgetRule[];
  /**
   * Refuse a single call whose worst-case cost (prompt estimate + `maxTokens` at the dearest target's
   * price) is above this many USD, before any provider call.
   */
  maxRequestCostUsd?: number;
  /** Where spend counters live. Default: in memory (one process). Use `createRedisSpendStore` for replicas. */
  store?: SpendStoreV1;
  /** A price table, or options to build one. Default: the built-in prices. Share the tracker's table. */
  prices?: PriceTable | PriceTableOptions;
  /**
   * The targets behind a model alias, so the estimate uses the dearest target a fallback could reach
   * (pass `(model) => bulwark.resolve(model).targets`, or call `useTargets` later). Without it the
   * requested model name is priced as is, which only works for provider model names, not aliases.
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
  /** Subjects (tenants, aliases) per rule that `status()` reports. Default 100. */
  maxStatusSubjects?: number;
}

/** The budget middleware (stage `budget`) and a view of where the budgets stand. */
export interface Budget extends MiddlewareV1 {
  readonly rules: readonly Required<Omit<BudgetRule, 'match'>>[];
  /** Spend and remaining allowance of global budgets, `match` budgets and recently seen subjects. */
  status(): Promise<BudgetStatus[]>;
  /**
   * Sets how model aliases map to targets after creation (when the budget was made before the client,
   * e.g. by the plugin registry): `budget.useTargets((model) => bulwark.resolve(model).targets)`.
   */
  useTargets(targetsOf: TargetsOf): void;
  /** Closes the store. */
  close(): Promise<void>;
}

interface Rule {
  name: string;
  scope: 'tenant' | 'model' | 'global';
  match: string | undefined;
  window: BudgetWindow;
  limitUsd: number;
  limit: number;
  hard: boolean;
  subjects: Set<string>;
}

interface Reservation {
  entries: SpendEntry[];
  reserved: number;
  estimateUsd: number;
}

const nano = (usd: number): number => Math.round(usd * 1e9);
const usd = (value: number): number => value / 1e9;

function validate(options: BudgetOptions): Rule[] {
  const rules: Rule[] = [];
  const names = new Set<string>();
  for (const [index, rule] of (options.budgets ?? []).entries()) {
    const path = `budgets[${index}]`;
    if (!['tenant', 'model', 'global'].includes(rule.scope)) {
      throw new ConfigError({
        path: `${path}.scope`,
        message: `${path}.scope must be tenant, model or global (got ${String(rule.scope)})`,
      });
    }
    if (rule.window !== 'day' && rule.window !== 'month') {
      throw new ConfigError({
        path: `${path}.window`,
        message: `${path}.window must be day or month (got ${String(rule.window)})`,
      });
    }
    if (typeof rule.limitUsd !== 'number' || !Number.isFinite(rule.limitUsd) || rule.limitUsd < 0) {
      throw new ConfigError({
        path: `${path}.limitUsd`,
        message: `${path}.limitUsd must be a non-negative number of USD (got ${String(rule.limitUsd)})`,
      });
    }
    if (rule.mode !== undefined && rule.mode !== 'hard' && rule.mode !== 'soft') {
      throw new ConfigError({
        path: `${path}.mode`,
        message: `${path}.mode must be hard or soft (got ${String(rule.mode)})`,
      });
    }
    if (rule.match !== undefined && rule.scope === 'global') {
      throw new ConfigError({
        path: `${path}.match`,
        message: `${path}.match makes no sense for a global budget`,
      });
    }
    const name =
      rule.name ?? `${rule.scope}-${rule.window}${rule.match === undefined ? '' : `-${rule.match}`}`;
    if (names.has(name)) {
      throw new ConfigError({
        path: `${path}.name`,
        message: `${path}.name "${name}" is used by another budget; names must be unique`,
      });
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
    throw new ConfigError({
      path: 'maxRequestCostUsd',
      message: `maxRequestCostUsd must be a non-negative number of USD (got ${String(ceiling)})`,
    });
  }
  const maxTokens = options.defaultMaxTokens;
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens <= 0)) {
    throw new ConfigError({
      path: 'defaultMaxTokens',
      message: `defaultMaxTokens must be a positive integer (got ${String(maxTokens)})`,
    });
  }
  return rules;
}

const formatUsd = (value: number): string => `$${value.toFixed(value < 1 ? 6 : 2)}`;

/**
 * Budgets, checked before any provider call (stage `budget`, inside the cache so hits cost nothing).
 * Each call reserves its worst-case cost (prompt estimate + `maxTokens` at the dearest target's price)
 * on every budget that applies, in one atomic step, and settles to the actual cost when it ends. A hard
 * budget that would be exceeded fails the call with `BudgetExceededError` (the gateway answers 402);
 * a soft one emits `budget:exceeded` and logs a warning.
 *
 * ```ts
 * const budget = createBudget({ budgets: [{ scope: 'tenant', window: 'day', limitUsd: 5 }], maxRequestCostUsd: 0.5 });
 * const bulwark = createBulwark({ providers, models, middleware: [usage, budget] });
 * ```
 */
export function createBudget(options: BudgetOptions = {}): Budget {
  const rules = validate(options);
  const prices = isPriceTable(options.prices) ? options.prices : createPriceTable(options.prices);
  const store = options.store ?? createMemorySpendStore(options.clock ? { clock: options.clock } : {});
  const defaultMaxTokens = options.defaultMaxTokens ?? 4096;
  const denyUnpriced = (options.unpricedModels ?? 'deny') === 'deny';
  const denyOnStoreError = options.onStoreError === 'deny';
  const ceiling = options.maxRequestCostUsd;
  const maxSubjects = options.maxStatusSubjects ?? 100;
  const hasHard = rules.some((rule) => rule.hard) || ceiling !== undefined;
  const warnedSoft = new Set<string>();
  let statusClock: Clock | undefined = options.clock;
  let targetsOf = options.targetsOf;

  const subjectOf = (rule: Rule, request: ChatRequest, context: CallContext): string | undefined | null => {
    const subject =
      rule.scope === 'tenant' ? context.metadata.tenant : rule.scope === 'model' ? request.model : undefined;
    if (rule.scope !== 'global' && subject === undefined) return null;
    if (rule.match !== undefined && rule.match !== subject) return null;
    return subject;
  };

  /** Worst-case USD of the call, or `undefined` when some target it may reach has no price. */
  const estimate = (request: ChatRequest): { usd: number | undefined; unpriced: string[] } => {
    let candidates: ReturnType<TargetsOf>;
    try {
      candidates = targetsOf?.(request.model);
    } catch {
      candidates = undefined;
    }
    const inputTokens = estimateRequestTokens(request);
    let worst = 0;
    const unpriced: string[] = [];
    for (const candidate of candidates ?? [{ provider: undefined, model: request.model }]) {
      const price = prices.priceOf(candidate.provider, candidate.model);
      if (!price) {
        unpriced.push(
          candidate.provider === undefined ? candidate.model : `${candidate.provider}/${candidate.model}`,
        );
        continue;
      }
      const outputTokens =
        ('overrides' in candidate ? candidate.overrides?.maxTokens : undefined) ??
        request.maxTokens ??
        defaultMaxTokens;
      const cost = costOf({ inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }, price) ?? 0;
      worst = Math.max(worst, cost);
    }
    return { usd: unpriced.length > 0 ? undefined : worst, unpriced };
  };

  const emit = (context: CallContext, payload: Omit<BudgetExceededEvent, 'callId' | 'tenant'>): void => {
    if (!context.events.has('budget:exceeded')) return;
    const event: BudgetExceededEvent = { callId: context.callId, ...payload };
    if (context.metadata.tenant !== undefined) event.tenant = context.metadata.tenant;
    context.events.emit('budget:exceeded', event);
  };

  const refuse = (
    context: CallContext,
    details: { budget: string; scope: BudgetScope; message: string; retryAfterMs?: number },
    event: Omit<BudgetExceededEvent, 'callId' | 'tenant' | 'budget' | 'scope' | 'mode'>,
  ): never => {
    emit(context, { budget: details.budget, scope: details.scope, mode: 'hard', ...event });
    throw new BudgetExceededError({
      budget: details.budget,
      message: details.message,
      ...(details.retryAfterMs === undefined ? {} : { retryAfterMs: details.retryAfterMs }),
    });
  };

  /** Checks and reserves; returns undefined when no budget applies. */
  const admit = async (request: ChatRequest, context: CallContext): Promise<Reservation | undefined> => {
    const clock = options.clock ?? context.clock;
    statusClock ??= clock;
    const applicable: { rule: Rule; subject: string | undefined }[] = [];
    for (const rule of rules) {
      const subject = subjectOf(rule, request, context);
      if (subject !== null) applicable.push({ rule, subject });
    }
    if (applicable.length === 0 && ceiling === undefined) return undefined;

    const { usd: estimated, unpriced } = estimate(request);
    let estimateUsd = estimated ?? 0;
    if (
      estimated === undefined &&
      denyUnpriced &&
      (ceiling !== undefined || applicable.some(({ rule }) => rule.hard))
    ) {
      const rule = applicable.find((candidate) => candidate.rule.hard)?.rule;
      refuse(
        context,
        {
          budget: rule?.name ?? 'request',
          scope: rule?.scope ?? 'request',
          message: `No price for ${unpriced.join(', ')}: the hard budget "${rule?.name ?? 'request'}" cannot be enforced. Add a price, or set unpricedModels: 'allow'.`,
        },
        { limitUsd: rule?.limitUsd ?? ceiling ?? 0, spentUsd: 0, estimateUsd: 0 },
      );
    }
    if (estimated === undefined) estimateUsd = 0;
    if (ceiling !== undefined && estimateUsd > ceiling) {
      refuse(
        context,
        {
          budget: 'request',
          scope: 'request',
          message: `This call may cost up to ${formatUsd(estimateUsd)} (prompt estimate + maxTokens), above the per-request ceiling of ${formatUsd(ceiling)}. Lower maxTokens or shorten the prompt.`,
        },
        { limitUsd: ceiling, spentUsd: 0, estimateUsd },
      );
    }
    if (applicable.length === 0) return undefined;

    const now = clock.now();
    const amount = nano(estimateUsd);
    const entries: SpendEntry[] = [];
    const windows: { endsAt: number }[] = [];
    for (const { rule, subject } of applicable) {
      const window = windowAt(now, rule.window);
      windows.push(window);
      if (subject !== undefined && rule.subjects.size < maxSubjects) rule.subjects.add(subject);
      const entry: SpendEntry = {
        key: counterKey(rule, subject, window.id),
        amount,
        ttlMs: window.endsAt - now + windowGraceMs,
      };
      if (rule.hard) entry.limit = rule.limit;
      entries.push(entry);
    }
    let result: Awaited<ReturnType<SpendStoreV1['reserve']>>;
    try {
      result = await store.reserve(entries);
    } catch (error) {
      context.logger.error('budget store failed; the call is not counted', { error: errorMessage(error) });
      if (denyOnStoreError) {
        throw new BudgetExceededError({
          budget: applicable[0]!.rule.name,
          message:
            'The budget store is unavailable and budgets are configured to refuse calls then (onStoreError: deny)',
          cause: error,
        });
      }
      return undefined;
    }
    if (!result.ok) {
      const index = result.refused ?? 0;
      const { rule, subject } = applicable[index]!;
      const spentUsd = usd(result.before[index] ?? 0);
      refuse(
        context,
        {
          budget: rule.name,
          scope: rule.scope,
          retryAfterMs: Math.max(0, windows[index]!.endsAt - now),
          message: `Budget "${rule.name}"${subject === undefined ? '' : ` for ${rule.scope} "${subject}"`} would be exceeded: ${formatUsd(spentUsd)} of ${formatUsd(rule.limitUsd)} spent or reserved this ${rule.window}, and this call may cost up to ${formatUsd(estimateUsd)}.`,
        },
        {
          ...(subject === undefined ? {} : { subject }),
          window: rule.window,
          limitUsd: rule.limitUsd,
          spentUsd,
          estimateUsd,
        },
      );
    }
    for (const [index, { rule, subject }] of applicable.entries()) {
      if (rule.hard || (result.before[index] ?? 0) + amount <= rule.limit) continue;
      const spentUsd = usd(result.before[index] ?? 0);
      emit(context, {
        budget: rule.name,
        scope: rule.scope,
        ...(subject === undefined ? {} : { subject }),
        window: rule.window,
        mode: 'soft',
        limitUsd: rule.limitUsd,
        spentUsd,
        estimateUsd,
      });
      const key = entries[index]!.key;
      if (!warnedSoft.has(key)) {
        if (warnedSoft.size >= 10_000) warnedSoft.clear();
        warnedSoft.add(key);
        context.logger.warn('soft budget exceeded', {
          budget: rule.name,
          ...(subject === undefined ? {} : { subject }),
          window: rule.window,
          limitUsd: rule.limitUsd,
          spentUsd,
        });
      }
    }
    return { entries, reserved: amount, estimateUsd };
  };

  const settle = async (
    reservation: Reservation,
    request: ChatRequest,
    context: CallContext,
    outcome: { response?: ChatResponse; watch?: StreamWatch },
  ): Promise<void> => {
    const account = accountCall(prices, request, context, outcome);
    // Attempts without a price: keep at least the reservation, which priced the call's known targets.
    const actual =
      account.unpriced.length > 0
        ? Math.max(nano(account.pricedCostUsd), reservation.reserved)
        : nano(account.costUsd ?? 0);
    const delta = actual - reservation.reserved;
    if (delta === 0) return;
    try {
      await store.add(
        reservation.entries.map((entry) => ({ key: entry.key, amount: delta, ttlMs: entry.ttlMs })),
      );
    } catch (error) {
      context.logger.error('budget store failed while settling a call', { error: errorMessage(error) });
    }
  };

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
      if (!hasHard && rules.length === 0) return next(request, context);
      const reservation = await admit(request, context);
      if (!reservation) return next(request, context);
      let response: ChatResponse | undefined;
      try {
        response = await next(request, context);
        return response;
      } finally {
        await settle(reservation, request, context, response ? { response } : {});
      }
    },
    async *stream(request, context, next): AsyncIterable<StreamEvent> {
      const reservation = rules.length === 0 && !hasHard ? undefined : await admit(request, context);
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
        await settle(reservation, request, context, { watch });
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
    useTargets(resolve) {
      targetsOf = resolve;
    },
    async close() {
      await store.close?.();
    },
  };
}

function counterKey(rule: Rule, subject: string | undefined, windowId: string): string {
  return `${encodeURIComponent(rule.name)}:${subject === undefined ? '*' : encodeURIComponent(subject)}:${windowId}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
