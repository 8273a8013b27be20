import {
  type EmbeddingRequest,
  type EmbeddingResponse,
  InvalidRequestError,
  InvalidResponseError,
  type ProviderCapabilities,
  type ProviderPassthroughV1,
  type ProviderV1,
  redactSecrets,
} from '@bulwark/core';
import {
  checkPositiveInteger,
  createPassthrough,
  createSdkCaller,
  createSdkClient,
  type SdkProviderOptions,
} from '@bulwark/provider-utils';
import OpenAI from 'openai';
import { mapOpenAIError } from './error-mapping.js';
import { parseOpenAIRateLimit } from './rate-limit-headers.js';
import { type OpenAIMappingOptions, toOpenAIChatBody } from './request-mapping.js';
import { type OpenAIChunk, OpenAIChunkMapper, parseOpenAIChatResponse } from './response-mapping.js';
import {
  parseResponsesAnswer,
  ResponsesEventMapper,
  ResponsesFrameTap,
  type ResponsesStreamEvent,
  tapResponsesJson,
  toResponsesBody,
} from './responses-api.js';

/** True for OpenAI's own API (no `baseURL`, or one on api.openai.com). */
function isOpenAIEndpoint(baseURL: string | undefined): boolean {
  if (baseURL === undefined) return true;
  try {
    return new URL(baseURL).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

import { callerAskedForUsage, OpenAIFrameTap, tapOpenAIJson, withStreamUsage } from './wire-passthrough.js';

/** Options of {@link createOpenAIProvider}. */
export interface OpenAIProviderOptions extends SdkProviderOptions<OpenAI> {
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
  /**
   * Which field carries `maxTokens`: `max_completion_tokens` (default; OpenAI's current field, required by
   * its reasoning models) or `max_tokens` (for compatible servers that only know the deprecated one).
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * Ask for a final usage chunk when streaming (`stream_options.include_usage`). Default true; switch it
   * off for servers that reject `stream_options`.
   */
  includeStreamUsage?: boolean;
  /**
   * Which OpenAI API serves calls: `chat` (Chat Completions, default) or `responses` (the Responses API,
   * `POST /v1/responses`, for models served only there), mapped to the same normalized types.
   */
  api?: 'chat' | 'responses';
  /** Models that always go to the Responses API whatever `api` says (a Responses-only model beside chat ones). */
  responsesModels?: readonly string[];
  /**
   * The upstream serves the Responses API, so a gateway forwards `/v1/responses` bodies to it as sent
   * (same-format passthrough). Default true on OpenAI's own endpoint (no `baseURL`, or
   * `https://api.openai.com/…`), false for any other `baseURL`.
   */
  responses?: boolean;
  /** Send `request.metadata` as `metadata` (OpenAI accepts it only with `store: true`). Default false. */
  forwardMetadata?: boolean;
}

const defaultCapabilities: ProviderCapabilities = {
  streaming: true,
  tools: true,
  vision: true,
  jsonMode: true,
  embeddings: true,
};

function checkEmbeddingRequest(request: EmbeddingRequest): void {
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
}

/**
 * A Bulwark provider for OpenAI Chat Completions and embeddings, and any OpenAI-compatible server
 * (vLLM, Ollama, llama.cpp, OpenRouter, Groq…) through `baseURL`, on the official `openai` SDK with its
 * retries switched off. Throws `ConfigError` naming the option when the key is missing or `baseURL`
 * does not parse.
 */
export function createOpenAIProvider(options: OpenAIProviderOptions = {}): ProviderV1 {
  const name = options.name ?? 'openai';
  checkPositiveInteger('timeoutMs', options.timeoutMs);
  const timeoutMs = options.timeoutMs ?? 600_000;
  const { client, close } = createSdkClient<OpenAI>({
    ...options,
    apiKeyEnv: 'OPENAI_API_KEY',
    apiKeyHint: 'servers that ignore keys accept any string',
    baseURLExample: 'https://api.openai.com/v1',
    timeoutMs,
    create: (settings) =>
      new OpenAI({
        ...settings,
        ...(options.organization === undefined ? {} : { organization: options.organization }),
        ...(options.project === undefined ? {} : { project: options.project }),
      }),
  });
  const mapping: OpenAIMappingOptions = {
    name,
    maxTokensField: options.maxTokensField ?? 'max_completion_tokens',
    forwardMetadata: options.forwardMetadata ?? false,
    includeUsage: options.includeStreamUsage ?? true,
  };
  const responsesModels = new Set(options.responsesModels ?? []);
  const servesResponses =
    options.passthrough !== false && (options.responses ?? isOpenAIEndpoint(options.baseURL));
  const usesResponses = (model: string): boolean => options.api === 'responses' || responsesModels.has(model);
  // A Responses-only model is never sent a Chat Completions body as is: its calls are translated.
  const servingChatModels = (passthrough: ProviderPassthroughV1): ProviderPassthroughV1 =>
    responsesModels.size === 0
      ? passthrough
      : { ...passthrough, servesModel: (model) => !usesResponses(model) };
  const caller = createSdkCaller({
    provider: name,
    timeoutMs,
    mapError: mapOpenAIError,
    parseRateLimit: (headers) => parseOpenAIRateLimit(headers),
    requestIdHeader: 'x-request-id',
  });

  const responsesPassthrough = servesResponses
    ? createPassthrough({
        format: 'openai-responses',
        provider: name,
        caller,
        requestIdHeader: 'x-request-id',
        send: (body, headers, stream, requestOptions) =>
          client.post('/responses', { body, headers, stream, ...requestOptions }).asResponse(),
        tapJson: tapResponsesJson,
        tapStream: (sent) => new ResponsesFrameTap({ provider: name, model: String(sent.model ?? '') }),
        endedEarly: 'the stream ended before response.completed',
      })
    : undefined;

  const provider: ProviderV1 = {
    specificationVersion: 'v1',
    name,
    system: 'openai',
    capabilities: { ...defaultCapabilities, ...options.capabilities },
    async complete(request, context) {
      if (usesResponses(request.model)) {
        const body = toResponsesBody(request, false);
        const { text, meta } = await caller.send(request.model, context, (requestOptions) =>
          client.responses
            .create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming, requestOptions)
            .asResponse(),
        );
        return parseResponsesAnswer(text, meta);
      }
      const body = toOpenAIChatBody(request, mapping, false);
      const { text, meta } = await caller.send(request.model, context, (requestOptions) =>
        client.chat.completions
          .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, requestOptions)
          .asResponse(),
      );
      return parseOpenAIChatResponse(text, meta);
    },
    async *stream(request, context) {
      if (usesResponses(request.model)) {
        const body = toResponsesBody(request, true);
        yield* caller.stream<ResponsesStreamEvent>(
          request.model,
          context,
          (requestOptions) =>
            client.responses
              .create(body as unknown as OpenAI.Responses.ResponseCreateParamsStreaming, requestOptions)
              .withResponse(),
          {
            mapper: (meta) => new ResponsesEventMapper(meta),
            check: (event) =>
              typeof event !== 'object' || event === null
                ? 'sent a stream event that is not an object'
                : undefined,
            endedEarly: 'the stream ended before response.completed',
          },
        );
        return;
      }
      const body = toOpenAIChatBody(request, mapping, true);
      yield* caller.stream<OpenAIChunk>(
        request.model,
        context,
        (requestOptions) =>
          client.chat.completions
            .create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, requestOptions)
            .withResponse(),
        {
          mapper: (meta) => new OpenAIChunkMapper(meta),
          check: (chunk) =>
            typeof chunk !== 'object' || chunk === null
              ? 'sent a stream chunk that is not an object'
              : undefined,
          endedEarly: 'the stream ended before the provider said why generation stopped',
        },
      );
    },
    async embed(request, context) {
      checkEmbeddingRequest(request);
      const { text, meta } = await caller.send(request.model, context, (requestOptions) =>
        client.embeddings
          .create(
            {
              model: request.model,
              input: request.input,
              encoding_format: 'float',
              ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
            },
            requestOptions,
          )
          .asResponse(),
      );
      return parseEmbeddings(text, name, request.model, meta.status);
    },
    ...(options.passthrough === false || options.api === 'responses'
      ? {}
      : {
          passthrough: servingChatModels(
            createPassthrough({
              format: 'openai-chat',
              provider: name,
              caller,
              requestIdHeader: 'x-request-id',
              send: (body, headers, stream, requestOptions) =>
                client.post('/chat/completions', { body, headers, stream, ...requestOptions }).asResponse(),
              prepare: (body, stream) => (stream && mapping.includeUsage ? withStreamUsage(body) : body),
              tapJson: tapOpenAIJson,
              tapStream: (sent, asked) =>
                new OpenAIFrameTap(callerAskedForUsage(sent) && !callerAskedForUsage(asked)),
              endedEarly: 'the stream ended before the provider said why generation stopped',
            }),
          ),
        }),
    ...(responsesPassthrough ? { passthroughs: [responsesPassthrough] } : {}),
    close,
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
