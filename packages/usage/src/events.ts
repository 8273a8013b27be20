import type { CacheStatus, CallEventBase, Usage } from '@bulwark/core';
import type { AttemptCost } from './call-account.js';

/** Which spend a budget counts. */
export type BudgetScope = 'tenant' | 'model' | 'global' | 'request';

/** Payload of `usage:recorded`: one per call that went through the usage tracker. */
export type UsageRecordedEvent = CallEventBase & {
  /** The model name the caller asked for (an alias or a provider model). */
  model: string;
  stream: boolean;
  /** Sum over `attempts`. */
  usage: Usage;
  /** USD of the whole call (billed failures included); absent when some attempt has no price. */
  costUsd?: number;
  attempts: AttemptCost[];
  /** `provider/model` of attempts whose cost is unknown. */
  unpriced: string[];
  cache?: CacheStatus;
  /** For a cache hit: what the answer cost when it was made. */
  savedUsd?: number;
  estimated: boolean;
  /** The call's error code when it failed. */
  error?: string;
};

/** Payload of `budget:exceeded`: a call would go over a budget (hard: it was refused; soft: it proceeds). */
export type BudgetExceededEvent = CallEventBase & {
  /** The budget's name. */
  budget: string;
  scope: BudgetScope;
  /** The tenant or model the budget counted (absent for global and request budgets). */
  subject?: string;
  window?: 'day' | 'month';
  mode: 'hard' | 'soft';
  limitUsd: number;
  /** Spend (settled plus reserved) in the window before this call. */
  spentUsd: number;
  /** The call's estimated worst-case cost. */
  estimateUsd: number;
};

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    'usage:recorded': UsageRecordedEvent;
    'budget:exceeded': BudgetExceededEvent;
  }
}
