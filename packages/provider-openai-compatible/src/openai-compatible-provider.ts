import {
  type ChatRequest,
  type ChatResponse,
  ConnectionError,
  type EmbeddingRequest,
  type EmbeddingResponse,
  type FinishReason,
  linkSignals,
  type ProviderCallOptions,
  type ProviderV1,
  registerSecret,
  type StreamEvent,
} from '@bulwark/core';
import {
  chatResponse,
  checkBaseURL,
  errorFromHttpResponse,
  invalidResponse,
  postJson,
  readText,
  sseData,
  startEvent,
} from '@bulwark/provider-utils';
import {
  type MaxTokensField,
  parseRateLimit,
  toFinishReason,
  toUsage,
  toWireBody,
  type WireChunk,
  type WireCompletion,
} from './wire-mapping.js';

export interface OpenAICompatibleProviderOptions {
  /** Instance name targets refer to. Default `openai-compatible`. */
  name?: string;
  /** Base URL including the version path: `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8000/v1` (vLLM). */
  baseURL: string;
  /** Sent as `Authorization: Bearer …` when set; local servers need none. Registered as a secret (redacted from errors and logs). */
  apiKey?: string;
  /** Headers sent with every request (OpenRouter's `HTTP-Referer`, a gateway's tenant header). */
  headers?: Record<string, string>;
  /** The transport. Default the global `fetch`; pass `createNodeFetch()` from `@bulwark/provider-utils` for keep-alive on node:http. */
  fetch?: typeof fetch;
  /** Models this server is known to serve (used for pass-through routing). */
  models?: readonly string[];
  /** The field the output bound goes in. Default `max_tokens`, which every compatible server reads. */
  maxTokensField?: MaxTokensField;
}

/** Parses JSON, or fails as the invalid answer it is. */
function parseJson<T>(text: string, meta: { provider: string; model: string }): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return invalidResponse(meta, 'the body is not valid JSON', text);
  }
}

/** A provider for any server that speaks OpenAI's `/chat/completions` and `/embeddings`, on plain `fetch`. */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): ProviderV1 {
  const name = options.name ?? 'openai-compatible';
  checkBaseURL(options.baseURL, 'http://127.0.0.1:11434/v1');
  const baseURL = options.baseURL.replace(/\/+$/, '');
  const maxTokensField = options.maxTokensField ?? 'max_tokens';
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) {
    registerSecret(options.apiKey);
    headers.authorization = `Bearer ${options.apiKey}`;
  }
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
        headers,
        provider: name,
        model,
        parseRateLimit,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
      call,
    );

  async function complete(request: ChatRequest, call: ProviderCallOptions): Promise<ChatResponse> {
    const body = toWireBody(request, false, maxTokensField);
    const { response, meta } = await post('/chat/completions', body, request.model, call);
    const text = await readText(response, call.signal, meta);
    const answer = parseJson<WireCompletion>(text, meta);
    const choice = answer.choices?.[0];
    if (!choice) return invalidResponse(meta, 'no choices in the body', text);
    return chatResponse(meta, {
      id: answer.id,
      model: answer.model,
      text: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).map((toolCall) => ({
        id: toolCall.id,
        name: toolCall.function.name,
        arguments: toolCall.function.arguments,
      })),
      finishReason: toFinishReason(choice.finish_reason),
      usage: toUsage(answer.usage),
    });
  }

  async function* stream(request: ChatRequest, call: ProviderCallOptions): AsyncGenerator<StreamEvent> {
    // Our own signal: a consumer that stops iterating early runs `finally`, which aborts the request and closes the socket.
    const link = linkSignals(call.signal);
    try {
      const body = toWireBody(request, true, maxTokensField);
      const { response, meta } = await post('/chat/completions', body, request.model, {
        signal: link.signal,
        events: call.events,
      });
      if (!response.body) return invalidResponse(meta, 'empty stream body', '');
      let started = false;
      let finishReason: FinishReason | undefined;
      const seenToolCalls = new Set<number>();
      for await (const data of sseData(response.body, link.signal, meta)) {
        // `finish` only after the terminator: a stream cut before it is a connection error, below.
        if (data === '[DONE]') {
          yield { type: 'finish', finishReason: finishReason ?? 'other' };
          return;
        }
        const chunk = parseJson<WireChunk>(data, meta);
        if (chunk.error) {
          throw errorFromHttpResponse({
            status: 500,
            body: data,
            message: chunk.error.message,
            errorType: chunk.error.code ?? chunk.error.type,
            provider: name,
            model: request.model,
          });
        }
        if (!started) {
          started = true;
          yield startEvent(meta, chunk.id, chunk.model);
        }
        const choice = chunk.choices?.[0];
        if (choice?.delta.content) yield { type: 'text-delta', text: choice.delta.content };
        for (const toolCall of choice?.delta.tool_calls ?? []) {
          const first = !seenToolCalls.has(toolCall.index);
          seenToolCalls.add(toolCall.index);
          yield {
            type: 'tool-call-delta',
            index: toolCall.index,
            ...(first ? { id: toolCall.id ?? '', name: toolCall.function?.name ?? '' } : {}),
            argumentsDelta: toolCall.function?.arguments ?? '',
          };
        }
        if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
        const usage = toUsage(chunk.usage);
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

  async function embed(request: EmbeddingRequest, call: ProviderCallOptions): Promise<EmbeddingResponse> {
    const body = { model: request.model, input: request.input, encoding_format: 'float' };
    const { response, meta } = await post('/embeddings', body, request.model, call);
    const text = await readText(response, call.signal, meta);
    const answer = parseJson<{
      model: string;
      data?: Array<{ embedding: number[] }>;
      usage?: { prompt_tokens: number };
    }>(text, meta);
    if (!Array.isArray(answer.data)) return invalidResponse(meta, 'no data in the body', text);
    return {
      model: answer.model,
      embeddings: answer.data.map((item) => item.embedding),
      ...(answer.usage ? { usage: { inputTokens: answer.usage.prompt_tokens } } : {}),
    };
  }

  return {
    specificationVersion: 'v1',
    name,
    system: 'openai',
    capabilities: { streaming: true, tools: true, vision: true, jsonMode: false, embeddings: true },
    ...(options.models ? { models: options.models } : {}),
    complete,
    stream,
    embed,
  };
}
