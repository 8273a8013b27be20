import type { BulwarkError } from '../errors/bulwark-error.js';
import { toBulwarkError } from '../errors/classify.js';
import { ContentFilterError, ContextLengthError, NotFoundError, TimeoutError } from '../errors/errors.js';
import type { CallContext } from '../provider.js';
import { createStreamCommit } from '../stream/stream-commit.js';
import type { ChatResponse } from '../types/chat-response.js';
import type { RoutingStrategyV1, TargetHandle } from './routing-strategy.js';
import type { ModelAlias, Target } from './target.js';

export interface FallbackRouterOptions {
  /** Random source in [0, 1) for weighted choice among equal-priority targets. Default `Math.random`. */
  random?: () => number;
}

/**
 * Orders targets: by priority (default: list position), weighted random among equal priorities. A
 * list without any `priority` keeps its order (and is returned as is, without copying).
 */
export function orderTargets<T extends { target: Target }>(handles: readonly T[], random: () => number): T[] {
  let prioritized = false;
  for (const handle of handles) {
    if (handle.target.priority !== undefined) {
      prioritized = true;
      break;
    }
  }
  if (!prioritized) return handles as T[];
  const groups = new Map<number, T[]>();
  handles.forEach((handle, index) => {
    const priority = handle.target.priority ?? index;
    const group = groups.get(priority);
    if (group) group.push(handle);
    else groups.set(priority, [handle]);
  });
  const ordered: T[] = [];
  for (const priority of [...groups.keys()].sort((a, b) => a - b)) {
    const group = groups.get(priority)!;
    while (group.length > 1) {
      let total = 0;
      for (const handle of group) total += Math.max(0, handle.target.weight ?? 1);
      // With every weight 0 nothing is preferred: keep the listed order.
      if (!(total > 0)) break;
      let pick = random() * total;
      let chosen = group.length - 1;
      for (let index = 0; index < group.length; index += 1) {
        const weight = Math.max(0, group[index]!.target.weight ?? 1);
        if (weight === 0) continue;
        pick -= weight;
        if (pick < 0) {
          chosen = index;
          break;
        }
      }
      ordered.push(group.splice(chosen, 1)[0]!);
    }
    ordered.push(...group);
  }
  return ordered;
}

/** Most useful to the caller first; see `pickBestError`. */
const errorRank: Partial<Record<string, number>> = {
  rate_limited: 0,
  context_length_exceeded: 1,
  content_filtered: 2,
  overloaded: 3,
  server_error: 4,
  timeout: 5,
  invalid_response: 6,
  connection_error: 7,
  authentication: 8,
  permission: 9,
  not_found: 10,
  breaker_open: 11,
};

/**
 * When every target failed, the error to raise: a rate limit with the smallest `retryAfterMs` beats
 * everything (the caller can act on it), then definitive answers (context length, content filter),
 * then health failures, and a breaker-open rejection only when nothing else happened. Among errors of
 * one kind the smallest `retryAfterMs` wins, then the earliest.
 */
export function pickBestError(errors: readonly BulwarkError[]): BulwarkError | undefined {
  let best: BulwarkError | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const error of errors) {
    const rank = errorRank[error.code] ?? 50;
    if (
      !best ||
      rank < bestRank ||
      (rank === bestRank &&
        (error.retryAfterMs ?? Number.POSITIVE_INFINITY) < (best.retryAfterMs ?? Number.POSITIVE_INFINITY))
    ) {
      best = error;
      bestRank = rank;
    }
  }
  return best;
}

/** The walk over an alias's targets for one call; see `planTargets`. */
export interface TargetPlan {
  /**
   * The next target to try after `failed` failed with `error` (both absent for the first), or undefined
   * when none is left. A context-length error skips targets whose known window is not larger than the
   * failed one's; a content-filter error goes to the alias's `contentFilterFallback` first.
   */
  next(failed?: TargetHandle, error?: BulwarkError): TargetHandle | undefined;
  /** True when `next()` without an error would return a target (nothing is consumed). */
  hasNext(): boolean;
  /** The content-filter target, when the alias has one and it has not been tried yet. */
  contentFilterTarget(): TargetHandle | undefined;
}

function sameTarget(a: Target, b: Target): boolean {
  return a === b || (a.provider === b.provider && a.model === b.model);
}

