import {
  AbortedError,
  type BulwarkError,
  type CallContext,
  type CallEventBase,
  type ChatResponse,
  type Clock,
  ConfigError,
  createRetryBudget,
  createStreamCommit,
  emitFallbackTaken,
  linkSignals,
  NotFoundError,
  pickBestError,
  planTargets,
  type RetryBudget,
  type RetryBudgetOptions,
  type RoutingStrategyV1,
  recordTargetFailure,
  type StreamEvent,
  type TargetHandle,
  type TargetPlan,
  type TargetRef,
  TimeoutError,
  targetId,
  toBulwarkError,
} from '@bulwark/core';
import { createLatencyTracker, type LatencyTracker } from './latency-tracker.js';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** A hedged attempt started on `to` because `from` had not answered within `delayMs`. */
    'hedge:started': CallEventBase & { from: TargetRef; to: TargetRef; delayMs: number };
    /** A hedge was due but not sent (`budget`: the hedge budget was empty). */
    'hedge:skipped': CallEventBase & TargetRef & { reason: 'budget' };
  }
}

/** Hedge delay from recent latency: the `percentile` of the last `sampleSize` answers of the target. */
export interface AdaptiveDelayOptions {
  /** Percentile of recent latency (time to first content for streams), in (0, 1]. Default 0.95. */
  percentile?: number;
  /** Samples kept per target. Default 100. */
  sampleSize?: number;
  /** Samples needed before the percentile is used; until then `delayMs` applies. Default 20. */
  minSamples?: number;
  /** Lower bound of the adaptive delay. Default 0. */
  minDelayMs?: number;
  /** Upper bound of the adaptive delay. Default: none. */
  maxDelayMs?: number;
}

/** Options of `createHedgingRouter`. */
export interface HedgingRouterOptions {
  /** How long the first attempt may go unanswered before a hedge starts on the next target (ms). Default 2000. */
  delayMs?: number;
  /** Derive the delay from recent latency of the target instead (falls back to `delayMs` until warmed up). */
  adaptive?: AdaptiveDelayOptions;
  /** Extra attempts that may be started by the delay (fallbacks after failures do not count). Default 1. */
  maxHedgedAttempts?: number;
  /**
   * Caps the extra load of hedges, like the retry budget (it is one: `createRetryBudget` of
   * `@bulwark/core`). Pass a `RetryBudget` to share the retry policy's pool, options for a pool of the
   * router's own, or `false` for no cap. Default: a budget of 20% of successful calls plus 1 per second.
   */
  budget?: false | RetryBudget | Omit<RetryBudgetOptions, 'clock'>;
  /**
   * When no other target is left, hedge on the same target again (a second request to one provider
   * often beats its own slow first one). Fallbacks after failures still never repeat a target. Default false.
   */
  reuseTargets?: boolean;
  /** Random source in [0, 1) for weighted choice among equal-priority targets. Default `Math.random`. */
  random?: () => number;
  /** Clock for delays and latencies. Default: the call's clock. */
  clock?: Clock;
}

function isBudget(value: unknown): value is RetryBudget {
  return typeof (value as RetryBudget | undefined)?.trySpend === 'function';
}

function checkNumber(path: string, value: number, min: number, max = Number.POSITIVE_INFINITY): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError({
      path,
      message: `${path} must be a number ≥ ${min}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}; got ${String(value)}`,
    });
  }
}

type Settled<T> =
  | { attempt: Attempt<T>; value: T; error?: undefined }
  | { attempt: Attempt<T>; error: BulwarkError };

interface Attempt<T> {
  handle: TargetHandle;
  context: CallContext;
  link: ReturnType<typeof linkSignals>;
  startedAt: number;
  trailLength: number;
  settled: Promise<Settled<T>>;
}

const timerFired = Symbol('timer');

/**
 * Routes like the fallback router, and when the running attempt has not answered within a delay
 * (fixed, or a percentile of the target's recent latency), starts a second attempt on the next target.
 * The first acceptable answer wins; the others are aborted (their sockets closed) and awaited before
 * the call returns. A failure starts the next target at once. Hedges draw on a retry budget, so they
 * cannot double the load when everything is slow. Streams hedge on time to first content: the winner
 * is the first attempt to deliver content, and nothing is hedged or retried after that.
 */
