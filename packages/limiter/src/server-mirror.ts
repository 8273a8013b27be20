import type { RateLimitInfo } from '@bulwark/core';
import { minute } from './limits.js';
import type { TargetState } from './target-state.js';

/** A server-reported allowance mirrored locally: a token bucket seeded from `remaining` and `reset`. */
export interface ServerBudget {
  tokens: number;
  capacity: number;
  refillPerMs: number;
  updatedAt: number;
}

function refillBudget(budget: ServerBudget, now: number): void {
  if (now <= budget.updatedAt) return;
  budget.tokens = Math.min(budget.capacity, budget.tokens + (now - budget.updatedAt) * budget.refillPerMs);
  budget.updatedAt = now;
}

/** Ms until the provider's mirrored allowance (and any 429 pause) lets a call of `costs` go; 0 for now. */
export function serverWait(state: TargetState, costs: readonly number[], now: number): number {
  let wait = state.pausedUntil > now ? state.pausedUntil - now : 0;
  for (let index = 0; index < state.serverBudgets.length; index += 1) {
    const budget = state.serverBudgets[index];
    if (!budget) continue;
    refillBudget(budget, now);
    if (budget.tokens >= budget.capacity) {
      state.serverBudgets[index] = undefined;
      continue;
    }
    const cost = costs[index] ?? 0;
    if (budget.tokens >= cost) continue;
    const needed = budget.refillPerMs > 0 ? (cost - budget.tokens) / budget.refillPerMs : minute;
    if (needed > wait) wait = needed;
  }
  return wait > 0 ? Math.ceil(wait) : 0;
}

/** Takes an admitted call's costs from the mirrored allowances. */
export function chargeServerBudgets(state: TargetState, costs: readonly number[]): void {
  for (let index = 0; index < state.serverBudgets.length; index += 1) {
    const budget = state.serverBudgets[index];
    if (budget) budget.tokens -= costs[index] ?? 0;
  }
}

/** Takes a token delta (real usage minus the reservation) from the mirrored token allowance. */
export function chargeServerTokens(state: TargetState, delta: number): void {
  const budget = state.serverBudgets[state.tokenIndex];
  if (budget) budget.tokens -= delta;
}

function updateBudget(
  state: TargetState,
  index: number,
  limit: number | undefined,
  remaining: number | undefined,
  resetMs: number | undefined,
  now: number,
): void {
  // Azure sends -1 and 0 placeholders; a header that cannot describe a real allowance is ignored.
  if (remaining === undefined || !Number.isFinite(remaining) || remaining < 0) return;
  if (limit !== undefined && (!Number.isFinite(limit) || limit <= 0)) return;
  if (resetMs === undefined || !Number.isFinite(resetMs) || resetMs < 0) return;
  const capacity = limit ?? Math.max(remaining, state.dimensions[index]!.burst);
  if (remaining >= capacity || resetMs === 0) {
    state.serverBudgets[index] = undefined;
    return;
  }
  state.serverBudgets[index] = {
    tokens: remaining,
    capacity,
    refillPerMs: (capacity - remaining) / resetMs,
    updatedAt: now,
  };
}

/** Mirrors the provider's `remaining`/`reset` headers for requests and tokens. */
export function mirrorRateLimit(state: TargetState, rateLimit: RateLimitInfo, now: number): void {
  if (state.requestIndex >= 0) {
    updateBudget(
      state,
      state.requestIndex,
      rateLimit.limitRequests,
      rateLimit.remainingRequests,
      rateLimit.resetRequestsMs,
      now,
    );
  }
  if (state.tokenIndex >= 0) {
    updateBudget(
      state,
      state.tokenIndex,
      rateLimit.limitTokens,
      rateLimit.remainingTokens,
      rateLimit.resetTokensMs,
      now,
    );
  }
}
