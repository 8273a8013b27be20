import type { BulwarkError } from '../errors/bulwark-error.js';
import { toBulwarkError } from '../errors/classify.js';
import {
  ContentFilterError,
  ContextLengthError,
  StreamInterruptedError,
  TimeoutError,
} from '../errors/errors.js';
import type { CallContext } from '../provider.js';
import { StreamAccumulator } from '../stream/stream-accumulator.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { ChatResponse } from '../types/chat-response.js';
import { isContentEvent, type StreamEvent } from '../types/stream-event.js';
import type { RoutingStrategyV1, TargetHandle } from './routing-strategy.js';
import type { ModelAlias, Target } from './target.js';

export interface FallbackRouterOptions {
  /** Random source in [0, 1) for weighted choice among equal-priority targets. Default `Math.random`. */
  random?: () => number;
}

/** Orders targets: by priority (default: list position), weighted random among equal priorities. */
export function orderTargets<T extends { target: Target }>(handles: readonly T[], random: () => number): T[] {
  const groups = new Map<number, T[]>();
  handles.forEach((handle, index) => {
    const priority = handle.target.priority ?? index;
    const group = groups.get(priority);
    if (group) group.push(handle);
    else groups.set(priority, [handle]);
  });
  const ordered: T[] = [];
  for (const priority of [...groups.keys()].sort((a, b) => a - b)) {
    const group = [...groups.get(priority)!];
    while (group.length > 1) {
      const total = group.reduce((sum, handle) => sum + Math.max(0, handle.target.weight ?? 1), 0);
      let pick = random() * total;
      let chosen = group.length - 1;
      for (let index = 0; index < group.length; index += 1) {
        pick -= Math.max(0, group[index]!.target.weight ?? 1);
        if (pick < 0) {
          chosen = index;
          break;
        }
      }
      ordered.push(group.splice(chosen, 1)[0]!);
    }
    ordered.push(group[0]!);
  }
  return ordered;
}

