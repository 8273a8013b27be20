import type { CallContext, Clock, Target } from '@bulwark/core';
import type { RateDimension } from './limiter-store.js';
import { type Limits, limitsToDimensions } from './limits.js';
import type { ServerBudget } from './server-mirror.js';
import { WaiterQueue } from './waiter-queue.js';

/**
 * What one limiter state covers: `provider` (every model of a configured provider shares the limits),
 * `provider+model` (each model has its own, as OpenAI and Anthropic meter them), or a function that
 * returns the key (per tenant, per credential…).
 */
export type LimiterScope = 'provider' | 'provider+model' | ((target: Target, context: CallContext) => string);

/** Counters of one scope key. */
export interface LimiterTargetStats {
  key: string;
  provider: string;
  model: string;
  /** Callers waiting now. */
  queueLength: number;
  /** Calls holding a concurrency permit now. */
  inFlight: number;
  admitted: number;
  /** Callers refused locally (full queue, expected or expired wait). */
  rejected: number;
  /** Callers that had to wait, and their total and longest wait. */
  waited: number;
  waitMsTotal: number;
  waitMsMax: number;
  /** Tokens reserved before calls, and the tokens the calls reported using (where they did). */
  tokensReserved: number;
  tokensUsed: number;
  /** Provider 429s seen. */
  rateLimited: number;
}

export interface LimiterStats {
  queueLength: number;
  inFlight: number;
  admitted: number;
  rejected: number;
  rateLimited: number;
  tokensReserved: number;
  tokensUsed: number;
  targets: LimiterTargetStats[];
}

/** Everything the limiter keeps about one scope key. */
export interface TargetState {
  key: string;
  provider: string;
  model: string;
  dimensions: RateDimension[];
  requestIndex: number;
  tokenIndex: number;
  concurrency: number;
  inFlight: number;
  queue: WaiterQueue;
  /** Clock time until which a provider 429 paused the scope. */
  pausedUntil: number;
  /** Per dimension, the allowance the provider's headers reported (mirrored locally), if any. */
  serverBudgets: Array<ServerBudget | undefined>;
  pumpTimer: (() => void) | undefined;
  pumpAt: number;
  pumping: boolean;
  stats: LimiterTargetStats;
}

/** The scope states, created on first use. */
export interface TargetStates {
  /** The state of the context's target, or undefined when it has no limits (or no target). */
  stateFor(context: CallContext): TargetState | undefined;
  /** Every state created so far. */
  all(): TargetState[];
}

const noLimits = Symbol('no limits');

export function createTargetStates(
  limits: Record<string, Limits> | ((target: Target, context: CallContext) => Limits | undefined),
  scope: LimiterScope,
): TargetStates {
  const byKey = new Map<string, TargetState | typeof noLimits>();
  const byProvider = new Map<string, Map<string, TargetState | typeof noLimits>>();

  const createState = (key: string, target: Target, context: CallContext): TargetState | typeof noLimits => {
    const found = typeof limits === 'function' ? limits(target, context) : limits[target.provider];
    if (!found) return noLimits;
    const { dimensions, requestIndex, tokenIndex, concurrency } = limitsToDimensions(
      found,
      `limits.${target.provider}`,
    );
    if (dimensions.length === 0 && concurrency === Number.POSITIVE_INFINITY) return noLimits;
    return {
      key,
      provider: target.provider,
      model: target.model,
      dimensions,
      requestIndex,
      tokenIndex,
      concurrency,
      inFlight: 0,
      queue: new WaiterQueue(dimensions.length),
      pausedUntil: 0,
      serverBudgets: new Array(dimensions.length).fill(undefined),
      pumpTimer: undefined,
      pumpAt: 0,
      pumping: false,
      stats: {
        key,
        provider: target.provider,
        model: scope === 'provider' ? '*' : target.model,
        queueLength: 0,
        inFlight: 0,
        admitted: 0,
        rejected: 0,
        waited: 0,
        waitMsTotal: 0,
        waitMsMax: 0,
        tokensReserved: 0,
        tokensUsed: 0,
        rateLimited: 0,
      },
    };
  };

  return {
    stateFor(context) {
      const target = context.target;
      if (!target) return undefined;
      let found: TargetState | typeof noLimits | undefined;
      if (typeof scope === 'function') {
        const key = scope(target, context);
        found = byKey.get(key);
        if (found === undefined) {
          found = createState(key, target, context);
          byKey.set(key, found);
        }
      } else {
        let models = byProvider.get(target.provider);
        if (!models) {
          models = new Map();
          byProvider.set(target.provider, models);
        }
        const modelKey = scope === 'provider' ? '' : target.model;
        found = models.get(modelKey);
        if (found === undefined) {
          const key = scope === 'provider' ? target.provider : `${target.provider}/${target.model}`;
          found = byKey.get(key) ?? createState(key, target, context);
          models.set(modelKey, found);
          byKey.set(key, found);
        }
      }
      return found === noLimits ? undefined : found;
    },
    all() {
      const states: TargetState[] = [];
      for (const state of new Set(byKey.values())) if (state !== noLimits) states.push(state);
      return states;
    },
  };
}

/** Sums the counters of every state. */
export function collectStats(states: readonly TargetState[]): LimiterStats {
  const targets: LimiterTargetStats[] = [];
  const total: LimiterStats = {
    queueLength: 0,
    inFlight: 0,
    admitted: 0,
    rejected: 0,
    rateLimited: 0,
    tokensReserved: 0,
    tokensUsed: 0,
    targets,
  };
  for (const state of states) {
    const stats = { ...state.stats, queueLength: state.queue.size, inFlight: state.inFlight };
    targets.push(stats);
    total.queueLength += stats.queueLength;
    total.inFlight += stats.inFlight;
    total.admitted += stats.admitted;
    total.rejected += stats.rejected;
    total.rateLimited += stats.rateLimited;
    total.tokensReserved += stats.tokensReserved;
    total.tokensUsed += stats.tokensUsed;
  }
  return total;
}

/**
 * The limiter's time source: the configured clock, or else the clock of the first call's context
 * (set on the first admission, read by everything after it).
 */
export interface LimiterClock {
  /** The clock, taking the context's when none is set yet. */
  of(context: CallContext): Clock;
  /** The clock set so far (only read after a first admission set it). */
  readonly current: Clock;
}

export function createLimiterClock(configured: Clock | undefined): LimiterClock {
  let clock = configured;
  return {
    of(context) {
      if (!clock) clock = context.clock;
      return clock;
    },
    get current() {
      return clock!;
    },
  };
}
