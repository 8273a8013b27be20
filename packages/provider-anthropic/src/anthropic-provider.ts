import Anthropic from '@anthropic-ai/sdk';
import { InvalidResponseError, type ProviderCapabilities, type ProviderV1 } from '@bulwark/core';
import {
  checkPositiveInteger,
  createPassthrough,
  createSdkCaller,
  createSdkClient,
  type SdkProviderOptions,
} from '@bulwark/provider-utils';
import { mapAnthropicError } from './error-mapping.js';
import { parseAnthropicRateLimit } from './rate-limit-headers.js';
import { type AnthropicMappingOptions, toAnthropicBody } from './request-mapping.js';
import {
  AnthropicEventMapper,
  type AnthropicStreamEvent,
  parseAnthropicMessage,
} from './response-mapping.js';
import { AnthropicFrameTap, tapAnthropicJson } from './wire-passthrough.js';

/** The `anthropic-version` this provider speaks (its request and response mappers follow it). */
const anthropicApiVersion = '2023-06-01';

/** `max_tokens` sent when a request sets no `maxTokens` (the Messages API requires one). */
export const DEFAULT_MAX_TOKENS = 4096;

/** Options of {@link createAnthropicProvider}. */
export interface AnthropicProviderOptions extends SdkProviderOptions<Anthropic> {
  /** Instance name targets refer to (`claude`…). Default `anthropic`. */
  name?: string;
  /** API key (`x-api-key`). Default `process.env.ANTHROPIC_API_KEY`. */
  apiKey?: string;
  /** Base URL of the API, without `/v1` (e.g. `https://api.anthropic.com`). Default the SDK's. */
  baseURL?: string;
  /** `max_tokens` when a request sets no `maxTokens`. Default {@link DEFAULT_MAX_TOKENS} (4096). */
  defaultMaxTokens?: number;
}

const defaultCapabilities: ProviderCapabilities = {
  streaming: true,
  tools: true,
  vision: true,
  jsonMode: true,
  embeddings: false,
};

function checkStreamEvent(event: AnthropicStreamEvent): string | undefined {
  return typeof event !== 'object' || event === null || typeof event.type !== 'string'
    ? 'sent a stream event without a type'
    : undefined;
}

/**
 * A Bulwark provider for the Anthropic Messages API on the official `@anthropic-ai/sdk`, with its
 * retries switched off. Throws `ConfigError` naming the option when the key is missing or `baseURL`
 * does not parse.
 */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): ProviderV1 {
  const name = options.name ?? 'anthropic';
  checkPositiveInteger('timeoutMs', options.timeoutMs);
  checkPositiveInteger('defaultMaxTokens', options.defaultMaxTokens);
  // An explicit timeout also stops the SDK from refusing large non-streaming `max_tokens`.
  const timeoutMs = options.timeoutMs ?? 600_000;
  const { client, close } = createSdkClient<Anthropic>({
    ...options,
    apiKeyEnv: 'ANTHROPIC_API_KEY',
    baseURLExample: 'https://api.anthropic.com',
    timeoutMs,
    // The API version the mappers were written for, whatever the SDK's default (1.x sends a newer one).
    create: (settings) =>
      new Anthropic({
        ...settings,
        defaultHeaders: { 'anthropic-version': anthropicApiVersion, ...settings.defaultHeaders },
      }),
  });
  const mapping: AnthropicMappingOptions = {
    name,
    defaultMaxTokens: options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
  };
  const caller = createSdkCaller({
    provider: name,
    timeoutMs,
    mapError: mapAnthropicError,
    parseRateLimit: (headers) => parseAnthropicRateLimit(headers),
    requestIdHeader: 'request-id',
  });

  const provider: ProviderV1 = {
    specificationVersion: 'v1',
    name,
    system: 'anthropic',
    capabilities: { ...defaultCapabilities, ...options.capabilities },
    async complete(request, context) {
      const body = toAnthropicBody(request, mapping, false);
      const { text, meta } = await caller.send(request.model, context, (requestOptions) =>
        client.messages
          .create(body as unknown as Anthropic.MessageCreateParamsNonStreaming, requestOptions)
          .asResponse(),
      );
      return parseAnthropicMessage(text, meta);
    },
    async *stream(request, context) {
      const body = toAnthropicBody(request, mapping, true);
      yield* caller.stream<AnthropicStreamEvent>(
        request.model,
        context,
        (requestOptions) =>
          client.messages
            .create(body as unknown as Anthropic.MessageCreateParamsStreaming, requestOptions)
            .withResponse(),
        {
          mapper: (meta) => new AnthropicEventMapper(meta),
          check: checkStreamEvent,
          endedEarly: 'the stream ended before message_stop',
        },
      );
    },
    async countTokens(request, context) {
      const { text } = await caller.send(request.model, context, (requestOptions) =>
        client
          .post('/v1/messages/count_tokens', {
            body: { ...request.body, model: request.model },
            ...(request.headers ? { headers: { ...request.headers } } : {}),
            ...requestOptions,
          })
          .asResponse(),
      );
      const inputTokens = (JSON.parse(text) as { input_tokens?: unknown }).input_tokens;
      if (typeof inputTokens !== 'number') {
        throw new InvalidResponseError({
          provider: name,
          message: `${name} answered count_tokens without input_tokens`,
        });
      }
      return { inputTokens };
    },
    ...(options.passthrough === false
      ? {}
      : {
          passthrough: createPassthrough({
            format: 'anthropic-messages',
            provider: name,
            caller,
            requestIdHeader: 'request-id',
            send: (body, headers, stream, requestOptions) =>
              client.post('/v1/messages', { body, headers, stream, ...requestOptions }).asResponse(),
            tapJson: tapAnthropicJson,
            tapStream: () => new AnthropicFrameTap(name),
            endedEarly: 'the stream ended before message_stop',
          }),
        }),
    close,
  };
  if (options.models) (provider as { models?: readonly string[] }).models = [...options.models];
  return provider;
}
