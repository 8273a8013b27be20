import type { ProviderCallOptionsV1 } from '../provider.js';
import type { FinishReason, Usage } from '../types/chat-response.js';

/**
 * The HTTP APIs a provider can take as sent. `openai-chat`: OpenAI Chat Completions
 * (`POST /v1/chat/completions`); `anthropic-messages`: Anthropic Messages (`POST /v1/messages`).
 */
export type WireFormat = 'openai-chat' | 'anthropic-messages' | 'openai-responses';

/**
 * A call in a provider's own wire format, version 1 of the contract: what a gateway received from
 * its client, to be forwarded as sent (same-format passthrough). Set on the call through
 * `CallOptions.wire`; a target whose provider has a `passthrough` of the same `format` gets it, every
 * other target gets the normalized request as before (translation).
 */
export interface WireRequestV1 {
  /** The format of `body`. */
  readonly format: WireFormat;
  /**
   * The client's parsed JSON body. Forwarded unchanged except `model`, which the provider replaces by
   * the target's model (and, for OpenAI streams, `stream_options.include_usage` when the client did
   * not ask for usage). Never mutated.
   */
  readonly body: Readonly<Record<string, unknown>>;
  /**
   * The client's request headers to forward, lower-case names, already stripped of credentials,
   * hop-by-hop and `x-bulwark-*` headers (the gateway's `forwardableHeaders`). The provider's
   * credentials and defaults are added; a header named here wins over a provider default
   * (`anthropic-version`, `anthropic-beta`).
   */
  readonly headers: Readonly<Record<string, string>>;
}

/** What one streamed frame or a whole answer says, as far as the policies need to know. */
export interface WireFacts {
  /** The answer's id, when this frame carries it. */
  id?: string;
  /** The model that answered, when this frame carries it. */
  model?: string;
  /** True when the frame shows output to the caller (text, tool call, thinking, refusal): it commits the stream. */
  content?: boolean;
  /** Text this frame adds (for partial output and token estimates of a cut stream); never the whole output. */
  text?: string;
  /** Usage reported so far (cumulative: the latest replaces earlier ones). */
  usage?: Usage;
  /** Why generation stopped, once the upstream said it. */
  finishReason?: FinishReason;
}

/** One SSE frame of a passthrough stream, as the upstream sent it, with the facts the tap read in it. */
export interface WireFrame {
  /**
   * The frame's text exactly as received, its terminating blank line included (`event: ping\ndata: {…}\n\n`).
   * Empty when the frame is hidden from the caller (the usage chunk Bulwark asked for itself).
   */
  data: string;
  /** What the tap read in the frame (absent when it says nothing a policy needs). */
  facts?: WireFacts;
}

/** The head of an upstream answer: what a gateway sends back besides the body. */
export interface WireHeadV1 {
  readonly format: WireFormat;
  /** The upstream's HTTP status (2xx: errors are thrown as Bulwark errors). */
  status: number;
  /**
   * Upstream response headers to relay to the caller, lower-case names, under the upstream's own names
   * (the request id: `x-request-id` for OpenAI, `request-id` for Anthropic).
   */
  headers: Record<string, string>;
  /** The upstream's request id (also in `headers` under the upstream's name), for logs and support tickets. */
  requestId?: string;
}

/**
 * An upstream answer as sent, version 1 of the payload contract. On a `ChatResponse` (`response.wire`)
 * either `body` (a whole JSON answer) or `frames` (the SSE frames of a streamed one, in order) is set.
 * JSON-serializable, so a cache stores it and a hit replays the same bytes.
 */
export interface WireAnswerV1 extends WireHeadV1 {
  /** The whole JSON body, for an answer that was not streamed. */
  body?: string;
  /** Every frame's `data`, for a streamed answer (hidden frames left out). */
  frames?: string[];
}

/** A whole (not streamed) upstream answer: read completely before anything goes to the caller. */
export interface WireJsonResponse extends WireHeadV1 {
  readonly kind: 'json';
  /** The JSON body as received. */
  body: string;
  /** What the tap read in the body (id, model, usage, finish reason, the text for estimates). */
  facts: WireFacts;
}

/** A streamed upstream answer: its frames as they arrive. */
export interface WireStreamResponse extends WireHeadV1 {
  readonly kind: 'stream';
  /**
   * The frames in order. Throws (a Bulwark error) on a failure, and when the upstream ends before it
   * said why generation stopped (a cut). Returning early must abort the upstream request.
   */
  frames: AsyncIterable<WireFrame>;
}

/** What a passthrough call returns. */
export type WireResponseV1 = WireJsonResponse | WireStreamResponse;

/**
 * The optional passthrough capability of a provider (`ProviderV1.passthrough`), version 1: takes a
 * call in the provider's own wire format and returns the upstream's answer as sent, with a tap that
 * reads the facts the policies need (first content, finish, usage). The normalized `complete` and
 * `stream` stay the provider's contract; this is an extra for hosts (the gateway) whose callers speak
 * the same format, so unknown fields and events survive. Errors are the same Bulwark errors
 * `complete` throws (retryable flags, status, rate limits), so retry, breaker and fallback work.
 */
export interface ProviderPassthroughV1 {
  /** The one wire format this provider accepts as sent. */
  readonly format: WireFormat;
  /**
   * Whether the format's endpoint serves `model` (optional; default yes). `false` sends that target's
   * calls through translation instead (an OpenAI model served only on the Responses API).
   */
  servesModel?(model: string): boolean;
  /**
   * Sends `request.body` with `model` replaced by `model` (the target's model) and the request's
   * headers merged over the provider's credentials and defaults. Streams when `body.stream` is true.
   * Honour `options.signal`: an abort closes the socket.
   */
  call(request: WireRequestV1, model: string, options: WirePassthroughCallOptions): Promise<WireResponseV1>;
}

/** What a passthrough call gets of the call: the provider call options (signal, events, call id). */
export type WirePassthroughCallOptions = ProviderCallOptionsV1;
