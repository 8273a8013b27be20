import {
  AbortedError,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type Clock,
  type ProviderV1,
  type RateLimitInfo,
  type StreamEvent,
  type Usage,
} from '@bulwark/core';

/** What the scripted provider does on one call. An empty step answers at once. */
export interface ScriptedStep {
  /** Clock ms the call takes (streams: before `start`, or after it with `streamLatency: 'after-start'`). */
  latencyMs?: number;
  /** Wait until the call's signal aborts. */
  hang?: boolean;
  /** Fail with this error (an instance, or a factory for a fresh one per call). */
  error?: Error | (() => Error);
  /** Streams: fail with `error` before this many text chunks instead of before the first event. */
  errorAfterChunks?: number;
  /** Answer text (streams send it word by word). Default: the provider's `text`. */
  text?: string;
  /** Usage on the answer (and a `usage` event on streams). */
  usage?: Usage;
  /** Rate-limit info on the answer (and on the stream's `start` event). */
  rateLimit?: RateLimitInfo;
}

/** Options of `createScriptedProvider`. */
export interface ScriptedProviderOptions {
  /** Instance name. Default `main`. */
  name?: string;
  /** Clock the latencies run on. Default: the call context's clock. */
  clock?: Clock;
  /** Models the provider says it serves. */
  models?: readonly string[];
  /** Steps consumed one per call, in order; afterwards `fallback` applies. */
  steps?: ScriptedStep[];
  /** The step of every call after `steps` ran out. Default `{}`. */
  fallback?: ScriptedStep;
  /** Decides each call's step instead of `steps` (gets the request and the 0-based call index). */
  script?: (request: ChatRequest, index: number) => ScriptedStep;
  /** Default answer text. Default `answer from <name>`. */
  text?: string;
  /** Streams: where `latencyMs` is spent. Default `before-start`. */
  streamLatency?: 'before-start' | 'after-start';
}

/** One call as the scripted provider saw it start. */
export interface ScriptedCallStart {
  /** Clock time the call started. */
  at: number;
  request: ChatRequest;
  /** `context.metadata.priority` of the call. */
  priority: number | undefined;
}

/** The scripted provider: a `ProviderV1` with its script and what it recorded. */
export interface ScriptedProvider extends ProviderV1 {
  /** Calls received. */
  calls: number;
  /** Calls whose wait was aborted. */
  aborted: number;
  /** Remaining steps (tests may push more). */
  steps: ScriptedStep[];
  fallback: ScriptedStep;
  /** Every call's start, in order. */
  readonly starts: ScriptedCallStart[];
  /** Calls running now, and the most that ever ran at once. */
  inFlight: number;
  maxInFlight: number;
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new AbortedError({ cause: signal.reason }));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

const errorOf = (error: Error | (() => Error)): Error => (typeof error === 'function' ? error() : error);

/**
 * A minimal in-test provider with no network: each call follows a scripted step (latency on the
 * clock, a hang until abort, an error, usage and rate-limit info), and the provider records when each
 * call started and how many ran at once.
 */
export function createScriptedProvider(options: ScriptedProviderOptions = {}): ScriptedProvider {
  const name = options.name ?? 'main';
  const defaultText = options.text ?? `answer from ${name}`;
  const latencyAfterStart = options.streamLatency === 'after-start';
  let index = 0;

  const begin = (request: ChatRequest, context: CallContext): ScriptedStep => {
    const step = options.script
      ? options.script(request, index)
      : (provider.steps.shift() ?? provider.fallback);
    index += 1;
    provider.calls += 1;
    provider.starts.push({ at: context.clock.now(), request, priority: context.metadata.priority });
    provider.inFlight += 1;
    provider.maxInFlight = Math.max(provider.maxInFlight, provider.inFlight);
    return step;
  };

  const wait = async (step: ScriptedStep, context: CallContext): Promise<void> => {
    const clock = options.clock ?? context.clock;
    try {
      if (step.latencyMs) await clock.sleep(step.latencyMs, context.signal);
      if (step.hang) await waitForAbort(context.signal);
    } catch (error) {
      provider.aborted += 1;
      throw error;
    }
  };

  const provider: ScriptedProvider = {
    specificationVersion: 'v1',
    name,
    system: 'scripted',
    capabilities: { streaming: true, tools: true, vision: true, jsonMode: true },
    ...(options.models ? { models: options.models } : {}),
    calls: 0,
    aborted: 0,
    steps: options.steps ?? [],
    fallback: options.fallback ?? {},
    starts: [],
    inFlight: 0,
    maxInFlight: 0,
    async complete(request, context: CallContext): Promise<ChatResponse> {
      const step = begin(request, context);
      try {
        await wait(step, context);
        if (step.error) throw errorOf(step.error);
        return {
          id: `${name}-${provider.calls}`,
          provider: name,
          model: request.model,
          text: step.text ?? defaultText,
          toolCalls: [],
          finishReason: 'stop',
          attempts: [],
          ...(step.usage ? { usage: step.usage } : {}),
          ...(step.rateLimit ? { rateLimit: step.rateLimit } : {}),
        };
      } finally {
        provider.inFlight -= 1;
      }
    },
    async *stream(request, context: CallContext): AsyncIterable<StreamEvent> {
      const step = begin(request, context);
      try {
        if (!latencyAfterStart) await wait(step, context);
        if (step.error && step.errorAfterChunks === undefined) throw errorOf(step.error);
        yield {
          type: 'start',
          id: `${name}-${provider.calls}`,
          provider: name,
          model: request.model,
          ...(step.rateLimit ? { rateLimit: step.rateLimit } : {}),
        };
        if (latencyAfterStart) await wait(step, context);
        const words = (step.text ?? defaultText).split(' ');
        for (const [position, word] of words.entries()) {
          if (step.error && step.errorAfterChunks === position) throw errorOf(step.error);
          yield { type: 'text-delta', text: position === 0 ? word : ` ${word}` };
        }
        if (step.usage) yield { type: 'usage', usage: step.usage };
        yield { type: 'finish', finishReason: 'stop' };
      } finally {
        provider.inFlight -= 1;
      }
    },
  };
  return provider;
}

/** Usage with the total filled in. */
export function usage(inputTokens: number, outputTokens: number): Usage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
