/**
 * A minimal OpenAI-compatible provider on plain `fetch`: the reference a plugin author can read to see
 * what the conformance suite expects (error mapping, aborts that close the socket, SSE parsing, usage and
 * rate-limit headers), written with `@bulwark/provider-utils`' HTTP helpers (`postJson`, `sseData`).
 * Not shipped: the real providers are `@bulwark/provider-openai` and friends.
 */
import {
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  ConnectionError,
  type EmbeddingRequest,
  type EmbeddingResponse,
  type FinishReason,
  linkSignals,
  type ProviderCallOptions,
  type ProviderV1,
  type StreamEvent,
  type Usage,
} from '@bulwark/core';
import {
  chatResponse,
  errorFromHttpResponse,
  getHeader,
  type HeaderSource,
  invalidResponse,
  parseDuration,
  parseHeaderCount,
  parseRetryAfter,
  postJson,
  rateLimitInfo,
  readText,
  sseData,
  startEvent,
} from '@bulwark/provider-utils';

export interface FetchOpenAIProviderOptions {
  /** Instance name. Default `fetch-openai`. */
  name?: string;
  /** Base URL including `/v1`. */
  baseURL: string;
  apiKey: string;
}

interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

function toWireMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part) =>
                part.type === 'text'
                  ? { type: 'text', text: part.text }
                  : {
                      type: 'image_url',
                      image_url: { url: part.url ?? `data:${part.mediaType};base64,${part.data}` },
                    },
              ),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toWireBody(request: ChatRequest, stream: boolean): Record<string, unknown> {
  return {
    model: request.model,
    messages: request.messages.map(toWireMessage),
    ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((tool) => ({
            type: 'function',
            function: { name: tool.name, description: tool.description, parameters: tool.parameters },
          })),
        }
      : {}),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

function toUsage(usage: OpenAIUsage | undefined | null): Usage | undefined {
  if (!usage) return undefined;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    totalTokens: usage.prompt_tokens + usage.completion_tokens,
    ...(cached ? { cachedInputTokens: cached } : {}),
  };
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  return reason === 'stop' || reason === 'length' || reason === 'tool_calls' || reason === 'content_filter'
    ? reason
    : 'other';
}

const parseRateLimit = (headers: HeaderSource) =>
  rateLimitInfo({
    limitRequests: parseHeaderCount(headers, 'x-ratelimit-limit-requests'),
    remainingRequests: parseHeaderCount(headers, 'x-ratelimit-remaining-requests'),
    resetRequestsMs: parseDuration(getHeader(headers, 'x-ratelimit-reset-requests')),
    limitTokens: parseHeaderCount(headers, 'x-ratelimit-limit-tokens'),
    remainingTokens: parseHeaderCount(headers, 'x-ratelimit-remaining-tokens'),
    resetTokensMs: parseDuration(getHeader(headers, 'x-ratelimit-reset-tokens')),
    retryAfterMs: parseRetryAfter(headers),
  });

/** Parses JSON, or fails as the invalid answer it is. */
function parseJson<T>(text: string, meta: { provider: string; model: string }): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return invalidResponse(meta, 'the body is not valid JSON', text);
  }
}

interface ChatCompletion {
  id: string;
  model: string;
  choices: Array<{
    message: {
      content: string | null;
      tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
    };
    finish_reason: string;
  }>;
  usage?: OpenAIUsage;
}

