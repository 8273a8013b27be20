import { type Clock, systemClock } from '../clock/clock.js';
import { BulwarkError } from '../errors/bulwark-error.js';
import { toBulwarkError } from '../errors/classify.js';
import {
  ConfigError,
  InvalidRequestError,
  InvalidResponseError,
  NotFoundError,
  TimeoutError,
} from '../errors/errors.js';
import { createEventBus, type EventBus } from '../events/event-bus.js';
import { assertMiddlewareOrder, compose, splitByLevel } from '../middleware/compose.js';
import type { Handler, MiddlewareV1 } from '../middleware/middleware.js';
import type { CacheControl, CallContext, CallMetadata, EmbeddingRequestV1, ProviderV1 } from '../provider.js';
import { coreVersion } from '../registry/core-version.js';
import { createFallbackRouter } from '../routing/fallback-router.js';
import type { RoutingStrategyV1, TargetHandle } from '../routing/routing-strategy.js';
import type { CallRoute, ModelAlias, Target } from '../routing/target.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { AttemptRecord, ChatResponse } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { linkSignals } from '../util/abort.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { validateChatRequest } from '../validation/validate-request.js';
import type { WireRequestV1 } from '../wire/wire.js';
import { recordAttempts } from './attempt-recorder.js';
import { type EmbedResult, embeddingDimensionKey, embeddingShadowRequest } from './embed-call.js';

export interface BulwarkOptions {
  /** Providers by the name targets use. An array uses each provider's own `name`. */
  providers: Record<string, ProviderV1> | readonly ProviderV1[];
  /** Model aliases: the name callers use → ordered targets (or the full alias object). */
  models?: Record<string, ModelAlias | Target[]>;
  /**
   * Middleware, outermost first, in the documented stage order (see `MiddlewareStage`). Call-level
   * ones run once per call; target-level ones (retry, breaker, limiter, timeout) around each target.
   */
  middleware?: readonly MiddlewareV1[];
  /** How targets are chosen and walked. Default: `createFallbackRouter()`. */
  routing?: RoutingStrategyV1;
  clock?: Clock;
  logger?: Logger;
  events?: EventBus;
  /**
   * Let a model name that is not an alias through when exactly one provider serves it (or it is written
   * `provider/model`). Default true.
   */
  passThrough?: boolean;
  /** Validate every request before any network call. Default true. */
  validateRequests?: boolean;
  /** Skip the middleware order check (for unusual pipelines you have reasoned about). Default false. */
  allowAnyMiddlewareOrder?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Total time the call may take, retries and fallbacks included. */
  timeoutMs?: number;
  metadata?: CallMetadata;
  cache?: CacheControl;
  /** Use this id instead of a generated one. */
  callId?: string;
  /**
   * The caller's request in its own wire format (a gateway sets it): targets whose provider has a
   * `passthrough` of this format get the body as sent, only `model` replaced, and the answer comes
   * back as the upstream sent it on `response.wire` / `wire` stream events. `request` must be the same
   * call in normalized form (for routing, limits, estimates and the targets of another format).
   */
  wire?: WireRequestV1;
}

/** A running streamed call: iterate it for events; `trail` fills in as attempts are made. */
export interface BulwarkStream extends AsyncIterable<StreamEvent> {
  readonly callId: string;
  readonly trail: readonly AttemptRecord[];
}

export interface Bulwark {
  chat(request: ChatRequest, options?: CallOptions): Promise<ChatResponse>;
  stream(request: ChatRequest, options?: CallOptions): BulwarkStream;
  /**
   * Embeddings through the same pipeline as chat: retry, fallback to another target of the alias,
   * breaker, limiter (charging each input's tokens), cache (embeddings are deterministic, so a configured
   * cache serves them), budget, usage and cost. Every target of one model must answer vectors of one
   * length: `dimensions` when the request sets it, else the length of the model's first answer; a target
   * that answers another length fails that attempt (`InvalidResponseError`) and the next target is tried.
   * A model none of whose targets can embed is an `InvalidRequestError` naming it.
   */
  embed(request: EmbeddingRequestV1, options?: CallOptions): Promise<EmbedResult>;
  /** The targets a model name resolves to (alias or pass-through); throws `NotFoundError` otherwise. */
  resolve(model: string): ModelAlias;
  /** The configured aliases. */
  readonly aliases: readonly string[];
  readonly providers: ReadonlyMap<string, ProviderV1>;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Closes every provider. */
  close(): Promise<void>;
}

const passThroughCacheLimit = 1000;

