/**
 * A minimal OpenAI-compatible provider on plain `fetch`: the reference a plugin author can read to see
 * what the conformance suite expects (error mapping, aborts that close the socket, SSE parsing, usage and
 * rate-limit headers). Not shipped: the real providers are `@bulwark/provider-openai` and friends.
 */
import {
  AbortedError,
  type CallContext,
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  ConnectionError,
  type EmbeddingRequest,
  type EmbeddingResponse,
  type FinishReason,
  InvalidResponseError,
  linkSignals,
  type ProviderV1,
  type RateLimitInfo,
  type StreamEvent,
  type ToolCall,
  throwIfAborted,
  type Usage,
} from '@bulwark/core';
import { errorFromHttpResponse, getHeader, parseDuration, parseRetryAfter } from '@bulwark/provider-utils';

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

function toUsage(usage: OpenAIUsage | undefined): Usage | undefined {
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

function rateLimitFrom(headers: Headers): RateLimitInfo | undefined {
  const info: RateLimitInfo = {};
  const number = (name: string): number | undefined => {
    const value = getHeader(headers, name);
    return value === undefined || Number.isNaN(Number(value)) ? undefined : Number(value);
  };
  const fields: Array<[keyof RateLimitInfo, number | undefined]> = [
    ['limitRequests', number('x-ratelimit-limit-requests')],
    ['remainingRequests', number('x-ratelimit-remaining-requests')],
    ['resetRequestsMs', parseDuration(getHeader(headers, 'x-ratelimit-reset-requests'))],
    ['limitTokens', number('x-ratelimit-limit-tokens')],
    ['remainingTokens', number('x-ratelimit-remaining-tokens')],
    ['resetTokensMs', parseDuration(getHeader(headers, 'x-ratelimit-reset-tokens'))],
    ['retryAfterMs', parseRetryAfter(headers)],
  ];
  for (const [key, value] of fields) if (value !== undefined) info[key] = value;
  return Object.keys(info).length > 0 ? info : undefined;
}

export function createFetchOpenAIProvider(options: FetchOpenAIProviderOptions): ProviderV1 {
  const name = options.name ?? 'fetch-openai';
  const baseURL = options.baseURL.replace(/\/$/, '');

  /** One POST; every failure leaves as a Bulwark error. The caller owns `signal` (and so the socket). */
  async function post(path: string, body: unknown, signal: AbortSignal, model: string): Promise<Response> {
    throwIfAborted(signal);
    let response: Response;
    try {
      response = await fetch(`${baseURL}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw new AbortedError({ cause: error });
      throw new ConnectionError({ provider: name, model, cause: error });
    }
    if (response.ok) return response;
    const text = await readText(response, signal, model);
    let parsed: { error?: { message?: string; type?: string; code?: string | null } } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw errorFromHttpResponse({
      status: response.status,
      body: text,
      headers: response.headers,
      provider: name,
      model,
      ...(parsed?.error?.message === undefined ? {} : { message: parsed.error.message }),
      ...(parsed?.error === undefined ? {} : { errorType: parsed.error.code ?? parsed.error.type ?? '' }),
      ...(response.headers.get('x-request-id')
        ? { requestId: response.headers.get('x-request-id') as string }
        : {}),
    });
  }

  async function readText(response: Response, signal: AbortSignal, model: string): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      if (signal.aborted) throw new AbortedError({ cause: error });
      throw new ConnectionError({ provider: name, model, cause: error });
    }
  }

  async function complete(request: ChatRequest, context: CallContext): Promise<ChatResponse> {
    const response = await post(
      '/chat/completions',
      toWireBody(request, false),
      context.signal,
      request.model,
    );
    const text = await readText(response, context.signal, request.model);
    let body: {
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
    };
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new InvalidResponseError({ provider: name, model: request.model, rawBody: text, cause: error });
    }
    const choice = body.choices?.[0];
    if (!choice) throw new InvalidResponseError({ provider: name, model: request.model, rawBody: text });
    const usage = toUsage(body.usage);
    const rateLimit = rateLimitFrom(response.headers);
    const requestId = response.headers.get('x-request-id');
    return {
      id: body.id,
      provider: name,
      model: body.model,
      text: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).map((call) => ({
        id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      })),
      finishReason: toFinishReason(choice.finish_reason),
      attempts: [],
      ...(usage ? { usage } : {}),
      ...(rateLimit ? { rateLimit } : {}),
      ...(requestId ? { requestId } : {}),
    };
  }

  async function* stream(request: ChatRequest, context: CallContext): AsyncGenerator<StreamEvent> {
    // Our own signal, so that a consumer who stops iterating aborts the request (and closes the socket).
    const link = linkSignals(context.signal);
    try {
      const response = await post('/chat/completions', toWireBody(request, true), link.signal, request.model);
      const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
      if (!reader)
        throw new InvalidResponseError({
          provider: name,
          model: request.model,
          message: 'empty stream body',
        });
      const rateLimit = rateLimitFrom(response.headers);
      const requestId = response.headers.get('x-request-id');
      let started = false;
      let buffer = '';
      let finishReason: FinishReason | undefined;
      const knownToolCalls = new Set<number>();
      const calls: ToolCall[] = [];
      while (true) {
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (link.signal.aborted) throw new AbortedError({ cause: error });
          throw new ConnectionError({
            provider: name,
            model: request.model,
            message: 'stream cut',
            cause: error,
          });
        }
        if (chunk.done) break;
        buffer += chunk.value;
        let boundary = buffer.indexOf('\n\n');
        while (boundary >= 0) {
          const frame = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data === '') continue;
          if (data === '[DONE]') {
            yield { type: 'finish', finishReason: finishReason ?? 'other' };
            return;
          }
          let parsed: {
            id: string;
            model: string;
            error?: { message: string; type: string; code?: string | null };
            choices?: Array<{
              delta: {
                content?: string | null;
                tool_calls?: Array<{
                  index: number;
                  id?: string;
                  function?: { name?: string; arguments?: string };
                }>;
              };
              finish_reason: string | null;
            }>;
            usage?: OpenAIUsage | null;
          };
          try {
            parsed = JSON.parse(data);
          } catch (error) {
            throw new InvalidResponseError({
              provider: name,
              model: request.model,
              rawBody: data,
              cause: error,
            });
          }
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
            yield {
              type: 'start',
              id: parsed.id,
              provider: name,
              model: parsed.model,
              ...(rateLimit ? { rateLimit } : {}),
              ...(requestId ? { requestId } : {}),
            };
          }
          const choice = parsed.choices?.[0];
          if (choice?.delta.content) yield { type: 'text-delta', text: choice.delta.content };
          for (const call of choice?.delta.tool_calls ?? []) {
            const first = !knownToolCalls.has(call.index);
            knownToolCalls.add(call.index);
            if (first)
              calls[call.index] = { id: call.id ?? '', name: call.function?.name ?? '', arguments: '' };
            yield {
              type: 'tool-call-delta',
              index: call.index,
              ...(first ? { id: call.id ?? '', name: call.function?.name ?? '' } : {}),
              argumentsDelta: call.function?.arguments ?? '',
            };
          }
          if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
          const usage = toUsage(parsed.usage ?? undefined);
          if (usage) yield { type: 'usage', usage };
        }
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

  async function embed(request: EmbeddingRequest, context: CallContext): Promise<EmbeddingResponse> {
    const response = await post(
      '/embeddings',
      { model: request.model, input: request.input, encoding_format: 'float' },
      context.signal,
      request.model,
    );
    const text = await readText(response, context.signal, request.model);
    try {
      const body = JSON.parse(text) as {
        model: string;
        data: Array<{ embedding: number[] }>;
        usage: { prompt_tokens: number };
      };
      return {
        model: body.model,
        embeddings: body.data.map((item) => item.embedding),
        usage: { inputTokens: body.usage.prompt_tokens },
      };
    } catch (error) {
      throw new InvalidResponseError({ provider: name, model: request.model, rawBody: text, cause: error });
    }
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
