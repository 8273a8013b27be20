import type { ChatResponse, FinishReason, StreamEvent, TokenLogprob, ToolCall, Usage } from '@bulwark/core';
import {
  type AnswerMeta,
  chatResponse,
  invalidResponse,
  isRecord,
  startEvent,
} from '@bulwark/provider-utils';
import { errorFromOpenAIAnswer, statusForErrorType } from './error-mapping.js';

/** The Chat Completions usage object (OpenAI and compatible servers). */
export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
}

/** OpenAI's `choices[i].logprobs` (the `content` list; `refusal` logprobs are not mapped). */
interface OpenAILogprobs {
  content?: Array<{
    token: string;
    logprob: number;
    bytes?: number[] | null;
    top_logprobs?: Array<{ token: string; logprob: number; bytes?: number[] | null }>;
  }> | null;
}

interface OpenAIToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** One SSE chunk of a streamed Chat Completion. */
export interface OpenAIChunk {
  id?: string;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: {
      content?: string | null;
      refusal?: string | null;
      /** Reasoning text of OpenAI-compatible reasoning servers (DeepSeek, vLLM, OpenRouter's `reasoning`). */
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: OpenAIToolCallDelta[] | null;
    };
    logprobs?: OpenAILogprobs | null;
    finish_reason?: string | null;
  }>;
  usage?: OpenAIUsage | null;
}

/** Maps OpenAI's `finish_reason` (and compatible servers' variants) to the normalized one. */
export function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
    case 'eos':
    case 'end_turn':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

export function mapUsage(usage: OpenAIUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const inputTokens = usage.prompt_tokens ?? 0;
  const outputTokens = usage.completion_tokens ?? 0;
  const mapped: Usage = {
    inputTokens,
    outputTokens,
    totalTokens: usage.total_tokens ?? inputTokens + outputTokens,
  };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number') mapped.cachedInputTokens = cached;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === 'number') mapped.reasoningTokens = reasoning;
  return mapped;
}

/** OpenAI's token logprobs in the normalized shape (`top_logprobs` → `topLogprobs`). */
export function mapLogprobs(logprobs: OpenAILogprobs | null | undefined): TokenLogprob[] | undefined {
  const content = logprobs?.content;
  if (!Array.isArray(content)) return undefined;
  return content.map((entry) => {
    const mapped: TokenLogprob = { token: entry.token, logprob: entry.logprob };
    if (entry.bytes !== undefined) mapped.bytes = entry.bytes;
    if (Array.isArray(entry.top_logprobs)) mapped.topLogprobs = entry.top_logprobs;
    return mapped;
  });
}

function reasoningText(message: Record<string, unknown>): string | undefined {
  const text = message.reasoning_content ?? message.reasoning;
  return typeof text === 'string' && text !== '' ? text : undefined;
}

/**
 * Parses a Chat Completion body (as text, so a body that is not JSON or lacks `choices` becomes an
 * `InvalidResponseError` carrying the redacted raw body) into the normalized response.
 */
