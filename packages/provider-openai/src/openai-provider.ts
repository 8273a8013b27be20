import {
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  ConfigError,
  ConnectionError,
  type EmbeddingRequest,
  type EmbeddingResponse,
  InvalidRequestError,
  InvalidResponseError,
  type ProviderCapabilities,
  type ProviderV1,
  type RateLimitInfo,
  redactSecrets,
  registerSecret,
  type StreamEvent,
} from '@bulwark/core';
import { createNodeFetch, getHeader, type NodeFetch } from '@bulwark/provider-utils';
import OpenAI from 'openai';
import { abortReason, mapOpenAIError } from './error-mapping.js';
import { parseOpenAIRateLimit } from './rate-limit-headers.js';
import { type OpenAIMappingOptions, toOpenAIChatBody } from './request-mapping.js';
import { type OpenAIChunk, OpenAIChunkMapper, parseOpenAIChatResponse } from './response-mapping.js';

/** Options of {@link createOpenAIProvider}. */
export interface OpenAIProviderOptions {
  /** Instance name targets refer to (`main`, `groq`…). Default `openai`. */
  name?: string;
  /** API key. Default `process.env.OPENAI_API_KEY`. Servers that ignore keys (Ollama) accept any string. */
  apiKey?: string;
  /**
   * Base URL of the API, including `/v1` (e.g. `http://127.0.0.1:11434/v1` for Ollama). Default the SDK's
   * (`https://api.openai.com/v1`, or `OPENAI_BASE_URL`).
   */
  baseURL?: string;
  /** OpenAI organization id (`OpenAI-Organization` header). */
  organization?: string;
  /** OpenAI project id (`OpenAI-Project` header). */
  project?: string;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
  /**
   * A configured `OpenAI` client to use instead of creating one (`apiKey`, `baseURL`, `organization`,
   * `project` and `defaultHeaders` are then ignored). Its own retries never run: every request this
   * provider makes passes `maxRetries: 0`, so Bulwark's retry layer counts each attempt once,
   * and `timeoutMs` below replaces the client's own timeout.
   */
  client?: OpenAI;
  /**
   * The `fetch` the SDK sends requests with (ignored with \`client\`). Default: Bulwark's
   * \`createNodeFetch()\` on \`node:http\` with keep-alive sockets, which costs about half the CPU per call
   * of Node 20's built-in fetch; pass \`globalThis.fetch\` to use the built-in one.
   */
  fetch?: typeof fetch;
  /** Models this provider is known to serve (used for pass-through routing). */
  models?: readonly string[];
  /**
   * How long the SDK waits for response headers before the attempt fails with
   * `TimeoutError { phase: 'first-token' }`. Default 600 000 ms (the SDK's). Bulwark's own timeout
   * middleware and the call deadline abort earlier through the call's signal.
   */
  timeoutMs?: number;
  /**
   * Which field carries `maxTokens`: `max_tokens` (default, understood by every compatible server) or
   * `max_completion_tokens` (required by OpenAI's reasoning models).
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * Ask for a final usage chunk when streaming (`stream_options.include_usage`). Default true; switch it
   * off for servers that reject `stream_options`.
   */
  includeStreamUsage?: boolean;
  /** Send `request.metadata` as `metadata` (OpenAI accepts it only with `store: true`). Default false. */
  forwardMetadata?: boolean;
  /** Overrides of the advertised capabilities (e.g. `{ vision: false }` for a text-only local model). */
  capabilities?: Partial<ProviderCapabilities>;
}

const defaultCapabilities: ProviderCapabilities = {
  streaming: true,
  tools: true,
  vision: true,
  jsonMode: true,
  embeddings: true,
};

