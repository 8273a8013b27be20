import type { Clock } from './clock/clock.js';
import type { EventBus } from './events/event-bus.js';
import type { CallRoute, Target } from './routing/target.js';
import type { ChatRequestV1 } from './types/chat-request.js';
import type { AttemptRecord, ChatResponseV1 } from './types/chat-response.js';
import type { StreamEventV1 } from './types/stream-event.js';
import type { Logger } from './util/logger.js';
import type { ProviderPassthroughV1, WireRequestV1 } from './wire/wire.js';

export type MaybePromise<T> = T | Promise<T>;

/** Who is calling and how the call should be treated. Flows to every layer, logs and events. */
export interface CallMetadata {
  /** Tenant (team, customer, API key id): cache namespaces, budgets and limits can follow it. */
  tenant?: string;
  /** Free-form labels for logs and spans (not used as metric labels). */
  tags?: string[];
  /** Queue priority: higher goes first. Default 0; the gateway maps `x-bulwark-priority`. */
  priority?: number;
  /** An id the caller chose for this call (logs, traces). */
  requestId?: string;
}

/** Per-call cache directives. */
export interface CacheControl {
  /** Skip the lookup but store the answer. */
  noCache?: boolean;
  /** Do not store the answer. */
  noStore?: boolean;
  /** TTL override for what this call stores. */
  ttlSeconds?: number;
}

/**
 * Everything a middleware or provider gets besides the request, version 1 of the contract. Created
 * once per call by the client; the router derives one per target (with `target` set). Treat it as
 * read-only except `trail` and `state`. `CallContext` names the current version.
 */
export interface CallContextV1 {
  /** Unique id of the logical call (stable across attempts and fallbacks). */
  callId: string;
  /** Aborts when the caller aborts, the deadline passes or a middleware cancels. Every layer must honour it. */
  signal: AbortSignal;
  /** Absolute clock time (ms) by which the whole call must end, when set. */
  deadline?: number;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  metadata: CallMetadata;
  cacheControl?: CacheControl;
  /** Whether the call streams (lets shared code pick the right path). */
  stream: boolean;
  /**
   * Where the call goes: the model asked for, the alias it names and the alias's targets. Set by the
   * client before any middleware runs (absent only when the model resolves to nothing, which the router
   * then reports), so call-level middleware (budget, cache, observe) can price and label by target.
   */
  route?: CallRoute;
  /**
   * The target of the current attempt. Set below the router (on the context each attempt gets); absent
   * above it. Call-level middleware see each attempt's target in `trail`.
   */
  target?: Target;
  /**
   * The caller's request in its own wire format, for a same-format passthrough (set from
   * `CallOptions.wire`). A target whose provider has a `passthrough` of this format gets it as sent;
   * the others get the normalized request. Middleware that key or price by request may read it (the
   * cache keys a passthrough call by this body).
   */
  wire?: WireRequestV1;
  /**
   * Set when the call is an embedding (`createBulwark().embed()`): the request travels the pipeline in
   * its chat-shaped form (one user message per input) and the innermost layer calls the provider's
   * `embed` with this request, the target's model replacing `model`.
   */
  embedding?: EmbeddingRequestV1;
  /** Attempts so far, in order; shared by all targets of the call. */
  trail: AttemptRecord[];
  /** Per-call scratch space for plugins: use a `Symbol` key of your own. */
  state: Map<symbol | string, unknown>;
}

/** The current version of the call context (today `CallContextV1`). */
export type CallContext = CallContextV1;

/** What a provider can do. Routers and validators read it; nothing is assumed when a flag is absent. */
export interface ProviderCapabilities {
  streaming: boolean;
  tools: boolean;
  vision: boolean;
  /** JSON mode and JSON-schema response formats. */
  jsonMode: boolean;
  /** Largest context window (tokens) per model, or one number for all. */
  maxContextTokens?: number | ((model: string) => number | undefined);
  embeddings?: boolean;
}

/** An embedding request, version 1 of the payload contract. */
export interface EmbeddingRequestV1 {
  model: string;
  input: string[];
  dimensions?: number;
}

/** The current version of the embedding request (today `EmbeddingRequestV1`). */
export type EmbeddingRequest = EmbeddingRequestV1;