/** Most useful to the caller first; see `pickBestError`. */
const errorRank: Record<string, number> = {
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
 * When every target failed, the error to raise: a provider rate limit with the smallest `retryAfterMs`
 * beats everything (the caller can act on it), then definitive answers (context length, content
 * filter), then health failures, and a breaker-open rejection only when nothing else happened.
 */
export function pickBestError(errors: readonly BulwarkError[]): BulwarkError | undefined {
  let best: BulwarkError | undefined;
  for (const error of errors) {
    if (!best) {
      best = error;
      continue;
    }
    const rank = errorRank[error.code] ?? 50;
    const bestRank = errorRank[best.code] ?? 50;
    if (rank < bestRank) best = error;
    else if (
      rank === bestRank &&
      error.code === 'rate_limited' &&
      (error.retryAfterMs ?? Number.POSITIVE_INFINITY) < (best.retryAfterMs ?? Number.POSITIVE_INFINITY)
    ) {
      best = error;
    }
  }
  return best;
}

/**
 * Plans the walk over targets: yields the next handle to try given the errors so far, skipping
 * targets a context-length error rules out and honouring a content-filter fallback.
 */
function* plan(
  ordered: readonly TargetHandle[],
  alias: ModelAlias,
  all: readonly TargetHandle[],
  lastError: () => BulwarkError | undefined,
): Generator<TargetHandle> {
  let contextLimit: number | undefined;
  let usedContentFallback = false;
  for (const handle of ordered) {
    const error = lastError();
    if (error && ContextLengthError.isInstance(error) && error.model !== undefined) {
      const failed = all.find((candidate) => candidate.target.model === error.model)?.target.maxContextTokens;
      if (failed !== undefined) contextLimit = Math.max(contextLimit ?? 0, failed);
    }
    if (
      error &&
      ContentFilterError.isInstance(error) &&
      alias.contentFilterFallback &&
      !usedContentFallback
    ) {
      usedContentFallback = true;
      const fallback = all.find(
        (candidate) =>
          candidate.target.provider === alias.contentFilterFallback!.provider &&
          candidate.target.model === alias.contentFilterFallback!.model,
      );
      if (fallback) {
        yield fallback;
        continue;
      }
    }
    const window = handle.target.maxContextTokens;
    if (contextLimit !== undefined && window !== undefined && window <= contextLimit) continue;
    yield handle;
  }
}

function checkDeadline(context: CallContext): void {
  if (context.deadline !== undefined && context.clock.now() >= context.deadline) {
    throw new TimeoutError({ phase: 'total', message: 'The call deadline passed before a target answered' });
  }
}

function failWith(errors: BulwarkError[], context: CallContext): never {
  const best = pickBestError(errors) ?? new TimeoutError({ phase: 'total' });
  best.attempts = context.trail;
  throw best;
}

function noteFailure(context: CallContext, handle: TargetHandle, error: BulwarkError, started: number): void {
  const last = context.trail.at(-1);
  const recorded = last && last.startedAt >= started && last.provider === handle.target.provider;
  if (!recorded) {
    context.trail.push({
      provider: handle.target.provider,
      model: handle.target.model,
      attempt: 0,
      startedAt: started,
      durationMs: context.clock.now() - started,
      error: error.code,
      local: true,
    });
  }
  if (error.provider === undefined) error.provider = handle.target.provider;
  if (error.model === undefined) error.model = handle.target.model;
}

/**
 * Tries targets in order and moves on when an error allows it (`fallbackable`). Caller aborts,
 * invalid requests and interrupted streams stop at once. Streams fall back only before anything was
 * handed to the caller: the preamble is held back until the first content event.
 */
export function createFallbackRouter(options: FallbackRouterOptions = {}): RoutingStrategyV1 {
  const random = options.random ?? Math.random;
  return {
    specificationVersion: 'v1',
    name: 'fallback',
    async complete(request, context, targets, alias) {
      const errors: BulwarkError[] = [];
      const ordered = orderTargets(targets, random);
      let previous: TargetHandle | undefined;
      for (const handle of plan(ordered, alias, targets, () => errors.at(-1))) {
        checkDeadline(context);
        if (previous) emitFallback(context, previous, handle, errors.at(-1)!);
        const started = context.clock.now();
        try {
          return await handle.complete(request, context);
        } catch (thrown) {
          const error = toBulwarkError(thrown, context.signal);
          noteFailure(context, handle, error, started);
          if (!error.fallbackable || context.signal.aborted) {
            error.attempts = context.trail;
            throw error;
          }
          errors.push(error);
          previous = handle;
        }
      }
      failWith(errors, context);
    },
    async *stream(request, context, targets, alias) {
      const errors: BulwarkError[] = [];
      const ordered = orderTargets(targets, random);
      let previous: TargetHandle | undefined;
      for (const handle of plan(ordered, alias, targets, () => errors.at(-1))) {
        checkDeadline(context);
        if (previous) emitFallback(context, previous, handle, errors.at(-1)!);
        const started = context.clock.now();
        const accumulator = new StreamAccumulator();
        const held: StreamEvent[] = [];
        let committed = false;
        try {
          for await (const event of handle.stream(request, context)) {
            if (committed) {
              accumulator.add(event);
              yield event;
            } else if (isContentEvent(event) || event.type === 'finish') {
              committed = true;
              for (const early of held) {
                accumulator.add(early);
                yield early;
              }
              held.length = 0;
              accumulator.add(event);
              yield event;
            } else {
              held.push(event);
            }
          }
          for (const early of held) yield early;
          return;
        } catch (thrown) {
          const error = toBulwarkError(thrown, context.signal);
          noteFailure(context, handle, error, started);
          if (committed) {
            const interrupted = StreamInterruptedError.isInstance(error)
              ? error
              : new StreamInterruptedError({
                  partial: accumulator.partial(),
                  cause: error,
                  provider: handle.target.provider,
                  model: handle.target.model,
                  message: `The stream from ${handle.target.provider}/${handle.target.model} broke after output was sent: ${error.message}`,
                });
            interrupted.attempts = context.trail;
            throw interrupted;
          }
          if (!error.fallbackable || context.signal.aborted) {
            error.attempts = context.trail;
            throw error;
          }
          errors.push(error);
          previous = handle;
        }
      }
      failWith(errors, context);
    },
  };
}

function emitFallback(context: CallContext, from: TargetHandle, to: TargetHandle, error: BulwarkError): void {
  if (!context.events.has('fallback:taken')) return;
  context.events.emit('fallback:taken', {
    callId: context.callId,
    ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
    from: { provider: from.target.provider, model: from.target.model },
    to: { provider: to.target.provider, model: to.target.model },
    error: error.code,
  });
}