function checkBaseURL(baseURL: string | undefined): void {
  if (baseURL === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(baseURL);
  } catch {
    throw new ConfigError({
      path: 'baseURL',
      message: `Invalid configuration at baseURL: ${JSON.stringify(baseURL)} is not a URL (expected e.g. "https://api.openai.com/v1")`,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError({
      path: 'baseURL',
      message: `Invalid configuration at baseURL: expected an http(s) URL, received protocol ${parsed.protocol}`,
    });
  }
}

function checkTimeout(timeoutMs: number | undefined): void {
  if (timeoutMs === undefined) return;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigError({
      path: 'timeoutMs',
      message: `Invalid configuration at timeoutMs: expected a positive integer, received ${String(timeoutMs)}`,
    });
  }
}

/**
 * A Bulwark provider for OpenAI Chat Completions and embeddings, and any OpenAI-compatible server
 * (vLLM, Ollama, llama.cpp, OpenRouter, Groq…) through `baseURL`, on the official `openai` SDK with its
 * retries switched off. Throws `ConfigError` naming the option when the key is missing or `baseURL`
 * does not parse.
 */
export function createOpenAIProvider(options: OpenAIProviderOptions = {}): ProviderV1 {
  const name = options.name ?? 'openai';
  const timeoutMs = options.timeoutMs ?? 600_000;
  checkTimeout(options.timeoutMs);
  let client: OpenAI;
  let ownFetch: NodeFetch | undefined;
  if (options.client) {
    client = options.client;
  } else {
    const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      throw new ConfigError({
        path: 'apiKey',
        message:
          'Invalid configuration at apiKey: an API key is required (set apiKey or OPENAI_API_KEY; servers that ignore keys accept any string)',
      });
    }
    checkBaseURL(options.baseURL);
    registerSecret(apiKey);
    if (!options.fetch) ownFetch = createNodeFetch();
    client = new OpenAI({
      apiKey,
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      ...(options.organization === undefined ? {} : { organization: options.organization }),
      ...(options.project === undefined ? {} : { project: options.project }),
      ...(options.defaultHeaders === undefined ? {} : { defaultHeaders: options.defaultHeaders }),
      maxRetries: 0,
      timeout: timeoutMs,
      fetch: options.fetch ?? ownFetch,
      // The SDK logs unparseable chunks verbatim to the console; errors carry them (redacted) instead.
      logLevel: 'off',
    });
  }
  const mapping: OpenAIMappingOptions = {
    name,
    maxTokensField: options.maxTokensField ?? 'max_tokens',
    forwardMetadata: options.forwardMetadata ?? false,
    includeUsage: options.includeStreamUsage ?? true,
  };
  const capabilities: ProviderCapabilities = { ...defaultCapabilities, ...options.capabilities };

  const requestOptions = (context: CallContext) => ({
    signal: context.signal,
    maxRetries: 0,
    timeout: timeoutMs,
  });

  const scopeOf = (model: string, context: CallContext) => ({
    provider: name,
    model,
    signal: context.signal,
    timeoutMs,
  });

  function readRateLimit(headers: Headers, model: string, context: CallContext): RateLimitInfo | undefined {
    const rateLimit = parseOpenAIRateLimit(headers);
    if (rateLimit && context.events.has('ratelimit:headers')) {
      context.events.emit('ratelimit:headers', { provider: name, model, rateLimit });
    }
    return rateLimit;
  }

  /** Rate-limit headers of error answers matter most (a 429's remaining counts): report them too. */
  function reportErrorHeaders(error: unknown, model: string, context: CallContext): void {
    const headers = (error as { headers?: unknown })?.headers;
    if (headers instanceof Headers) readRateLimit(headers, model, context);
  }

  async function complete(request: ChatRequest, context: CallContext): Promise<ChatResponse> {
    const body = toOpenAIChatBody(request, mapping, false);
    if (context.signal.aborted) throw abortReason(context.signal);
    let response: Response;
    try {
      response = await client.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, requestOptions(context))
        .asResponse();
    } catch (error) {
      reportErrorHeaders(error, request.model, context);
      throw mapOpenAIError(error, scopeOf(request.model, context));
    }
    const rateLimit = readRateLimit(response.headers, request.model, context);
    const requestId = getHeader(response.headers, 'x-request-id');
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw mapOpenAIError(error, scopeOf(request.model, context));
    }
    return parseOpenAIChatResponse(text, {
      provider: name,
      model: request.model,
      status: response.status,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(requestId === undefined ? {} : { requestId }),
    });
  }

  async function* stream(request: ChatRequest, context: CallContext): AsyncGenerator<StreamEvent> {
    const body = toOpenAIChatBody(request, mapping, true);
    if (context.signal.aborted) throw abortReason(context.signal);
    const scope = scopeOf(request.model, context);
    let chunks: AsyncIterable<OpenAIChunk> & { controller: AbortController };
    let headers: Headers;
    try {
      const answer = await client.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, requestOptions(context))
        .withResponse();
      chunks = answer.data as unknown as AsyncIterable<OpenAIChunk> & { controller: AbortController };
      headers = answer.response.headers;
    } catch (error) {
      reportErrorHeaders(error, request.model, context);
      throw mapOpenAIError(error, scope);
    }
    const rateLimit = readRateLimit(headers, request.model, context);
    const requestId = getHeader(headers, 'x-request-id');
    const mapper = new OpenAIChunkMapper({
      provider: name,
      model: request.model,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(requestId === undefined ? {} : { requestId }),
    });
    const pending: StreamEvent[] = [];
    let completed = false;
    try {
      try {
        for await (const chunk of chunks) {
          if (typeof chunk !== 'object' || chunk === null) {
            throw new InvalidResponseError({
              message: `${name} sent a stream chunk that is not an object`,
              provider: name,
              model: request.model,
              rawBody: redactSecrets(JSON.stringify(chunk) ?? String(chunk)),
            });
          }
          mapper.map(chunk, pending);
          while (pending.length > 0) yield pending.shift()!;
        }
      } catch (error) {
        const mapped = mapOpenAIError(error, scope);
        if (mapped.usage === undefined && mapper.reportedUsage) mapped.usage = mapper.reportedUsage;
        throw mapped;
      }
      // The SDK ends its iterator quietly when the request's signal aborts: an abort must not look like an end.
      if (context.signal.aborted) throw abortReason(context.signal);
      if (!mapper.finished) {
        throw new ConnectionError({
          message: `${name}: the stream ended before the provider said why generation stopped`,
          provider: name,
          model: request.model,
          ...(mapper.reportedUsage === undefined ? {} : { usage: mapper.reportedUsage }),
        });
      }
      mapper.end(pending);
      completed = true;
      while (pending.length > 0) yield pending.shift()!;
    } finally {
      // A consumer that stops early (or any failure) must close the upstream socket.
      if (!completed) chunks.controller.abort();
    }
  }

  async function embed(request: EmbeddingRequest, context: CallContext): Promise<EmbeddingResponse> {
    if (typeof request.model !== 'string' || request.model.trim() === '') {
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
    request.input.forEach((entry, index) => {
      if (typeof entry !== 'string') {
        throw new InvalidRequestError({
          field: `input[${index}]`,
          message: `Invalid request: input[${index}] must be a string`,
        });
      }
    });
    if (
      request.dimensions !== undefined &&
      (!Number.isInteger(request.dimensions) || request.dimensions <= 0)
    ) {
      throw new InvalidRequestError({
        field: 'dimensions',
        message: 'Invalid request: dimensions must be a positive integer',
      });
    }
    if (context.signal.aborted) throw abortReason(context.signal);
    let response: Response;
    try {
      response = await client.embeddings
        .create(
          {
            model: request.model,
            input: request.input,
            encoding_format: 'float',
            ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
          },
          requestOptions(context),
        )
        .asResponse();
    } catch (error) {
      reportErrorHeaders(error, request.model, context);
      throw mapOpenAIError(error, scopeOf(request.model, context));
    }
    readRateLimit(response.headers, request.model, context);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw mapOpenAIError(error, scopeOf(request.model, context));
    }
    return parseEmbeddings(text, name, request.model, response.status);
  }

  const provider: ProviderV1 = {
    specificationVersion: 'v1',
    name,
    system: 'openai',
    capabilities,
    complete,
    stream,
    close: () => ownFetch?.close(),
    embed,
  };
  if (options.models) (provider as { models?: readonly string[] }).models = [...options.models];
  return provider;
}