function checkEmbeddingRequest(request: EmbeddingRequestV1): void {
  if (typeof request?.model !== 'string' || request.model.trim() === '') {
    throw new InvalidRequestError({
      field: 'model',
      message: 'Invalid request: model must be a non-empty string',
    });
  }
  if (!Array.isArray(request.input) || request.input.length === 0) {
    throw new InvalidRequestError({
      field: 'input',
      message: 'Invalid request: input must be a non-empty array of strings',
    });
  }
  request.input.forEach((text, index) => {
    if (typeof text !== 'string') {
      throw new InvalidRequestError({
        field: `input[${index}]`,
        message: `Invalid request: input[${index}] must be a string`,
      });
    }
  });
  if (request.dimensions !== undefined && !(Number.isInteger(request.dimensions) && request.dimensions > 0)) {
    throw new InvalidRequestError({
      field: 'dimensions',
      message: `Invalid request: dimensions must be a positive integer (got ${String(request.dimensions)})`,
    });
  }
}

/**
 * The in-process client: providers, model aliases and middleware composed into one pipeline.
 *
 * ```ts
 * const bulwark = createBulwark({ providers: [openai], models: { smart: [{ provider: 'openai', model: 'gpt-4o' }] } });
 * const answer = await bulwark.chat({ model: 'smart', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createBulwark(options: BulwarkOptions): Bulwark {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const events = options.events ?? createEventBus({ logger });
  const routing = options.routing ?? createFallbackRouter();
  const validate = options.validateRequests ?? true;
  const passThrough = options.passThrough ?? true;

  const providers = new Map<string, ProviderV1>();
  if (Array.isArray(options.providers)) {
    for (const provider of options.providers as readonly ProviderV1[]) providers.set(provider.name, provider);
  } else {
    for (const [name, provider] of Object.entries(options.providers as Record<string, ProviderV1>)) {
      providers.set(name, provider);
    }
  }
  for (const [name, provider] of providers) {
    if (provider?.specificationVersion !== 'v1') {
      throw new ConfigError({
        path: `providers.${name}`,
        message: `providers.${name} is not a v1 provider: it implements ${provider?.specificationVersion === undefined ? 'no provider contract version (specificationVersion)' : `provider contract ${String(provider.specificationVersion)}`}, and @bulwark/core ${coreVersion} implements v1. Install a release of the provider's package built for @bulwark/core ${coreVersion}, or upgrade @bulwark/core to one that implements its contract.`,
      });
    }
  }

  const middleware = options.middleware ?? [];
  if (!options.allowAnyMiddlewareOrder) assertMiddlewareOrder(middleware);
  const levels = splitByLevel(middleware);

  const targetPipelines = new Map<string, Handler>();
  for (const [name, provider] of providers)
    targetPipelines.set(name, compose(levels.target, recordAttempts(provider)));

  const handleFor = (target: Target, path: string): TargetHandle => {
    const pipeline = targetPipelines.get(target.provider);
    if (!pipeline) {
      throw new ConfigError({
        path: `${path}.provider`,
        message: `${path}.provider is "${target.provider}", which is not a configured provider (configured: ${[...providers.keys()].join(', ') || 'none'})`,
      });
    }
    const withTarget = (request: ChatRequest, context: CallContext) => {
      const targetRequest: ChatRequest = { ...request, model: target.model, ...target.overrides };
      const targetContext: CallContext = { ...context, target };
      return [targetRequest, targetContext] as const;
    };
    return {
      target,
      complete: (request, context) => pipeline.complete(...withTarget(request, context)),
      stream: (request, context) => pipeline.stream(...withTarget(request, context)),
    };
  };

  type Resolved = { alias: ModelAlias; handles: TargetHandle[]; route: CallRoute };
  const routeOf = (model: string, alias: ModelAlias, named: boolean): CallRoute => ({
    model,
    ...(named ? { alias: model } : {}),
    targets: alias.targets,
    ...(alias.contentFilterFallback ? { contentFilterFallback: alias.contentFilterFallback } : {}),
  });
  const aliases = new Map<string, Resolved>();
  for (const [name, value] of Object.entries(options.models ?? {})) {
    const alias: ModelAlias = Array.isArray(value) ? { targets: value } : (value as ModelAlias);
    if (!Array.isArray(alias.targets) || alias.targets.length === 0) {
      throw new ConfigError({
        path: `models.${name}.targets`,
        message: `models.${name}.targets must list at least one target`,
      });
    }
    const handles = alias.targets.map((target, index) =>
      handleFor(target, `models.${name}.targets[${index}]`),
    );
    if (alias.contentFilterFallback)
      handles.push(handleFor(alias.contentFilterFallback, `models.${name}.contentFilterFallback`));
    aliases.set(name, { alias, handles, route: routeOf(name, alias, true) });
  }
  const passThroughCache = new Map<string, Resolved>();

  const lookup = (model: string): Resolved => {
    const configured = aliases.get(model) ?? passThroughCache.get(model);
    if (configured) return configured;
    let target: Target | undefined;
    if (passThrough) {
      const slash = model.indexOf('/');
      if (slash > 0 && providers.has(model.slice(0, slash))) {
        target = { provider: model.slice(0, slash), model: model.slice(slash + 1) };
      } else {
        const serving = [...providers.values()].filter((provider) => provider.models?.includes(model));
        if (serving.length === 1) target = { provider: serving[0]!.name, model };
        else if (serving.length === 0 && providers.size === 1)
          target = { provider: [...providers.keys()][0]!, model };
      }
    }
    if (!target) {
      throw new NotFoundError({
        message: `Unknown model "${model}". Configured aliases: ${[...aliases.keys()].join(', ') || 'none'}${passThrough ? '; or name a provider as "provider/model"' : ''}.`,
      });
    }
    const alias: ModelAlias = { targets: [target] };
    const entry = {
      alias,
      handles: [handleFor(target, `model "${model}"`)],
      route: routeOf(model, alias, false),
    };
    if (passThroughCache.size >= passThroughCacheLimit)
      passThroughCache.delete(passThroughCache.keys().next().value!);
    passThroughCache.set(model, entry);
    return entry;
  };

  const routed: Handler = {
    complete(request, context) {
      const { alias, handles } = lookup(request.model);
      return routing.complete(request, context, handles, alias);
    },
    stream(request, context) {
      const { alias, handles } = lookup(request.model);
      return routing.stream(request, context, handles, alias);
    },
  };
  const pipeline = compose(levels.call, routed);

  const idPrefix = Math.random().toString(36).slice(2, 8);
  /** The vector length each embedding model answered first, so its fallbacks cannot mix another one in. */
  const embeddingDimensions = new Map<string, number>();
  let sequence = 0;

  const begin = (request: ChatRequest, callOptions: CallOptions, stream: boolean) => {
    if (validate) validateChatRequest(request);
    const link = linkSignals(callOptions.signal);
    const callId = callOptions.callId ?? `${idPrefix}-${(sequence++).toString(36)}`;
    const context: CallContext = {
      callId,
      signal: link.signal,
      clock,
      logger,
      events,
      metadata: callOptions.metadata ?? {},
      stream,
      trail: [],
      state: new Map(),
    };
    if (callOptions.cache) context.cacheControl = callOptions.cache;
    if (callOptions.wire) context.wire = callOptions.wire;
    // Resolved before any middleware runs so call-level ones see the targets; an unknown model is
    // reported by the router below them, as before.
    try {
      context.route = lookup(request.model).route;
    } catch {}
    let cancelTimer: (() => void) | undefined;
    if (callOptions.timeoutMs !== undefined) {
      context.deadline = clock.now() + callOptions.timeoutMs;
      // The deadline only bounds the call's own work, which holds the process while it runs; a stream
      // that is never iterated must not hold it until the deadline.
      cancelTimer = clock.setTimer(
        callOptions.timeoutMs,
        () => link.controller.abort(new TimeoutError({ phase: 'total', timeoutMs: callOptions.timeoutMs! })),
        { ref: false },
      );
    }
    const started = clock.now();
    if (events.has('call:start')) {
      events.emit('call:start', { callId, model: request.model, stream, ...tenantOf(context) });
    }
    const finish = (error: BulwarkError | undefined, response?: ChatResponse) => {
      cancelTimer?.();
      link.dispose();
      if (events.has('call:end')) {
        const last = context.trail.at(-1);
        events.emit('call:end', {
          callId,
          model: request.model,
          stream,
          durationMs: clock.now() - started,
          attempts: context.trail,
          ...tenantOf(context),
          ...(error ? { error: error.code } : {}),
          ...(response
            ? { target: { provider: response.provider, model: response.model } }
            : last
              ? { target: { provider: last.provider, model: last.model } }
              : {}),
          ...(response?.usage ? { usage: response.usage } : {}),
          ...(response?.cache ? { cache: response.cache } : {}),
        });
      }
    };
    const failure = (thrown: unknown): BulwarkError => {
      const reason = link.signal.aborted ? link.signal.reason : undefined;
      const error =
        BulwarkError.isInstance(reason) && !BulwarkError.isInstance(callOptions.signal?.reason)
          ? reason
          : toBulwarkError(thrown, link.signal);
      if (!error.attempts) error.attempts = context.trail;
      return error;
    };
    return { context, finish, failure, abort: (reason?: unknown) => link.controller.abort(reason) };
  };

  return {
    async chat(request, callOptions = {}) {
      const call = begin(request, callOptions, false);
      try {
        const response = await pipeline.complete(request, call.context);
        if (response.attempts.length === 0 && call.context.trail.length > 0)
          response.attempts = call.context.trail;
        call.finish(undefined, response);
        return response;
      } catch (thrown) {
        const error = call.failure(thrown);
        call.finish(error);
        throw error;
      }
    },
    stream(request, callOptions = {}) {
      const call = begin(request, callOptions, true);
      async function* run(): AsyncGenerator<StreamEvent> {
        let completed = false;
        let usage: ChatResponse['usage'];
        let answered: { provider: string; model: string } | undefined;
        try {
          for await (const event of pipeline.stream(request, call.context)) {
            if (event.type === 'start') answered = { provider: event.provider, model: event.model };
            else if (event.type === 'usage') usage = event.usage;
            yield event;
          }
          completed = true;
          call.finish(undefined, answered ? ({ ...answered, usage } as ChatResponse) : undefined);
        } catch (thrown) {
          completed = true;
          const error = call.failure(thrown);
          call.finish(error);
          throw error;
        } finally {
          if (!completed) {
            call.abort(new Error('stream consumer stopped early'));
            call.finish(undefined);
          }
        }
      }
      const iterable = run();
      return {
        callId: call.context.callId,
        trail: call.context.trail,
        [Symbol.asyncIterator]() {
          return iterable;
        },
      };
    },
    async embed(request, callOptions = {}) {
      checkEmbeddingRequest(request);
      const { alias } = lookup(request.model);
      if (!alias.targets.some((target) => providers.get(target.provider)?.embed)) {
        throw new InvalidRequestError({
          field: 'model',
          message: `Invalid request: model "${request.model}" has no target that can embed (targets: ${alias.targets.map((target) => `${target.provider}/${target.model}`).join(', ')})`,
        });
      }
      const shadow = embeddingShadowRequest(request);
      const call = begin(shadow, callOptions, false);
      call.context.embedding = request;
      const expected = request.dimensions ?? embeddingDimensions.get(request.model);
      if (expected !== undefined) call.context.state.set(embeddingDimensionKey, expected);
      try {
        const response = await pipeline.complete(shadow, call.context);
        const embeddings = response.embeddings;
        if (!embeddings) {
          throw new InvalidResponseError({
            message: `The pipeline answered the embedding call for "${request.model}" without embeddings`,
            retryable: false,
            fallbackable: false,
          });
        }
        const dimensions = embeddings[0]?.length ?? 0;
        if (expected !== undefined && dimensions !== expected) {
          throw new InvalidResponseError({
            message: `"${request.model}" answered ${dimensions}-dimension embeddings; this call needs ${expected}`,
            retryable: false,
            fallbackable: false,
          });
        }
        if (request.dimensions === undefined && !embeddingDimensions.has(request.model)) {
          if (embeddingDimensions.size >= passThroughCacheLimit)
            embeddingDimensions.delete(embeddingDimensions.keys().next().value!);
          embeddingDimensions.set(request.model, dimensions);
        }
        const attempts = response.attempts.length > 0 ? response.attempts : call.context.trail;
        call.finish(undefined, response);
        const result: EmbedResult = {
          provider: response.provider,
          model: response.model,
          embeddings,
          dimensions,
          usage: response.usage ?? { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
          attempts,
        };
        if (response.cache) result.cache = response.cache;
        if (response.costUsd !== undefined) result.costUsd = response.costUsd;
        return result;
      } catch (thrown) {
        const error = call.failure(thrown);
        call.finish(error);
        throw error;
      }
    },
    resolve: (model) => lookup(model).alias,
    get aliases() {
      return [...aliases.keys()];
    },
    providers,
    events,
    clock,
    logger,
    async close() {
      await Promise.all([...providers.values()].map((provider) => provider.close?.()));
    },
  };
}

function tenantOf(context: CallContext): { tenant?: string } {
  return context.metadata.tenant === undefined ? {} : { tenant: context.metadata.tenant };
}
