import { toBulwarkError } from '../errors/classify.js';
import type { Handler } from '../middleware/middleware.js';
import type { CallContext, ProviderV1 } from '../provider.js';
import type { AttemptRecord } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { completeThroughWire, passthroughFor, streamThroughWire } from '../wire/wire-call.js';
import { embedAttempt } from './embed-call.js';

function nextAttemptNumber(context: CallContext): number {
  const target = context.target;
  let count = 1;
  for (const record of context.trail) {
    if (!record.local && record.provider === target?.provider && record.model === target?.model) count += 1;
  }
  return count;
}

function base(context: CallContext) {
  return {
    callId: context.callId,
    ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
    provider: context.target?.provider ?? '',
    model: context.target?.model ?? '',
  };
}

/**
 * The innermost layer: calls the provider (its `passthrough` when the call carries a wire request in
 * the provider's format, see `passthroughFor`) and records each real provider call in `context.trail`,
 * with `attempt:*` events. Everything above it (retry, breaker, limiter) sees the recorded error.
 */
export function recordAttempts(provider: ProviderV1): Handler {
  return {
    async complete(request, context) {
      const attempt = nextAttemptNumber(context);
      const started = context.clock.now();
      if (context.events.has('attempt:start'))
        context.events.emit('attempt:start', { ...base(context), attempt });
      try {
        const embedding = context.embedding;
        const passthrough = embedding ? undefined : passthroughFor(provider, context);
        const response = embedding
          ? await embedAttempt(provider, request, { ...context, embedding })
          : passthrough
            ? await completeThroughWire(provider, passthrough, request, context)
            : await provider.complete(request, context);
        const durationMs = context.clock.now() - started;
        const record: AttemptRecord = {
          provider: provider.name,
          model: context.target?.model ?? request.model,
          attempt,
          startedAt: started,
          durationMs,
        };
        if (response.usage) record.usage = response.usage;
        context.trail.push(record);
        if (context.events.has('attempt:success')) {
          context.events.emit('attempt:success', {
            ...base(context),
            attempt,
            durationMs,
            ...(response.usage ? { usage: response.usage } : {}),
          });
        }
        return response;
      } catch (thrown) {
        throw fail(context, thrown, attempt, started, provider.name, request.model);
      }
    },
    async *stream(request, context) {
      const attempt = nextAttemptNumber(context);
      const started = context.clock.now();
      if (context.events.has('attempt:start'))
        context.events.emit('attempt:start', { ...base(context), attempt });
      let usage: AttemptRecord['usage'];
      try {
        const passthrough = passthroughFor(provider, context);
        const events = passthrough
          ? streamThroughWire(provider, passthrough, request, context)
          : (provider.stream(request, context) as AsyncIterable<StreamEvent>);
        for await (const event of events) {
          if (event.type === 'usage') usage = event.usage;
          yield event;
        }
      } catch (thrown) {
        const error = toBulwarkError(thrown, context.signal);
        if (!error.usage && usage) error.usage = usage;
        throw fail(context, error, attempt, started, provider.name, request.model);
      }
      const durationMs = context.clock.now() - started;
      const record: AttemptRecord = {
        provider: provider.name,
        model: context.target?.model ?? request.model,
        attempt,
        startedAt: started,
        durationMs,
      };
      if (usage) record.usage = usage;
      context.trail.push(record);
      if (context.events.has('attempt:success')) {
        context.events.emit('attempt:success', {
          ...base(context),
          attempt,
          durationMs,
          ...(usage ? { usage } : {}),
        });
      }
    },
  };
}

function fail(
  context: CallContext,
  thrown: unknown,
  attempt: number,
  started: number,
  provider: string,
  model: string,
) {
  const error = toBulwarkError(thrown, context.signal);
  if (error.provider === undefined) error.provider = provider;
  if (error.model === undefined) error.model = context.target?.model ?? model;
  const durationMs = context.clock.now() - started;
  const record: AttemptRecord = {
    provider,
    model: context.target?.model ?? model,
    attempt,
    startedAt: started,
    durationMs,
    error: error.code,
  };
  if (error.status !== undefined) record.status = error.status;
  if (error.usage) record.usage = error.usage;
  context.trail.push(record);
  if (context.events.has('attempt:failure')) {
    context.events.emit('attempt:failure', {
      ...base(context),
      attempt,
      durationMs,
      error: error.code,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.usage ? { usage: error.usage } : {}),
    });
  }
  return error;
}
