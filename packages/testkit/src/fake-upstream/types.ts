/** Which API a recorded request spoke, decided by its endpoint. */
export type RequestFormat = 'openai' | 'anthropic' | 'google' | 'responses' | 'embeddings' | 'models';

/** One request the fake upstream received, in arrival order. */
export interface RecordedRequest {
  /** The request id the fake upstream answered with (`x-request-id` / `request-id`). */
  id: string;
  format: RequestFormat;
  method: string;
  /** Path including the query string. */
  path: string;
  /** Request headers, names in lower case. */
  headers: Record<string, string>;
  /** The parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
}

/** A tool call the fake upstream answers with. */
export interface FakeToolCall {
  /** Defaults to a provider-style id (`call_…` / `toolu_…`). */
  id?: string;
  name: string;
  /** The arguments as a JSON text, streamed in pieces. */
  arguments: string;
}

/** Token usage the fake upstream reports. `inputTokens` includes `cachedInputTokens`. */
export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
}

/** A successful answer, as JSON or SSE depending on the request's `stream` flag. */
export interface ReplyBehavior {
  kind: 'reply';
  /** Defaults to `echo: <last user text>`. */
  text?: string;
  toolCalls?: FakeToolCall[];
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Defaults to an estimate of about 4 characters per token. */
  usage?: FakeUsage;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Real-time pause between SSE chunks (ms). Default 0. */
  chunkDelayMs?: number;
}

/** An HTTP error answer. */
export interface StatusBehavior {
  kind: 'status';
  status: number;
  /** Response body (serialized as JSON unless it is a string). Defaults to the provider's real error shape. */
  body?: unknown;
  /**
   * Picks a special default body when `body` is absent: `context-length` (OpenAI `context_length_exceeded`,
   * Anthropic `prompt is too long`) or `content-filter`. Lets one behavior serve both wire formats.
   */
  error?: 'context-length' | 'content-filter';
  headers?: Record<string, string>;
}

/** Every fault and answer the fake upstream can give one request. */
export type FakeBehavior =
  | ReplyBehavior
  | StatusBehavior
  /**
   * Waits `ms` (real time) before answering with `then`. Default `then`: the upstream's default behavior, or
   * a plain reply when the default is itself a delay (so `setDefault({ kind: 'delay', ms })` simulates latency).
   */
  | { kind: 'delay'; ms: number; then?: FakeBehavior }
  /** Accepts the request and never answers, until the client closes the socket. */
  | { kind: 'hang' }
  /** Destroys the socket (TCP reset) without an answer. */
  | { kind: 'reset' }
  /** Answers 200 (or `status`) with a body that is not valid JSON. */
  | { kind: 'malformed'; status?: number }
  /** Streams `afterChunks` SSE events of a normal reply, then destroys the socket. */
  | { kind: 'cut'; afterChunks: number }
  /** Streams `afterChunks` SSE events of a normal reply, then goes silent with the socket open. */
  | { kind: 'stall'; afterChunks: number }
  /**
   * Streams `afterChunks` SSE events, then an in-stream error event (Anthropic `event: error`, OpenAI a
   * `data: {"error":…}` chunk) and ends. Default error: `overloaded_error` / `Overloaded`.
   */
  | { kind: 'stream-error'; afterChunks: number; error?: { type: string; message: string } }
  | RawBehavior;

/**
 * A canned answer sent byte for byte, in any shape the real APIs use (thinking with signatures,
 * unknown event types, logprobs…): `body` for a JSON answer, or `frames` (each a whole SSE frame, its
 * blank line included) for a stream. `cutAfterFrames` destroys the socket after that many frames.
 */
export interface RawBehavior {
  kind: 'raw';
  /** HTTP status. Default 200. */
  status?: number;
  /** Extra response headers (e.g. `x-request-id`). */
  headers?: Record<string, string>;
  /** The JSON body as text (answers a request with or without `stream`). */
  body?: string;
  /** SSE frames, sent in order with `content-type: text/event-stream`. */
  frames?: string[];
  /** Destroy the socket after this many frames (a cut stream). */
  cutAfterFrames?: number;
}

/** Requests and tokens per minute for the fake upstream's token buckets. */
export interface FakeRateLimit {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens per minute (estimated prompt tokens plus `max_tokens` of each request). */
  tpm?: number;
}

export interface FakeUpstreamOptions {
  /** Port to listen on (127.0.0.1 only). Default 0: an ephemeral port. */
  port?: number;
  /** Behavior for requests with nothing enqueued. Default `{ kind: 'reply' }`. */
  defaultBehavior?: FakeBehavior;
  /** Enforced limits. Without them, rate-limit headers are still sent from unenforced default buckets. */
  rateLimit?: FakeRateLimit;
  /** When set, requests without this key (`authorization: Bearer …` or `x-api-key`) get a 401. */
  apiKey?: string;
  /** Time source of the token buckets (ms). Default `Date.now`. */
  now?: () => number;
  /**
   * Keeps only the newest N requests in `requests` (long benchmarks). Default: all. `stats` counts every one.
   */
  maxRecordedRequests?: number;
  /** Models listed by `GET /v1/models`. */
  models?: string[];
}

/** A running fake upstream. */
export interface FakeUpstream {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `${url}/v1`: the `baseURL` for `new OpenAI(…)`. */
  readonly openaiBaseURL: string;
  /** `url`: the `baseURL` for `new Anthropic(…)`. */
  readonly anthropicBaseURL: string;
  /** `${url}/v1beta`: the `baseURL` for the Gemini API (`createGoogleGenerativeAI({ baseURL })`). */
  readonly googleBaseURL: string;
  readonly port: number;
  /** Every request received, in arrival order (also the rate-limited ones). */
  readonly requests: RecordedRequest[];
  readonly stats: { requests: number; rateLimited: number };
  /**
   * Queues one behavior per next request, in order; then the default applies again. Requests the rate
   * limiter refuses (429) or that fail validation (400, 401) do not take a queued behavior. Throws a
   * `ConfigError` naming the field for an invalid behavior.
   */
  enqueue(...behaviors: FakeBehavior[]): void;
  setDefault(behavior: FakeBehavior): void;
  /** Enforces (or, with undefined, stops enforcing) requests/tokens per minute with real token buckets. */
  setRateLimit(limit: FakeRateLimit | undefined): void;
  /**
   * Sockets currently open that carried at least one request (idle keep-alive ones included). Sockets a
   * client pool opened speculatively without sending a request are not counted: undici opens one right
   * after an aborted request, and it would hide whether the aborted request's socket closed.
   */
  openConnections(): number;
  /** Requests whose answer has not ended and whose socket is still open. */
  activeRequests(): number;
  /** Resolves when exactly `n` sockets are open; rejects after `timeoutMs` (default 2000) naming the count. */
  waitForConnections(n: number, timeoutMs?: number): Promise<void>;
  /** Clears the queue, the recorded requests, the stats, the rate limit and the default behavior. */
  reset(): void;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}