/**
 * Plans the walk over targets for one call: the order (`orderTargets`), each target at most once, the
 * context-length skip and the content-filter detour. The content-filter target is tried only after a
 * content-filter refusal, unless it is also one of the alias's regular targets. Routing strategies
 * (the fallback router, `@bulwark/hedge`) share it.
 */
export function planTargets(
  targets: readonly TargetHandle[],
  alias: ModelAlias,
  random: () => number,
): TargetPlan {
  const filterTarget = alias.contentFilterFallback;
  let filterHandle: TargetHandle | undefined;
  let regular: readonly TargetHandle[] = targets;
  if (filterTarget) {
    filterHandle =
      targets.find((handle) => handle.target === filterTarget) ??
      targets.find((handle) => sameTarget(handle.target, filterTarget));
    // The detour target is not a regular fallback, unless the alias also lists that very target.
    if (filterHandle && !alias.targets.includes(filterHandle.target)) {
      regular = targets.filter((handle) => handle !== filterHandle);
    }
  }
  const ordered = orderTargets(regular, random);
  const tried = new Set<TargetHandle>();
  let position = 0;
  let contextLimit: number | undefined;
  const usable = (handle: TargetHandle): boolean => {
    if (tried.has(handle)) return false;
    const window = handle.target.maxContextTokens;
    return contextLimit === undefined || window === undefined || window > contextLimit;
  };
  const plan: TargetPlan = {
    next(failed, error) {
      if (failed && error && ContextLengthError.isInstance(error)) {
        const window = failed.target.maxContextTokens;
        if (window !== undefined) contextLimit = Math.max(contextLimit ?? 0, window);
      }
      if (error && ContentFilterError.isInstance(error)) {
        const detour = plan.contentFilterTarget();
        if (detour) {
          tried.add(detour);
          return detour;
        }
      }
      while (position < ordered.length) {
        const handle = ordered[position++]!;
        if (!usable(handle)) continue;
        tried.add(handle);
        return handle;
      }
      return undefined;
    },
    hasNext() {
      for (let index = position; index < ordered.length; index += 1) if (usable(ordered[index]!)) return true;
      return false;
    },
    contentFilterTarget() {
      if (!filterHandle || tried.has(filterHandle)) return undefined;
      for (const handle of tried) if (sameTarget(handle.target, filterHandle.target)) return undefined;
      return filterHandle;
    },
  };
  return plan;
}

function checkDeadline(context: CallContext): void {
  if (context.deadline !== undefined && context.clock.now() >= context.deadline) {
    const error = new TimeoutError({
      phase: 'total',
      message: 'The call deadline passed before a target answered',
    });
    error.attempts = context.trail;
    throw error;
  }
}

function failWith(errors: BulwarkError[], context: CallContext): never {
  const best =
    pickBestError(errors) ?? new NotFoundError({ message: 'The model alias has no target left to try' });
  best.attempts = context.trail;
  throw best;
}

/**
 * Adds a `local` record to the trail when a target failed without a provider call being recorded
 * since `attempt.trailLength` (breaker open, limiter rejection), so the trail shows every target a
 * routing strategy tried; names the target on the error when it does not say. Routing strategies
 * (the fallback router, `@bulwark/hedge`) share it.
 */
export function recordTargetFailure(
  context: Pick<CallContext, 'trail' | 'clock'>,
  handle: TargetHandle,
  error: BulwarkError,
  attempt: { startedAt: number; trailLength: number },
  now: number = context.clock.now(),
): void {
  let recorded = false;
  for (let index = attempt.trailLength; index < context.trail.length; index += 1) {
    const record = context.trail[index]!;
    if (record.error === error.code && record.provider === handle.target.provider) recorded = true;
  }
  if (!recorded) {
    context.trail.push({
      provider: handle.target.provider,
      model: handle.target.model,
      attempt: 0,
      startedAt: attempt.startedAt,
      durationMs: now - attempt.startedAt,
      error: error.code,
      local: true,
    });
  }
  if (error.provider === undefined) error.provider = handle.target.provider;
  if (error.model === undefined) error.model = handle.target.model;
}

