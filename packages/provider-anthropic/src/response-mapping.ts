import type { ChatResponse, FinishReason, ReasoningBlock, StreamEvent, ToolCall, Usage } from '@bulwark/core';
import {
  type AnswerMeta,
  chatResponse,
  invalidResponse,
  isRecord,
  startEvent,
} from '@bulwark/provider-utils';
import { errorFromAnthropicAnswer, statusForErrorType } from './error-mapping.js';

/** Anthropic's usage object (in a message, `message_start` or — cumulative — `message_delta`). */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

/** One event of a streamed message (the fields Bulwark reads). */
export interface AnthropicStreamEvent {
  type: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage; stop_reason?: string | null };
  content_block?: {
    type?: string;
    id?: string;
    name?: string;
    text?: string;
    thinking?: string;
    signature?: string;
    data?: string;
  };
  delta?: {
    type?: string;
    text?: string;
    partial_json?: string;
    thinking?: string;
    signature?: string;
    stop_reason?: string | null;
    stop_sequence?: string | null;
  };
  usage?: AnthropicUsage;
}

/** Maps Anthropic's `stop_reason` to the normalized finish reason. */
export function mapStopReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/**
 * Anthropic counts cache reads and writes apart from `input_tokens`; Bulwark's `inputTokens` includes
 * them, with `cachedInputTokens` (reads) and `cacheWriteTokens` (writes) broken out.
 */
export function mapUsage(usage: AnthropicUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const read = usage.cache_read_input_tokens ?? 0;
  const write = usage.cache_creation_input_tokens ?? 0;
  const inputTokens = (usage.input_tokens ?? 0) + read + write;
  const outputTokens = usage.output_tokens ?? 0;
  const mapped: Usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  if (typeof usage.cache_read_input_tokens === 'number') mapped.cachedInputTokens = read;
  if (typeof usage.cache_creation_input_tokens === 'number') mapped.cacheWriteTokens = write;
  const thinking = usage.output_tokens_details?.thinking_tokens;
  if (typeof thinking === 'number') mapped.reasoningTokens = thinking;
  return mapped;
}

/**
 * Parses a Messages API body (as text, so a body that is not JSON or has no `content` becomes an
 * `InvalidResponseError` carrying the redacted raw body) into the normalized response. Text blocks
 * are joined; `tool_use` inputs become JSON text; other block kinds (thinking) are not part of the
 * normalized response.
 */
export function parseAnthropicMessage(text: string, meta: AnswerMeta & { status?: number }): ChatResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    invalidResponse(meta, 'the body is not valid JSON', text);
  }
  if (isRecord(body) && body.type === 'error' && isRecord(body.error)) {
    // An error object in a 200 answer: map it as its type's status would be.
    throw errorFromAnthropicAnswer({
      status: statusForErrorType(typeof body.error.type === 'string' ? body.error.type : undefined),
      body,
      provider: meta.provider,
      model: meta.model,
      ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
    });
  }
  if (!isRecord(body) || !Array.isArray(body.content)) {
    invalidResponse(meta, 'no content array in the body', text);
  }
  let joined = '';
  const toolCalls: ToolCall[] = [];
  const reasoning: ReasoningBlock[] = [];
  for (const block of body.content) {
    if (!isRecord(block)) invalidResponse(meta, 'a content block is not an object', text);
    if (block.type === 'text') {
      if (typeof block.text !== 'string') invalidResponse(meta, 'a text block has no text', text);
      joined += block.text;
    } else if (block.type === 'tool_use') {
      if (typeof block.name !== 'string') {
        invalidResponse(meta, 'a tool_use block has no name', text);
      }
      toolCalls.push({
        id: typeof block.id === 'string' ? block.id : '',
        name: block.name,
        arguments: JSON.stringify(block.input ?? {}),
      });
    } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      const kept: ReasoningBlock = { type: 'reasoning', text: block.thinking };
      if (typeof block.signature === 'string') kept.signature = block.signature;
      reasoning.push(kept);
    } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') {
      reasoning.push({ type: 'redacted-reasoning', data: block.data });
    }
  }
  const usage = mapUsage(body.usage as AnthropicUsage | undefined);
  const response = chatResponse(meta, {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : meta.model,
    text: joined,
    toolCalls,
    finishReason: mapStopReason(body.stop_reason as string | undefined),
    ...(usage === undefined ? {} : { usage }),
  });
  if (reasoning.length > 0) response.reasoning = reasoning;
  if (typeof body.stop_sequence === 'string') response.stopSequence = body.stop_sequence;
  // A refusal's text is the model's explanation, not an answer (OpenAI keeps it in `refusal`).
  if (body.stop_reason === 'refusal' && joined !== '') {
    response.refusal = joined;
    response.text = '';
  }
  return response;
}

