import type { WireHeadV1 } from '../wire/wire.js';
import type { CacheStatus, FinishReason, RateLimitInfo, TokenLogprob, Usage } from './chat-response.js';

/**
 * Events of a streamed call, version 1 of the payload contract. A well-formed stream is: one `start`,
 * any number of `text-delta` and `tool-call-delta`, at most one `usage`, then one `finish`. Errors are
 * thrown from the iterator, never sent as events, so a stream that ends without `finish` was cut.
 * A passthrough stream (a call with `CallOptions.wire` served by a provider's `passthrough`) has
 * `wire` events in place of the deltas: `start` (with `wire` set), `wire` frames, `usage`, `finish`.
 */
export type StreamEventV1 =
  | StreamStartEvent
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | ToolCallDeltaEvent
  | WireFrameEvent
  | UsageEvent
  | FinishEvent;

/** The current version of the stream events (today `StreamEventV1`). */
export type StreamEvent = StreamEventV1;

/** Preamble: who is answering. Retry holds it back until the first content delta. */
export interface StreamStartEvent {
  type: 'start';
  id: string;
  provider: string;
  model: string;
  rateLimit?: RateLimitInfo;
  cache?: CacheStatus;
  requestId?: string;
  /** Set when the stream is the upstream's own (passthrough): its format, status and relayed headers. */
  wire?: WireHeadV1;
}

export interface TextDeltaEvent {
  type: 'text-delta';
  text: string;
  /** The text is (part of) a refusal (OpenAI `delta.refusal`), not an answer. */
  refusal?: boolean;
  /** Log probabilities of the tokens of this delta, when requested. */
  logprobs?: TokenLogprob[];
}

/**
 * A piece of the model's reasoning. `text` appends to the current reasoning block; `signature` closes it
 * (opaque, sent back verbatim on replay); `redacted` is one whole encrypted block. A `text` after a
 * signature starts a new block.
 */
export interface ReasoningDeltaEvent {
  type: 'reasoning-delta';
  text?: string;
  signature?: string;
  redacted?: string;
}

/**
 * A piece of a tool call. The first delta of a call carries `id` and `name`; later ones append to
 * `argumentsDelta`. Deltas of several calls may interleave: `index` tells them apart.
 */
export interface ToolCallDeltaEvent {
  type: 'tool-call-delta';
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}

/**
 * One SSE frame of a passthrough stream, exactly as the upstream sent it (`data`). A host that speaks
 * the same format writes `data` as is; `content` and `text` are what the provider's tap read in it.
 */
export interface WireFrameEvent {
  type: 'wire';
  /** The frame's text, its terminating blank line included. */
  data: string;
  /** True when the frame shows output (text, tool call, thinking, refusal): it commits the stream. */
  content?: boolean;
  /** Text the frame adds, for partial output and token estimates. */
  text?: string;
}

export interface UsageEvent {
  type: 'usage';
  usage: Usage;
}

export interface FinishEvent {
  type: 'finish';
  finishReason: FinishReason;
  /** The stop sequence that ended generation, when the provider says which. */
  stopSequence?: string;
}

/** True for events that show output to the caller (after which a retry would repeat visible output). */
export function isContentEvent(event: StreamEvent): boolean {
  if (event.type === 'wire') return event.content === true;
  return event.type === 'text-delta' || event.type === 'tool-call-delta' || event.type === 'reasoning-delta';
}