export function parseOpenAIChatResponse(text: string, meta: AnswerMeta & { status?: number }): ChatResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    invalidResponse(meta, 'the body is not valid JSON', text);
  }
  if (isRecord(body) && body.choices === undefined && isRecord(body.error)) {
    // Some compatible servers answer 200 with an error object: map it as its type's status would be.
    const { code, type } = body.error;
    throw errorFromOpenAIAnswer({
      status: statusForErrorType([code, type].filter((value) => typeof value === 'string').join(' ')),
      error: body.error,
      provider: meta.provider,
      model: meta.model,
      ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
    });
  }
  if (!isRecord(body) || !Array.isArray(body.choices) || !isRecord(body.choices[0])) {
    invalidResponse(meta, 'no choices in the body', text);
  }
  const choice = body.choices[0] as Record<string, unknown>;
  const message = choice.message;
  if (!isRecord(message)) invalidResponse(meta, 'choices[0].message is missing', text);
  const content = message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') {
    invalidResponse(meta, 'choices[0].message.content is not a string', text);
  }
  const toolCalls: ToolCall[] = [];
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isRecord(call) || !isRecord(call.function) || typeof call.function.name !== 'string') {
        invalidResponse(meta, 'a tool call has no function name', text);
      }
      const args = call.function.arguments;
      toolCalls.push({
        id: typeof call.id === 'string' ? call.id : '',
        name: call.function.name,
        arguments: typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args),
      });
    }
  }
  const refusal = typeof message.refusal === 'string' ? message.refusal : undefined;
  const usage = mapUsage(body.usage as OpenAIUsage | undefined);
  const response = chatResponse(meta, {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : meta.model,
    text: typeof content === 'string' ? content : '',
    toolCalls,
    finishReason: mapFinishReason(choice.finish_reason as string | undefined),
    ...(usage === undefined ? {} : { usage }),
  });
  if (refusal !== undefined) response.refusal = refusal;
  const reasoning = reasoningText(message);
  if (reasoning !== undefined) response.reasoning = [{ type: 'reasoning', text: reasoning }];
  const logprobs = mapLogprobs(choice.logprobs as OpenAILogprobs | undefined);
  if (logprobs) response.logprobs = logprobs;
  return response;
}

/**
 * Turns Chat Completion chunks into stream events. `start` comes with the first chunk; `usage` and
 * `finish` are held until the stream ends, because with `include_usage` the usage chunk follows the
 * chunk that carries `finish_reason`.
 */
export class OpenAIChunkMapper {
  private started = false;
  private finishReason: FinishReason | undefined;
  private usage: Usage | undefined;

  constructor(private readonly meta: AnswerMeta) {}

  /** True once a chunk said why generation stopped. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /** Usage reported so far, if any. */
  get reportedUsage(): Usage | undefined {
    return this.usage;
  }

  /** Events for one chunk, appended to `out` (no allocation per chunk beyond the events themselves). */
  map(chunk: OpenAIChunk, out: StreamEvent[]): void {
    if (!this.started) {
      this.started = true;
      out.push(startEvent(this.meta, chunk.id, chunk.model));
    }
    const choice = chunk.choices?.[0];
    if (choice) {
      const delta = choice.delta;
      if (delta) {
        const reasoning = delta.reasoning_content ?? delta.reasoning;
        if (typeof reasoning === 'string' && reasoning !== '') {
          out.push({ type: 'reasoning-delta', text: reasoning });
        }
        const logprobs = mapLogprobs(choice.logprobs);
        if (typeof delta.content === 'string' && (delta.content !== '' || logprobs?.length)) {
          const event: StreamEvent = { type: 'text-delta', text: delta.content };
          if (logprobs?.length) event.logprobs = logprobs;
          out.push(event);
        } else if (typeof delta.refusal === 'string' && delta.refusal !== '') {
          out.push({ type: 'text-delta', text: delta.refusal, refusal: true });
        }
        const calls = delta.tool_calls;
        if (calls) {
          for (let position = 0; position < calls.length; position += 1) {
            const call = calls[position]!;
            const event: StreamEvent = {
              type: 'tool-call-delta',
              // Some compatible servers (older Ollama) send whole calls without an index.
              index: typeof call.index === 'number' ? call.index : position,
              argumentsDelta: call.function?.arguments ?? '',
            };
            if (call.id) event.id = call.id;
            if (call.function?.name) event.name = call.function.name;
            if (event.id || event.name || event.argumentsDelta !== '') out.push(event);
          }
        }
      }
      if (choice.finish_reason) this.finishReason = mapFinishReason(choice.finish_reason);
    }
    const usage = mapUsage(chunk.usage);
    if (usage) this.usage = usage;
  }

  /** The closing events (`usage`, then `finish`). Call once the chunks ended and `finished` is true. */
  end(out: StreamEvent[]): void {
    if (this.usage) out.push({ type: 'usage', usage: this.usage });
    out.push({ type: 'finish', finishReason: this.finishReason ?? 'other' });
  }
}