export function createHedgingRouter(options: HedgingRouterOptions = {}): RoutingStrategyV1 {
  const delayMs = options.delayMs ?? 2000;
  checkNumber('delayMs', delayMs, 0);
  const maxHedgedAttempts = options.maxHedgedAttempts ?? 1;
  checkNumber('maxHedgedAttempts', maxHedgedAttempts, 0);
  if (!Number.isInteger(maxHedgedAttempts)) {
    throw new ConfigError({ path: 'maxHedgedAttempts', message: 'maxHedgedAttempts must be an integer' });
  }
  const random = options.random ?? Math.random;
  const reuseTargets = options.reuseTargets ?? false;
  let tracker: LatencyTracker | undefined;
  const adaptive = options.adaptive;
  if (adaptive) {
    const percentile = adaptive.percentile ?? 0.95;
    checkNumber('adaptive.percentile', percentile, Number.MIN_VALUE, 1);
    const sampleSize = adaptive.sampleSize ?? 100;
    checkNumber('adaptive.sampleSize', sampleSize, 1);
    const minSamples = adaptive.minSamples ?? 20;
    checkNumber('adaptive.minSamples', minSamples, 1, sampleSize);
    if (adaptive.minDelayMs !== undefined) checkNumber('adaptive.minDelayMs', adaptive.minDelayMs, 0);
    if (adaptive.maxDelayMs !== undefined) {
      checkNumber('adaptive.maxDelayMs', adaptive.maxDelayMs, adaptive.minDelayMs ?? 0);
    }
    tracker = createLatencyTracker({ percentile, sampleSize: Math.floor(sampleSize), minSamples });
  }
  const budgetOption = options.budget ?? {};
  if (budgetOption !== false && !isBudget(budgetOption)) createRetryBudget(budgetOption);
  let budget: RetryBudget | undefined = isBudget(budgetOption) ? budgetOption : undefined;
  const budgetFor = (clock: Clock): RetryBudget | undefined => {
    if (budgetOption === false) return undefined;
    budget ??= createRetryBudget({ ...(budgetOption as RetryBudgetOptions), clock });
    return budget;
  };

  const delayFor = (handle: TargetHandle): number => {
    const measured = tracker?.percentile(targetId(handle.target));
    if (measured === undefined) return delayMs;
    const floor = adaptive?.minDelayMs ?? 0;
    const ceiling = adaptive?.maxDelayMs ?? Number.POSITIVE_INFINITY;
    return Math.min(ceiling, Math.max(floor, measured));
  };

  /**
   * The race shared by both paths. `launch` starts one attempt and resolves when it has an answer
   * (complete: the response; stream: the first content). Returns the winning attempt and its value.
   */
  async function race<T>(
    context: CallContext,
    plan: TargetPlan,
    launch: (handle: TargetHandle, attemptContext: CallContext) => Promise<T>,
    release: (attempt: Attempt<T>, settled: Settled<T>) => Promise<void>,
  ): Promise<{ attempt: Attempt<T>; value: T }> {
    const clock = options.clock ?? context.clock;
    const running = new Set<Attempt<T>>();
    const errors: BulwarkError[] = [];
    let hedgesLeft = maxHedgedAttempts;
    let timer: { promise: Promise<typeof timerFired>; cancel: () => void } | undefined;
    let newest: Attempt<T> | undefined;

    const arm = (): void => {
      timer?.cancel();
      timer = undefined;
      if (hedgesLeft <= 0 || !newest || !(plan.hasNext() || reuseTargets)) return;
      const wait = delayFor(newest.handle);
      let cancel = (): void => {};
      const promise = new Promise<typeof timerFired>((resolve) => {
        cancel = clock.setTimer(wait, () => resolve(timerFired));
      });
      timer = { promise, cancel };
    };

    const start = (handle: TargetHandle): void => {
      const link = linkSignals(context.signal);
      const attemptContext: CallContext = { ...context, signal: link.signal };
      const attempt = {
        handle,
        context: attemptContext,
        link,
        startedAt: clock.now(),
        trailLength: context.trail.length,
      } as Attempt<T>;
      attempt.settled = launch(handle, attemptContext).then(
        (value) => ({ attempt, value }),
        (error: unknown) => ({ attempt, error: toBulwarkError(error, link.signal) }),
      );
      running.add(attempt);
      newest = attempt;
      arm();
    };

    const stopOthers = async (keep: Attempt<T> | undefined, reason: BulwarkError): Promise<void> => {
      const losers = [...running].filter((attempt) => attempt !== keep);
      for (const loser of losers) loser.link.controller.abort(reason);
      await Promise.all(
        losers.map(async (loser) => {
          const settled = await loser.settled;
          running.delete(loser);
          loser.link.dispose();
          await release(loser, settled);
        }),
      );
    };

    const checkDeadline = (): void => {
      if (context.deadline !== undefined && clock.now() >= context.deadline) {
        throw new TimeoutError({
          phase: 'total',
          message: 'The call deadline passed before a target answered',
        });
      }
    };

    const first = plan.next();
    if (!first) throw new NotFoundError({ message: 'The model alias has no target to try' });
    start(first);
    try {
      while (running.size > 0) {
        const contenders: Array<Promise<Settled<T> | typeof timerFired>> = [];
        for (const attempt of running) contenders.push(attempt.settled);
        if (timer) contenders.push(timer.promise);
        const next = await Promise.race(contenders);
        if (next === timerFired) {
          timer = undefined;
          if (context.signal.aborted || hedgesLeft <= 0 || !(plan.hasNext() || reuseTargets)) continue;
          checkDeadline();
          const from = newest!;
          const spent = budgetFor(clock)?.trySpend() ?? true;
          if (!spent) {
            hedgesLeft = 0;
            if (context.events.has('hedge:skipped')) {
              context.events.emit('hedge:skipped', {
                callId: context.callId,
                ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
                provider: from.handle.target.provider,
                model: from.handle.target.model,
                reason: 'budget',
              });
            }
            continue;
          }
          hedgesLeft -= 1;
          const handle = plan.next() ?? from.handle;
          if (context.events.has('hedge:started')) {
            context.events.emit('hedge:started', {
              callId: context.callId,
              ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
              from: { provider: from.handle.target.provider, model: from.handle.target.model },
              to: { provider: handle.target.provider, model: handle.target.model },
              delayMs: clock.now() - from.startedAt,
            });
          }
          start(handle);
          continue;
        }
        const { attempt } = next;
        running.delete(attempt);
        if (next.error === undefined) {
          await stopOthers(
            attempt,
            new AbortedError({ message: 'Another hedged attempt answered first', local: true }),
          );
          attempt.link.dispose();
          return { attempt, value: next.value };
        }
        attempt.link.dispose();
        await release(attempt, next);
        const error = next.error;
        recordTargetFailure(context, attempt.handle, error, attempt, clock.now());
        if (!error.fallbackable || context.signal.aborted) {
          await stopOthers(undefined, error);
          error.attempts = context.trail;
          throw error;
        }
        errors.push(error);
        if (newest === attempt) newest = [...running].at(-1);
        checkDeadline();
        const handle = plan.next(attempt.handle, error);
        if (handle) {
          emitFallbackTaken(context, attempt.handle, handle, error);
          start(handle);
        } else {
          arm();
        }
      }
      const best =
        pickBestError(errors) ?? new NotFoundError({ message: 'The model alias has no target left to try' });
      best.attempts = context.trail;
      throw best;
    } catch (error) {
      if (running.size > 0) await stopOthers(undefined, toBulwarkError(error, context.signal));
      throw error;
    } finally {
      timer?.cancel();
    }
  }

  const recordLatency = (handle: TargetHandle, latencyMs: number): void => {
    tracker?.record(targetId(handle.target), latencyMs);
  };

  return {
    specificationVersion: 'v1',
    name: 'hedge',
    async complete(request, context, targets, alias) {
      const clock = options.clock ?? context.clock;
      const plan = planTargets(targets, alias, random);
      const { attempt, value } = await race<ChatResponse>(
        context,
        plan,
        (handle, attemptContext) => handle.complete(request, attemptContext),
        async () => {},
      );
      recordLatency(attempt.handle, clock.now() - attempt.startedAt);
      budgetFor(clock)?.recordSuccess();
      return value;
    },
    async *stream(request, context, targets, alias) {
      const clock = options.clock ?? context.clock;
      const plan = planTargets(targets, alias, random);
      const iterators = new Map<CallContext, AsyncGenerator<StreamEvent>>();
      /** Starts an attempt under the commit rule and reads it up to its first output (or its end). */
      const untilOutput = async (
        handle: TargetHandle,
        attemptContext: CallContext,
      ): Promise<IteratorResult<StreamEvent>> => {
        // Aborts are judged by the call's signal: the winner's own link is released when it wins.
        const { events } = createStreamCommit(handle.stream(request, attemptContext), {
          context,
          target: handle.target,
        });
        iterators.set(attemptContext, events);
        return events.next();
      };
      const { attempt, value } = await race(context, plan, untilOutput, async (loser) => {
        await iterators.get(loser.context)?.return(undefined);
      });
      recordLatency(attempt.handle, clock.now() - attempt.startedAt);
      budgetFor(clock)?.recordSuccess();
      const events = iterators.get(attempt.context)!;
      if (value.done) return;
      yield value.value;
      yield* events;
    },
  };
}
