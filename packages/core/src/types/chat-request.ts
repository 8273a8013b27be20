/**
 * The normalized chat request: what OpenAI Chat Completions and Anthropic Messages can both express.
 * Providers map it to their wire format; middleware (cache keys, limiter estimates) read it.
 */

/** A JSON Schema object (draft 2020-12 or 7), as accepted by both providers for tool parameters. */
export type JSONSchema = { [key: string]: unknown };

/**
 * A prompt-cache breakpoint: the provider caches the prompt up to and including the part that carries it
 * (Anthropic `cache_control`). Providers with automatic prompt caching (OpenAI) have no use for it.
 */
export interface PromptCacheControl {
  type: 'ephemeral';
  /** Cache lifetime (Anthropic: `5m` default, `1h`). */
  ttl?: '5m' | '1h';
}

/** Plain text. */
export interface TextPart {
  type: 'text';
  text: string;
  /** Prompt-cache breakpoint after this part. */
  cacheControl?: PromptCacheControl;
}

/**
 * An image. Exactly one of `url` (http(s) or a `data:` URL) or `data` (base64 without prefix) is set;
 * `mediaType` is required with `data` (e.g. `image/png`).
 */
export interface ImagePart {
  type: 'image';
  url?: string;
  data?: string;
  mediaType?: string;
  /** OpenAI's detail hint; ignored by providers that have none. */
  detail?: 'auto' | 'low' | 'high';
  /** Prompt-cache breakpoint after this part. */
  cacheControl?: PromptCacheControl;
}

/**
 * A document (a PDF, or plain text): OpenAI's `file` content part, Anthropic's `document` block. Exactly
 * one of `data` (base64 without prefix), `url` or `fileId` (an id from the provider's files API) is set.
 */
export interface FilePart {
  type: 'file';
  /** e.g. `application/pdf`. Required with `data`. */
  mediaType?: string;
  data?: string;
  url?: string;
  fileId?: string;
  filename?: string;
  /** Prompt-cache breakpoint after this part. */
  cacheControl?: PromptCacheControl;
}

export type UserContentPart = TextPart | ImagePart | FilePart;

/**
 * The model's reasoning in an assistant turn (Anthropic `thinking` / `redacted_thinking` blocks, OpenAI-
 * compatible `reasoning_content`). A `signature` (or redacted `data`) is opaque and must be sent back
 * unchanged when the turn is replayed to the provider that made it.
 */
export type ReasoningBlock =
  | { type: 'reasoning'; text: string; signature?: string }
  | { type: 'redacted-reasoning'; data: string };

/** A tool call the model made, with its arguments as the raw JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  /** JSON text; may be invalid JSON when the model produced invalid JSON. */
  arguments: string;
}

export interface SystemMessage {
  role: 'system';
  content: string | TextPart[];
}

export interface UserMessage {
  role: 'user';
  content: string | UserContentPart[];
  /** Optional participant name (OpenAI `name`). */
  name?: string;
}

export interface AssistantMessage {
  role: 'assistant';
  /** Text of the turn; `null` or empty when the turn only made tool calls. */
  content: string | TextPart[] | null;
  toolCalls?: ToolCall[];
  /** The reasoning that preceded the text and tool calls, in order (replayed verbatim where the provider takes it). */
  reasoning?: ReasoningBlock[];
}

export interface ToolMessage {
  role: 'tool';
  /** The `id` of the tool call this message answers. */
  toolCallId: string;
  content: string | TextPart[];
  /** The tool failed; Anthropic sends this as `is_error`. */
  isError?: boolean;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A function the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: JSONSchema;
  /** Ask the provider to enforce the schema strictly where it supports it. */
  strict?: boolean;
  /** Prompt-cache breakpoint after this tool definition. */
  cacheControl?: PromptCacheControl;
}

/**
 * How much the model may reason before answering: OpenAI's `reasoning_effort`, Anthropic's extended
 * thinking budget. An effort maps to a budget of 1,024 (low), 4,096 (medium) or 16,384 (high) tokens; a
 * budget maps back to the nearest effort.
 */
export interface ReasoningOptions {
  effort?: 'minimal' | 'low' | 'medium' | 'high';
  budgetTokens?: number;
}

/** `auto`: the model decides; `none`: no tool; `required`: some tool; or one named tool. */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json' }
  | { type: 'json_schema'; name: string; schema: JSONSchema; description?: string; strict?: boolean };

/**
 * A chat request, version 1 of the payload contract. Providers and middleware written against
 * `ChatRequestV1` keep compiling when a later version is added; `ChatRequest` names the current one.
 */
export interface ChatRequestV1 {
  /** A model alias configured in Bulwark, or a provider's model name. */
  model: string;
  /** The conversation. System messages may appear anywhere; providers that take one system prompt join them. */
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** Allow several tool calls in one turn (default: the provider's default). */
  parallelToolCalls?: boolean;
  temperature?: number;
  topP?: number;
  /** Upper bound on generated tokens. Providers that require one (Anthropic) use a documented default. */
  maxTokens?: number;
  /** Stop sequences. */
  stop?: string[];
  seed?: number;
  responseFormat?: ResponseFormat;
  /** Free-form string metadata passed to providers that accept it (and to logs/spans). */
  metadata?: Record<string, string>;
  /** Extended thinking / reasoning effort. */
  reasoning?: ReasoningOptions;
  /** An end-user id for the provider's abuse monitoring (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
  /** Ask for the log probabilities of the output tokens (OpenAI `logprobs`), where the provider gives them. */
  logprobs?: boolean;
  /** How many most likely alternatives per token (0-20) with `logprobs`. */
  topLogprobs?: number;
  /**
   * Provider-specific options by provider plugin name, e.g. `{ openai: { logprobs: true } }`.
   * They are part of the cache key, as they can change the output.
   */
  providerOptions?: Record<string, Record<string, unknown>>;
}

/** The current version of the chat request (today `ChatRequestV1`). */
export type ChatRequest = ChatRequestV1;
