import Anthropic from '@anthropic-ai/sdk';
import {
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  ConfigError,
  ConnectionError,
  InvalidResponseError,
  type ProviderCapabilities,
  type ProviderV1,
  type RateLimitInfo,
  redactSecrets,
  registerSecret,
  type StreamEvent,
} from '@bulwark/core';
import { createNodeFetch, getHeader, type NodeFetch } from '@bulwark/provider-utils';
import { abortReason, mapAnthropicError } from './error-mapping.js';
import { parseAnthropicRateLimit } from './rate-limit-headers.js';
import { type AnthropicMappingOptions, toAnthropicBody } from './request-mapping.js';
import {
  AnthropicEventMapper,
  type AnthropicStreamEvent,
  parseAnthropicMessage,
} from './response-mapping.js';

/** `max_tokens` sent when a request sets no `maxTokens` (the Messages API requires one). */
export const DEFAULT_MAX_TOKENS = 4096;

/** Options of {@link createAnthropicProvider}. */
export interface AnthropicProviderOptions {
  /** Instance name targets refer to (`claude`…). Default `anthropic`. */
  name?: string;
  /** API key (`x-api-key`). Default `process.env.ANTHROPIC_API_KEY`. */
  apiKey?: string;
  /** Base URL of the API, without `/v1` (e.g. `https://api.anthropic.com`). Default the SDK's. */
  baseURL?: string;
  /** Headers sent with every request (e.g. `anthropic-beta`). */
  defaultHeaders?: Record<string, string>;
  /**
   * A configured `Anthropic` client to use instead of creating one (`apiKey`, `baseURL` and
   * `defaultHeaders` are then ignored). Its own retries never run: every request this provider makes
   * passes `maxRetries: 0`, so Bulwark's retry layer counts each attempt once,
   * and `timeoutMs` below replaces the client's own timeout.
   */
  client?: Anthropic;
  /**
   * The `fetch` the SDK sends requests with (ignored with \`client\`). Default: Bulwark's
   * \`createNodeFetch()\` on \`node:http\` with keep-alive sockets, which costs about half the CPU per call
   * of Node 20's built-in fetch; pass \`globalThis.fetch\` to use the built-in one.
   */
  fetch?: typeof fetch;
  /** Models this provider is known to serve (used for pass-through routing). */
  models?: readonly string[];
  /** `max_tokens` when a request sets no `maxTokens`. Default {@link DEFAULT_MAX_TOKENS} (4096). */
  defaultMaxTokens?: number;
  /**
   * How long the SDK waits for response headers before the attempt fails with
   * `TimeoutError { phase: 'first-token' }`. Default 600 000 ms. Bulwark's own timeout middleware and
   * the call deadline abort earlier through the call's signal.
   */
  timeoutMs?: number;
  /** Overrides of the advertised capabilities. */
  capabilities?: Partial<ProviderCapabilities>;
}

const defaultCapabilities: ProviderCapabilities = {
  streaming: true,
  tools: true,
  vision: true,
  jsonMode: true,
  embeddings: false,
};

function positiveInteger(path: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError({
      path,
      message: `Invalid configuration at ${path}: expected a positive integer, received ${String(value)}`,
    });
  }
}