interface ToolBlockState {
  index: number;
  sentArguments: boolean;
}

/**
 * Turns Messages API stream events into Bulwark stream events: `message_start` → `start`, text and
 * `input_json_delta` deltas → `text-delta` / `tool-call-delta` (tool calls numbered 0, 1, … in block
 * order), thinking and signature deltas and redacted thinking blocks → `reasoning-delta`, `message_delta` → usage and stop reason, `message_stop` → `usage` then `finish`.
 */
export class AnthropicEventMapper {
  private readonly toolBlocks = new Map<number, ToolBlockState>();
  private toolCount = 0;
  private usage: AnthropicUsage = {};
  private stopReason: string | null | undefined;
  private stopSequence: string | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly meta: AnswerMeta) {}

  /** True once `message_stop` arrived. */
  get finished(): boolean {
    return this.stopped;
  }

  /** Usage reported so far (for the error of a cut stream). */
  get reportedUsage(): Usage | undefined {
    return this.started ? mapUsage(this.usage) : undefined;
  }

  /** Events for one stream event, appended to `out`. */
  map(event: AnthropicStreamEvent, out: StreamEvent[]): void {
    switch (event.type) {
      case 'message_start': {
        this.started = true;
        const message = event.message ?? {};
        if (message.usage) Object.assign(this.usage, withoutNulls(message.usage));
        out.push(startEvent(this.meta, message.id, message.model));
        break;
      }
      case 'content_block_start': {
        const block = event.content_block;
        if (block?.type === 'tool_use' && typeof event.index === 'number') {
          const state = { index: this.toolCount, sentArguments: false };
          this.toolCount += 1;
          this.toolBlocks.set(event.index, state);
          out.push({
            type: 'tool-call-delta',
            index: state.index,
            ...(block.id ? { id: block.id } : {}),
            ...(block.name ? { name: block.name } : {}),
            argumentsDelta: '',
          });
        } else if (block?.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          out.push({ type: 'text-delta', text: block.text });
        } else if (block?.type === 'redacted_thinking' && typeof block.data === 'string') {
          out.push({ type: 'reasoning-delta', redacted: block.data });
        } else if (
          block?.type === 'thinking' &&
          typeof block.thinking === 'string' &&
          block.thinking !== ''
        ) {
          out.push({ type: 'reasoning-delta', text: block.thinking });
        }
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (delta?.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') {
          out.push({ type: 'text-delta', text: delta.text });
        } else if (delta?.type === 'thinking_delta' && typeof delta.thinking === 'string') {
          if (delta.thinking !== '') out.push({ type: 'reasoning-delta', text: delta.thinking });
        } else if (delta?.type === 'signature_delta' && typeof delta.signature === 'string') {
          out.push({ type: 'reasoning-delta', signature: delta.signature });
        } else if (delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const state = typeof event.index === 'number' ? this.toolBlocks.get(event.index) : undefined;
          if (state && delta.partial_json !== '') {
            state.sentArguments = true;
            out.push({ type: 'tool-call-delta', index: state.index, argumentsDelta: delta.partial_json });
          }
        }
        break;
      }
      case 'content_block_stop': {
        const state = typeof event.index === 'number' ? this.toolBlocks.get(event.index) : undefined;
        // A tool called without input streams no JSON at all; non-streamed answers give `{}` for it.
        if (state && !state.sentArguments) {
          state.sentArguments = true;
          out.push({ type: 'tool-call-delta', index: state.index, argumentsDelta: '{}' });
        }
        break;
      }
      case 'message_delta':
        if (event.delta && 'stop_reason' in event.delta) this.stopReason = event.delta.stop_reason;
        if (typeof event.delta?.stop_sequence === 'string') this.stopSequence = event.delta.stop_sequence;
        if (event.usage) Object.assign(this.usage, withoutNulls(event.usage));
        break;
      case 'message_stop': {
        this.stopped = true;
        const usage = mapUsage(this.usage);
        if (usage) out.push({ type: 'usage', usage });
        const finish: StreamEvent = { type: 'finish', finishReason: mapStopReason(this.stopReason) };
        if (this.stopSequence !== undefined) finish.stopSequence = this.stopSequence;
        out.push(finish);
        break;
      }
    }
  }
}

function withoutNulls(usage: AnthropicUsage): AnthropicUsage {
  const result: AnthropicUsage = {};
  for (const key of Object.keys(usage) as Array<keyof AnthropicUsage>) {
    const value = usage[key];
    if (typeof value === 'number') (result as Record<string, number>)[key] = value;
  }
  const details = usage.output_tokens_details;
  if (details && typeof details.thinking_tokens === 'number') result.output_tokens_details = details;
  return result;
}