/** An embedding answer, version 1 of the payload contract. */
export interface EmbeddingResponseV1 {
  model: string;
  embeddings: number[][];
  usage?: { inputTokens: number };
}

/** The current version of the embedding answer (today `EmbeddingResponseV1`). */
export type EmbeddingResponse = EmbeddingResponseV1;

/**
 * A token count in the provider's own wire format (Anthropic `POST /v1/messages/count_tokens`), version 1
 * of the payload contract: what a gateway forwards as sent.
 */
export interface TokenCountRequestV1 {
  /** The target's model; it replaces the body's `model`. */
  model: string;
  /** The caller's body as sent (its `model` is replaced). Never mutated. */
  body: Readonly<Record<string, unknown>>;
  /** Client headers to forward (lower-case names, credentials and hop-by-hop headers removed). */
  headers?: Readonly<Record<string, string>>;
}

/** The provider's own count, version 1 of the payload contract. */
export interface TokenCountResponseV1 {
  inputTokens: number;
}

/**
 * What a provider gets of the call, version 1 of the contract: the few members a provider uses,
 * instead of the whole mutable `CallContext` (its trail, state and route belong to the layers above).
 * The host passes the call's context, which has every member of this interface, so a provider
 * written against the earlier `(request, context: CallContextV1)` signature keeps working unchanged;
 * new providers should read only what is declared here.
 */
export interface ProviderCallOptionsV1 {
  /** Aborts when the caller aborts, the deadline passes or a middleware cancels: close the socket. */
  readonly signal: AbortSignal;
  /** The call's event bus (a provider reports `ratelimit:headers` on it). */
  readonly events: EventBus;
  /** Unique id of the logical call, for logs and for correlating provider-side records. */
  readonly callId: string;
}

/** The current version of the provider call options (today `ProviderCallOptionsV1`). */
export type ProviderCallOptions = ProviderCallOptionsV1;

/**
 * A provider plugin (version 1 of the contract). Map the normalized request to the provider's API,
 * map every failure to a Bulwark error (`@bulwark/provider-utils` has `errorFromHttpResponse` and the
 * helpers SDK-based providers share), switch off any retries of the underlying SDK, and honour
 * `options.signal` so an abort closes the socket.
 */
export interface ProviderV1 {
  readonly specificationVersion: 'v1';
  /** The configured instance name (`openai`, `main`, `claude`…): what targets refer to. */
  readonly name: string;
  /** The plugin's kind of API (`openai`, `anthropic`, `mock`…), for telemetry (`gen_ai.system`). */
  readonly system: string;
  readonly capabilities: ProviderCapabilities;
  /** Models this provider is known to serve, when it can say (used for pass-through routing). */
  readonly models?: readonly string[];
  complete(request: ChatRequestV1, options: ProviderCallOptionsV1): Promise<ChatResponseV1>;
  /** Events in order; throws on failure. Returning early (break) must abort the upstream request. */
  stream(request: ChatRequestV1, options: ProviderCallOptionsV1): AsyncIterable<StreamEventV1>;
  embed?(request: EmbeddingRequestV1, options: ProviderCallOptionsV1): Promise<EmbeddingResponseV1>;
  /**
   * The provider's own input-token count (optional; Anthropic's `count_tokens`). Bulwark counts locally
   * (`countRequestTokens`) for providers without it.
   */
  countTokens?(request: TokenCountRequestV1, options: ProviderCallOptionsV1): Promise<TokenCountResponseV1>;
  /**
   * Same-format passthrough (optional): takes a call in the provider's own wire format and returns the
   * upstream's answer as sent, with the facts policies need tapped from it. Used only for calls that
   * carry `CallOptions.wire` in this format; see `ProviderPassthroughV1`.
   */
  readonly passthrough?: ProviderPassthroughV1;
  /** Passthroughs of further wire formats (an OpenAI provider that also takes Responses API bodies as sent). */
  readonly passthroughs?: readonly ProviderPassthroughV1[];
  /** Releases sockets and timers. */
  close?(): MaybePromise<void>;
}

/** The latest provider contract. */
export type Provider = ProviderV1;