function checkBaseURL(baseURL: string | undefined): void {
  if (baseURL === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(baseURL);
  } catch {
    throw new ConfigError({
      path: 'baseURL',
      message: `Invalid configuration at baseURL: ${JSON.stringify(baseURL)} is not a URL (expected e.g. "https://api.anthropic.com")`,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError({
      path: 'baseURL',
      message: `Invalid configuration at baseURL: expected an http(s) URL, received protocol ${parsed.protocol}`,
    });
  }
}

/**
 * A Bulwark provider for the Anthropic Messages API on the official `@anthropic-ai/sdk`, with its
 * retries switched off. Throws `ConfigError` naming the option when the key is missing or `baseURL`
 * does not parse.
 */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): ProviderV1 {
  const name = options.name ?? 'anthropic';
  positiveInteger('timeoutMs', options.timeoutMs);
  positiveInteger('defaultMaxTokens', options.defaultMaxTokens);
  const timeoutMs = options.timeoutMs ?? 600_000;
  let client: Anthropic;
  let ownFetch: NodeFetch | undefined;
  if (options.client) {
    client = options.client;
  } else {
    const apiKey = options.apiKey ?? process.env.ANTHROPIC_API_KEY;
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      throw new ConfigError({
        path: 'apiKey',
        message: 'Invalid configuration at apiKey: an API key is required (set apiKey or ANTHROPIC_API_KEY)',
      });
    }
    checkBaseURL(options.baseURL);
    registerSecret(apiKey);
    if (!options.fetch) ownFetch = createNodeFetch();
    client = new Anthropic({
      apiKey,
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      ...(options.defaultHeaders === undefined ? {} : { defaultHeaders: options.defaultHeaders }),
      maxRetries: 0,
      timeout: timeoutMs,
      fetch: options.fetch ?? ownFetch,
      // The SDK logs unparseable events verbatim to the console; errors carry them (redacted) instead.
      logLevel: 'off',
    });
  }
  const mapping: AnthropicMappingOptions = {
    name,
    defaultMaxTokens: options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
  };
  const capabilities: ProviderCapabilities = { ...defaultCapabilities, ...options.capabilities };
  // An explicit timeout also stops the SDK from refusing large non-streaming `max_tokens`.
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
    const rateLimit = parseAnthropicRateLimit(headers);
    if (rateLimit && context.events.has('ratelimit:headers')) {
      context.events.emit('ratelimit:headers', { provider: name, model, rateLimit });
    }
    return rateLimit;
  }

  function reportErrorHeaders(error: unknown, model: string, context: CallContext): void {
    const headers = (error as { headers?: unknown })?.headers;
    if (headers instanceof Headers) readRateLimit(headers, model, context);
  }

  async function complete(request: ChatRequest, context: CallContext): Promise<ChatResponse> {
    const body = toAnthropicBody(request, mapping, false);
    if (context.signal.aborted) throw abortReason(context.signal);
    let response: Response;
    try {
      response = await client.messages
        .create(body as unknown as Anthropic.MessageCreateParamsNonStreaming, requestOptions(context))
        .asResponse();
    } catch (error) {
      reportErrorHeaders(error, request.model, context);
      throw mapAnthropicError(error, scopeOf(request.model, context));
    }
    const rateLimit = readRateLimit(response.headers, request.model, context);
    const requestId = getHeader(response.headers, 'request-id');
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw mapAnthropicError(error, scopeOf(request.model, context));
    }
    return parseAnthropicMessage(text, {
      provider: name,
      model: request.model,
      status: response.status,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(requestId === undefined ? {} : { requestId }),
    });
  }

  async function* stream(request: ChatRequest, context: CallContext): AsyncGenerator<StreamEvent> {
    const body = toAnthropicBody(request, mapping, true);
    if (context.signal.aborted) throw abortReason(context.signal);
    const scope = scopeOf(request.model, context);
    let events: AsyncIterable<AnthropicStreamEvent> & { controller: AbortController };
    let headers: Headers;
    try {
      const answer = await client.messages
        .create(body as unknown as Anthropic.MessageCreateParamsStreaming, requestOptions(context))
        .withResponse();
      events = answer.data as unknown as AsyncIterable<AnthropicStreamEvent> & {
        controller: AbortController;
      };
      headers = answer.response.headers;
    } catch (error) {
      reportErrorHeaders(error, request.model, context);
      throw mapAnthropicError(error, scope);
    }
    const rateLimit = readRateLimit(headers, request.model, context);
    const requestId = getHeader(headers, 'request-id');
    const mapper = new AnthropicEventMapper({
      provider: name,
      model: request.model,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(requestId === undefined ? {} : { requestId }),
    });
    const pending: StreamEvent[] = [];
    let completed = false;
    try {
      try {
        for await (const event of events) {
          if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
            throw new InvalidResponseError({
              message: `${name} sent a stream event without a type`,
              provider: name,
              model: request.model,
              rawBody: redactSecrets(JSON.stringify(event) ?? String(event)),
            });
          }
          mapper.map(event, pending);
          while (pending.length > 0) yield pending.shift()!;
        }
      } catch (error) {
        const mapped = mapAnthropicError(error, scope);
        if (mapped.usage === undefined && mapper.reportedUsage) mapped.usage = mapper.reportedUsage;
        throw mapped;
      }
      // The SDK ends its iterator quietly when the request's signal aborts: an abort must not look like an end.
      if (context.signal.aborted) throw abortReason(context.signal);
      if (!mapper.finished) {
        throw new ConnectionError({
          message: `${name}: the stream ended before message_stop`,
          provider: name,
          model: request.model,
          ...(mapper.reportedUsage === undefined ? {} : { usage: mapper.reportedUsage }),
        });
      }
      completed = true;
    } finally {
      // A consumer that stops early (or any failure) must close the upstream socket.
      if (!completed) events.controller.abort();
    }
  }

  const provider: ProviderV1 = {
    specificationVersion: 'v1',
    name,
    system: 'anthropic',
    capabilities,
    complete,
    stream,
    close: () => ownFetch?.close(),
  };
  if (options.models) (provider as { models?: readonly string[] }).models = [...options.models];
  return provider;
}
