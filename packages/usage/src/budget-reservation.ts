import {
  BudgetExceededError,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type TokenEstimatorV1,
} from '@bulwark/core';
import { type CompiledRule, counterKey, formatUsd, nano, subjectOf, usd } from './budget-rules.js';
import { windowAt, windowGraceMs } from './budget-window.js';
import { accountCall, type StreamWatch } from './call-account.js';
import type { BudgetExceededEvent, BudgetScope } from './events.js';
import { costOf, type PriceTable } from './price-table.js';
import type { SpendEntry, SpendStoreV1 } from './spend-store.js';
import { estimateRequestTokens } from './token-estimate.js';

/** A target a call may reach, as `CallContext.route` lists them. */
export interface PricedTarget {
  provider: string;
  model: string;
  overrides?: { maxTokens?: number };
}

/** A model's targets, for calls that carry no route (the budget used outside `createBulwark`). */
export type TargetsOf = (model: string) => readonly PricedTarget[] | undefined;

/** What one admitted call holds on the counters until it settles. */
export interface Reservation {
  entries: SpendEntry[];
  /** Nano-USD added to every entry. */
  reserved: number;
  estimateUsd: number;
}

export interface ReservationDesk {
  /** Checks the ceiling and every applicable rule, then reserves the worst case; `undefined` when nothing applies. */
  admit(request: ChatRequest, context: CallContext): Promise<Reservation | undefined>;
  /** Moves the counters from the reservation to what the call actually cost. */
  settle(
    reservation: Reservation,
    request: ChatRequest,
    context: CallContext,
    outcome: { response?: ChatResponse; watch?: StreamWatch },
  ): Promise<void>;
}

export interface ReservationDeskOptions {
  rules: CompiledRule[];
  prices: PriceTable;
  store: SpendStoreV1;
  ceilingUsd: number | undefined;
  defaultMaxTokens: number;
  denyUnpriced: boolean;
  denyOnStoreError: boolean;
  maxSubjects: number;
  targetsOf: TargetsOf | undefined;
  /** Counts prompt tokens for reservations and output tokens of cut streams. */
  tokenEstimator: TokenEstimatorV1;
  /** The clock of the windows for this call (the budget's, else the call's). */
  clockOf(context: CallContext): { now(): number };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The targets a call may reach: the route the client resolved (the alias's targets and its
 * content-filter fallback), else `targetsOf`, else the requested name priced as a model name.
 */
function candidatesOf(
  request: ChatRequest,
  context: CallContext,
  targetsOf: TargetsOf | undefined,
): readonly { provider?: string; model: string; overrides?: { maxTokens?: number } }[] {
  const route = context.route;
  if (route && route.model === request.model) {
    return route.contentFilterFallback ? [...route.targets, route.contentFilterFallback] : route.targets;
  }
  try {
    const found = targetsOf?.(request.model);
    if (found) return found;
  } catch {}
  return [{ model: request.model }];
}

/** Reservation and settlement of calls against the budget counters. */
export function createReservationDesk(options: ReservationDeskOptions): ReservationDesk {
  const { rules, prices, store, ceilingUsd: ceiling } = options;
  const warnedSoft = new Set<string>();

  /** Worst-case USD of the call, or `undefined` when some target it may reach has no price. */
  const estimate = (
    request: ChatRequest,
    context: CallContext,
  ): { usd: number | undefined; unpriced: string[] } => {
    const inputTokens = estimateRequestTokens(request, options.tokenEstimator);
    let worst = 0;
    const unpriced: string[] = [];
    for (const candidate of candidatesOf(request, context, options.targetsOf)) {
      const price = prices.priceOf(candidate.provider, candidate.model);
      if (!price) {
        unpriced.push(
          candidate.provider === undefined ? candidate.model : `${candidate.provider}/${candidate.model}`,
        );
        continue;
      }
      const outputTokens = candidate.overrides?.maxTokens ?? request.maxTokens ?? options.defaultMaxTokens;
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

  const warnSoft = (
    context: CallContext,
    applicable: { rule: CompiledRule; subject: string | undefined }[],
    entries: SpendEntry[],
    before: number[],
    amount: number,
    estimateUsd: number,
  ): void => {
    for (const [index, { rule, subject }] of applicable.entries()) {
      if (rule.hard || (before[index] ?? 0) + amount <= rule.limit) continue;
      const spentUsd = usd(before[index] ?? 0);
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
  };

  return {
    async admit(request, context) {
      const applicable: { rule: CompiledRule; subject: string | undefined }[] = [];
      for (const rule of rules) {
        const subject = subjectOf(rule, request, context);
        if (subject !== null) applicable.push({ rule, subject });
      }
      if (applicable.length === 0 && ceiling === undefined) return undefined;

      const { usd: estimated, unpriced } = estimate(request, context);
      if (
        estimated === undefined &&
        options.denyUnpriced &&
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
      const estimateUsd = estimated ?? 0;
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

      const now = options.clockOf(context).now();
      const amount = nano(estimateUsd);
      const entries: SpendEntry[] = [];
      const windows: { endsAt: number }[] = [];
      for (const { rule, subject } of applicable) {
        const window = windowAt(now, rule.window);
        windows.push(window);
        if (subject !== undefined && rule.subjects.size < options.maxSubjects) rule.subjects.add(subject);
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
        if (options.denyOnStoreError) {
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
      warnSoft(context, applicable, entries, result.before, amount, estimateUsd);
      return { entries, reserved: amount, estimateUsd };
    },

    async settle(reservation, request, context, outcome) {
      const account = accountCall(prices, request, context, outcome, options.tokenEstimator);
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
    },
  };
}