interface ChatChunk {
  id: string;
  model: string;
  error?: { message: string; type: string; code?: string | null };
  choices?: Array<{
    delta: {
      content?: string | null;
      tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason: string | null;
  }>;
  usage?: OpenAIUsage | null;
}

export function createFetchOpenAIProvider(options: FetchOpenAIProviderOptions): ProviderV1 {
  const name = options.name ?? 'fetch-openai';
  const baseURL = options.baseURL.replace(/\/$/, '');
  const post = (
    path: string,
    body: unknown,
    model: string,
    call: Pick<ProviderCallOptions, 'signal' | 'events'>,
  ) =>
    postJson(
      {
        url: `${baseURL}${path}`,
        body,
        headers: { authorization: `Bearer ${options.apiKey}` },
        provider: name,
        model,
        parseRateLimit,
      },
      call,
    );

  async function complete(request: ChatRequest, options: ProviderCallOptions): Promise<ChatResponse> {
    const { response, meta } = await post(
      '/chat/completions',
      toWireBody(request, false),
      request.model,
      options,
    );
    const text = await readText(response, options.signal, meta);
    const body = parseJson<ChatCompletion>(text, meta);
    const choice = body.choices?.[0];
    if (!choice) return invalidResponse(meta, 'no choices in the body', text);
    const usage = toUsage(body.usage);
    return chatResponse(meta, {
      id: body.id,
      model: body.model,
      text: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).map((call) => ({
        id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      })),
      finishReason: toFinishReason(choice.finish_reason),
      ...(usage ? { usage } : {}),
    });
  }

  async function* stream(request: ChatRequest, options: ProviderCallOptions): AsyncGenerator<StreamEvent> {
    // Our own signal, so that a consumer who stops iterating aborts the request (and closes the socket).
    const link = linkSignals(options.signal);
    try {
      const call = { signal: link.signal, events: options.events };
      const { response, meta } = await post(
        '/chat/completions',
        toWireBody(request, true),
        request.model,
        call,
      );
      if (!response.body) return invalidResponse(meta, 'empty stream body', '');
      let started = false;
      let finishReason: FinishReason | undefined;
      const knownToolCalls = new Set<number>();
      for await (const data of sseData(response.body, link.signal, meta)) {
        if (data === '[DONE]') {
          yield { type: 'finish', finishReason: finishReason ?? 'other' };
          return;
        }
        const parsed = parseJson<ChatChunk>(data, meta);
        if (parsed.error) {
          throw errorFromHttpResponse({
            status: 500,
            body: data,
            message: parsed.error.message,
            errorType: parsed.error.code ?? parsed.error.type,
            provider: name,
            model: request.model,
          });
        }
        if (!started) {
          started = true;
          yield startEvent(meta, parsed.id, parsed.model);
        }
        const choice = parsed.choices?.[0];
        if (choice?.delta.content) yield { type: 'text-delta', text: choice.delta.content };
        for (const call of choice?.delta.tool_calls ?? []) {
          const first = !knownToolCalls.has(call.index);
          knownToolCalls.add(call.index);
          yield {
            type: 'tool-call-delta',
            index: call.index,
            ...(first ? { id: call.id ?? '', name: call.function?.name ?? '' } : {}),
            argumentsDelta: call.function?.arguments ?? '',
          };
        }
        if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
        const usage = toUsage(parsed.usage);
        if (usage) yield { type: 'usage', usage };
      }
      throw new ConnectionError({
        provider: name,
        model: request.model,
        message: 'stream ended without [DONE]',
      });
    } finally {
      link.controller.abort();
      link.dispose();
    }
  }

  async function embed(request: EmbeddingRequest, options: ProviderCallOptions): Promise<EmbeddingResponse> {
    const { response, meta } = await post(
      '/embeddings',
      { model: request.model, input: request.input, encoding_format: 'float' },
      request.model,
      options,
    );
    const body = parseJson<{
      model: string;
      data: Array<{ embedding: number[] }>;
      usage: { prompt_tokens: number };
    }>(await readText(response, options.signal, meta), meta);
    return {
      model: body.model,
      embeddings: body.data.map((item) => item.embedding),
      usage: { inputTokens: body.usage.prompt_tokens },
    };
  }

  return {
    specificationVersion: 'v1',
    name,
    system: 'openai',
    capabilities: { streaming: true, tools: true, vision: true, jsonMode: false, embeddings: true },
    complete,
    stream,
    embed,
  };
}