/** Parses an `/embeddings` body; anything unexpected is an `InvalidResponseError` with the raw body. */
export function parseEmbeddings(
  text: string,
  provider: string,
  model: string,
  status?: number,
): EmbeddingResponse {
  const fail = (reason: string): never => {
    throw new InvalidResponseError({
      message: `${provider} returned an invalid embeddings response: ${reason}`,
      provider,
      model,
      rawBody: redactSecrets(text.length > 4096 ? `${text.slice(0, 4096)}…` : text),
      ...(status === undefined ? {} : { status }),
    });
  };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail('the body is not valid JSON');
  }
  const data = (body as { data?: unknown })?.data;
  if (!Array.isArray(data)) return fail('no data array');
  const embeddings: number[][] = new Array(data.length);
  for (let position = 0; position < data.length; position += 1) {
    const entry = data[position] as { index?: unknown; embedding?: unknown };
    const vector = entry?.embedding;
    if (!Array.isArray(vector) || vector.some((value) => typeof value !== 'number')) {
      return fail(`data[${position}].embedding is not an array of numbers`);
    }
    const index = typeof entry.index === 'number' ? entry.index : position;
    embeddings[index] = vector as number[];
  }
  const usage = (body as { usage?: { prompt_tokens?: unknown } }).usage;
  const result: EmbeddingResponse = {
    model:
      typeof (body as { model?: unknown }).model === 'string' ? (body as { model: string }).model : model,
    embeddings,
  };
  if (typeof usage?.prompt_tokens === 'number') result.usage = { inputTokens: usage.prompt_tokens };
  return result;
}
