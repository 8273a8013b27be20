import type { ChatMessage, ChatRequest, FilePart, FinishReason, Usage } from '@bulwark/core';
import {
  getHeader,
  type HeaderSource,
  parseDuration,
  parseHeaderCount,
  parseRetryAfter,
  rateLimitInfo,
} from '@bulwark/provider-utils';

/** The field a server reads the output bound from: older servers know only `max_tokens`. */
export type MaxTokensField = 'max_tokens' | 'max_completion_tokens';

/** `usage` of an OpenAI-style answer or final stream chunk. */
export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

/** A `/chat/completions` answer (the fields this provider reads). */
export interface WireCompletion {
  id: string;
  model: string;
  choices: Array<{
    message: {
      content: string | null;
      tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
    };
    finish_reason: string;
  }>;
  usage?: WireUsage;
}

/** One `data:` chunk of a `/chat/completions` stream, or the error a server sends inside the stream. */
export interface WireChunk {
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
  usage?: WireUsage | null;
}

function toWireFile(part: FilePart): Record<string, string> {
  const file: Record<string, string> = {};
  if (part.fileId !== undefined) file.file_id = part.fileId;
  if (part.data !== undefined) file.file_data = `data:${part.mediaType};base64,${part.data}`;
  if (part.filename !== undefined) file.filename = part.filename;
  return file;
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
                  : part.type === 'image'
                    ? {
                        type: 'image_url',
                        image_url: { url: part.url ?? `data:${part.mediaType};base64,${part.data}` },
                      }
                    : { type: 'file', file: toWireFile(part) },
              ),
      };
    case 'assistant': {
      const toolCalls = message.toolCalls ?? [];
      return {
        role: 'assistant',
        content: message.content,
        ...(toolCalls.length > 0
          ? {
              tool_calls: toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

/** The `/chat/completions` body of a request. */
export function toWireBody(
  request: ChatRequest,
  stream: boolean,
  maxTokensField: MaxTokensField,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: request.messages.map(toWireMessage),
  };
  if (request.maxTokens !== undefined) body[maxTokensField] = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop !== undefined) body.stop = request.stop;
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.parameters },
    }));
  }
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

export function toUsage(usage: WireUsage | undefined | null): Usage | undefined {
  if (!usage) return undefined;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    totalTokens: usage.prompt_tokens + usage.completion_tokens,
    ...(cached ? { cachedInputTokens: cached } : {}),
  };
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  return reason === 'stop' || reason === 'length' || reason === 'tool_calls' || reason === 'content_filter'
    ? reason
    : 'other';
}

/** OpenAI's `x-ratelimit-*` headers (vLLM and Ollama send none; OpenRouter and hosted servers do). */
export const parseRateLimit = (headers: HeaderSource) =>
  rateLimitInfo({
    limitRequests: parseHeaderCount(headers, 'x-ratelimit-limit-requests'),
    remainingRequests: parseHeaderCount(headers, 'x-ratelimit-remaining-requests'),
    resetRequestsMs: parseDuration(getHeader(headers, 'x-ratelimit-reset-requests')),
    limitTokens: parseHeaderCount(headers, 'x-ratelimit-limit-tokens'),
    remainingTokens: parseHeaderCount(headers, 'x-ratelimit-remaining-tokens'),
    resetTokensMs: parseDuration(getHeader(headers, 'x-ratelimit-reset-tokens')),
    retryAfterMs: parseRetryAfter(headers),
  });