/** A 200 answer whose output the provider's content filter withheld, seen as the refusal it is. */
function filteredAnswer(handle: TargetHandle): ContentFilterError {
  return new ContentFilterError({
    provider: handle.target.provider,
    model: handle.target.model,
    message: `${handle.target.provider}/${handle.target.model} withheld the answer (finish reason content_filter)`,
  });
}

/**
 * Tries targets in order and moves on when an error allows it (`fallbackable`): health failures,
 * breaker-open rejections, exhausted retries, context length (to a target with a larger window) and
 * content filter (to the alias's `contentFilterFallback` first). Caller aborts, invalid requests and
 * interrupted streams stop at once. When every target failed, the most useful error is raised
 * (`pickBestError`) with the whole attempt trail attached.
 *
 * Streams fall back only before anything reached the caller: the preamble is held back until the first
 * content event, and after it a failure ends the stream with `StreamInterruptedError`.
 */
export function createFallbackRouter(options: FallbackRouterOptions = {}): RoutingStrategyV1 {
  const random = options.random ?? Math.random;
  return {
    specificationVersion: 'v1',
    name: 'fallback',
    async complete(request, context, targets, alias) {
      const errors: BulwarkError[] = [];
      const plan = planTargets(targets, alias, random);
      let previous: TargetHandle | undefined;
      let handle = plan.next();
      while (handle) {
        checkDeadline(context);
        if (previous) emitFallbackTaken(context, previous, handle, errors.at(-1)!);
        const started = context.clock.now();
        const trailLength = context.trail.length;
        let response: ChatResponse;
        try {
          response = await handle.complete(request, context);
        } catch (thrown) {
          const error = toBulwarkError(thrown, context.signal);
          recordTargetFailure(context, handle, error, { startedAt: started, trailLength });
          if (!error.fallbackable || context.signal.aborted) {
            error.attempts = context.trail;
            throw error;
          }
          errors.push(error);
          previous = handle;
          handle = plan.next(handle, error);
          continue;
        }
        if (response.finishReason === 'content_filter' && plan.contentFilterTarget()) {
          const error = filteredAnswer(handle);
          errors.push(error);
          previous = handle;
          handle = plan.next(handle, error);
          continue;
        }
        return response;
      }
      failWith(errors, context);
    },
    async *stream(request, context, targets, alias) {
      const errors: BulwarkError[] = [];
      const plan = planTargets(targets, alias, random);
      let previous: TargetHandle | undefined;
      let handle = plan.next();
      while (handle) {
        checkDeadline(context);
        if (previous) emitFallbackTaken(context, previous, handle, errors.at(-1)!);
        const started = context.clock.now();
        const trailLength = context.trail.length;
        let filtered: ContentFilterError | undefined;
        let broken: BulwarkError | undefined;
        const commit = createStreamCommit(handle.stream(request, context), {
          context,
          target: handle.target,
          onInterrupted: (error) => {
            broken = error;
          },
          beforeCommit: (event) => {
            if (
              event.type === 'finish' &&
              event.finishReason === 'content_filter' &&
              plan.contentFilterTarget()
            ) {
              filtered = filteredAnswer(handle!);
              throw filtered;
            }
          },
        });
        try {
          yield* commit.events;
          return;
        } catch (thrown) {
          const error = toBulwarkError(thrown, context.signal);
          if (error !== filtered) {
            recordTargetFailure(context, handle, broken ?? error, { startedAt: started, trailLength });
          }
          if (commit.committed || context.signal.aborted) {
            error.attempts = context.trail;
            throw error;
          }
          if (!error.fallbackable) {
            error.attempts = context.trail;
            throw error;
          }
          errors.push(error);
          previous = handle;
          handle = plan.next(handle, error);
        }
      }
      failWith(errors, context);
    },
  };
}

/** Emits `fallback:taken` (from, to, the error that moved the call on) when anyone listens. */
export function emitFallbackTaken(
  context: Pick<CallContext, 'events' | 'callId' | 'metadata'>,
  from: TargetHandle,
  to: TargetHandle,
  error: BulwarkError,
): void {
  if (!context.events.has('fallback:taken')) return;
  context.events.emit('fallback:taken', {
    callId: context.callId,
    ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
    from: { provider: from.target.provider, model: from.target.model },
    to: { provider: to.target.provider, model: to.target.model },
    error: error.code,
  });
}
