import type { BulwarkError } from '../errors/bulwark-error.js';
import { toBulwarkError } from '../errors/classify.js';
import { StreamInterruptedError } from '../errors/errors.js';
import type { TargetRef } from '../events/event-bus.js';
import type { CallContext } from '../provider.js';
import { isContentEvent, type StreamEvent } from '../types/stream-event.js';
import { StreamAccumulator } from './stream-accumulator.js';

/** Options of {@link createStreamCommit}. */
export interface StreamCommitOptions {
  /** The call: its signal, trail and event bus. */
  context: Pick<CallContext, 'signal' | 'trail' | 'events' | 'callId' | 'metadata'>;
  /** Who streams, for the interrupted error when the failure does not say (`error.provider` wins). */
  target?: TargetRef;
  /**
   * Sees the first output event before it commits; what it throws is a failure before output (the
   * router turns a `content_filter` finish into a refusal it can fall back from).
   */
  beforeCommit?(event: StreamEvent): void;
  /** Called with the failure when a committed stream breaks, before it is wrapped (retry's give-up event). */
  onInterrupted?(error: BulwarkError): void;
}

/** One attempt's stream under the commit rule; see {@link createStreamCommit}. */
export interface StreamCommit {
  /** True once the first output (content or finish) went to the consumer. */
  readonly committed: boolean;
  /** The events, preamble held until the first output; failures as described on {@link createStreamCommit}. */
  readonly events: AsyncGenerator<StreamEvent>;
}

/**
 * The commit rule every layer that may try a stream again (router, retry, hedge) follows: the
 * preamble (`start`, rate limits…) is held back until the first output event — content or `finish` —
 * and then flushed with it; from that moment the stream is committed. Before the commit a failure is
 * thrown as the `BulwarkError` it is (the layer may retry or fall back; nothing reached the caller).
 * After it a failure ends the stream with a `StreamInterruptedError` carrying the partial output and
 * its usage (the failure's own usage when it reported one), the attempt trail, and a
 * `stream:interrupted` event — unless the call was aborted or the failure is already an interrupted
 * error from a layer below, which pass through unchanged. A stream that ends without output flushes
 * its preamble. Stopping early returns the source iterator (closing the upstream request).
 */
export function createStreamCommit(
  source: AsyncIterable<StreamEvent>,
  options: StreamCommitOptions,
): StreamCommit {
  const { context } = options;
  let accumulator: StreamAccumulator | undefined;

  async function* events(): AsyncGenerator<StreamEvent> {
    const held: StreamEvent[] = [];
    try {
      for await (const event of source) {
        if (accumulator) {
          accumulator.add(event);
          yield event;
          continue;
        }
        if (!isContentEvent(event) && event.type !== 'finish') {
          held.push(event);
          continue;
        }
        options.beforeCommit?.(event);
        accumulator = new StreamAccumulator();
        for (const early of held) {
          accumulator.add(early);
          yield early;
        }
        held.length = 0;
        accumulator.add(event);
        yield event;
      }
      for (const early of held) yield early;
    } catch (thrown) {
      const error = toBulwarkError(thrown, context.signal);
      if (!accumulator) throw error;
      if (context.signal.aborted || error.code === 'aborted' || StreamInterruptedError.isInstance(error)) {
        error.attempts = context.trail;
        throw error;
      }
      options.onInterrupted?.(error);
      throw interrupted(error, accumulator, options);
    }
  }

  return {
    get committed() {
      return accumulator !== undefined;
    },
    events: events(),
  };
}

function interrupted(
  error: BulwarkError,
  accumulator: StreamAccumulator,
  options: StreamCommitOptions,
): StreamInterruptedError {
  const { context } = options;
  const partial = accumulator.partial();
  const provider = error.provider ?? options.target?.provider;
  const model = error.model ?? options.target?.model;
  const usage = error.usage ?? partial.usage;
  const result = new StreamInterruptedError({
    partial,
    cause: error,
    message: `The stream from ${provider ?? 'the provider'}/${model ?? 'model'} broke after output was sent (${error.code}): ${error.message}`,
    ...(provider === undefined ? {} : { provider }),
    ...(model === undefined ? {} : { model }),
    ...(usage === undefined ? {} : { usage }),
  });
  result.attempts = context.trail;
  if (context.events.has('stream:interrupted')) {
    context.events.emit('stream:interrupted', {
      callId: context.callId,
      ...(context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant }),
      provider: provider ?? '',
      model: model ?? '',
      error: error.code,
      textLength: partial.text.length,
    });
  }
  return result;
}
