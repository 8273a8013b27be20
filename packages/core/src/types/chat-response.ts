import type { WireAnswerV1 } from '../wire/wire.js';
import type { ReasoningBlock, ToolCall } from './chat-request.js';

/** Why generation stopped. `length`: hit `maxTokens`; `content_filter`: the provider withheld output. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

/** Token usage as the provider reported it (or as estimated, when `estimated` is true). */
export interface Usage {
  /** Prompt tokens, including cached ones. */
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens read from the provider's prompt cache (billed at a discount). */
  cachedInputTokens?: number;
  /** Prompt tokens written to the provider's prompt cache (Anthropic bills these at a premium). */
  cacheWriteTokens?: number;
  totalTokens: number;
  /** Output tokens spent on reasoning (included in `outputTokens`), when the provider reports them. */
  reasoningTokens?: number;
  /** True when the numbers are an estimate (for example an aborted stream that never reported usage). */
  estimated?: boolean;
}

/** Rate-limit state a provider reported in its response headers. Absent fields were not sent. */
export interface RateLimitInfo {
  limitRequests?: number;
  remainingRequests?: number;
  /** Milliseconds until the request allowance resets. */
  resetRequestsMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  /** Milliseconds until the token allowance resets. */
  resetTokensMs?: number;
  /** Milliseconds the provider asked to wait (from `retry-after-ms` or `retry-after`). */
  retryAfterMs?: number;
}

/** The log probability of one output token (OpenAI's `logprobs.content[i]`). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
  /** The most likely tokens at this position. */
  topLogprobs?: Array<{ token: string; logprob: number; bytes?: number[] | null }>;
}

/** Where a call was served from. `bypass`: the cache was not consulted or not allowed to store. */
export type CacheStatus = 'hit' | 'miss' | 'bypass';

/** One attempt on one target, in the order made. */
export interface AttemptRecord {
  provider: string;
  model: string;
  /** 1-based attempt number on this target. */
  attempt: number;
  /** Clock time the attempt started (ms). */
  startedAt: number;
  durationMs: number;
  /** Error code when the attempt failed (see `BulwarkErrorCode`). */
  error?: string;
  status?: number;
  /** Usage the attempt consumed, when the provider reported it (failed attempts can bill tokens). */
  usage?: Usage;
  /** True when no provider call was made (breaker open, limiter rejection). */
  local?: boolean;
}

/**
 * A complete chat answer, version 1 of the payload contract. `ChatResponse` names the current version.
 */
export interface ChatResponseV1 {
  /** The provider's response id. */
  id: string;
  /** The provider plugin instance that answered (its configured name). */
  provider: string;
  /** The model that actually answered, as the provider reported it. */
  model: string;
  /** Generated text (all text parts joined). */
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** The stop sequence that ended generation (finish reason `stop`), when the provider says which. */
  stopSequence?: string;
  /** The model's reasoning before its answer, in order, signatures kept verbatim. */
  reasoning?: ReasoningBlock[];
  /** The model declined to answer: its explanation (OpenAI `message.refusal`). */
  refusal?: string;
  /** Log probabilities of the output tokens, when requested and given. */
  logprobs?: TokenLogprob[];
  usage?: Usage;
  /** Every attempt made for this call, including failed ones on other targets. */
  attempts: AttemptRecord[];
  cache?: CacheStatus;
  rateLimit?: RateLimitInfo;
  /** Cost in USD when a pricing middleware computed it. */
  costUsd?: number;
  /** The provider's request id (for support tickets). */
  requestId?: string;
  /**
   * The upstream's answer as sent, when the call was a same-format passthrough (`CallOptions.wire`):
   * the JSON body, or the SSE frames of a stream. The normalized fields then hold only what the tap
   * read (id, model, usage, finish reason; `text` as far as it could tell, `toolCalls` empty).
   */
  wire?: WireAnswerV1;
  /**
   * The vectors of an embedding call (`createBulwark().embed()`), one per input. Set only on the
   * chat-shaped answers that embedding calls travel through the pipeline as.
   */
  embeddings?: number[][];
}

/** The current version of the chat answer (today `ChatResponseV1`). */
export type ChatResponse = ChatResponseV1;
