import type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  StreamEvent,
  TextPart,
  ToolCall,
  Usage,
  UserContentPart,
  WireFacts,
} from '@bulwark/core';
import {
  type AnswerMeta,
  chatResponse,
  type FrameTap,
  invalidResponse,
  isRecord,
  type SseFrame,
  startEvent,
} from '@bulwark/provider-utils';
import { errorFromOpenAIAnswer, statusForErrorType } from './error-mapping.js';

const textOf = (content: string | TextPart[] | null): string =>
  content === null ? '' : typeof content === 'string' ? content : content.map((part) => part.text).join('');

function userParts(content: string | UserContentPart[]): unknown {
  if (typeof content === 'string') return content;
  return content.map((part) => {
    if (part.type === 'text') return { type: 'input_text', text: part.text };
    if (part.type === 'image') {
      const url = part.url ?? `data:${part.mediaType ?? 'image/png'};base64,${part.data ?? ''}`;
      return { type: 'input_image', image_url: url, detail: part.detail ?? 'auto' };
    }
    if (part.fileId !== undefined) return { type: 'input_file', file_id: part.fileId };
    if (part.url !== undefined) return { type: 'input_file', file_url: part.url };
    return {
      type: 'input_file',
      filename: part.filename ?? 'document',
      file_data: `data:${part.mediaType ?? 'application/pdf'};base64,${part.data ?? ''}`,
    };
  });
}

function inputItems(messages: readonly ChatMessage[]): { instructions?: string; input: unknown[] } {
  const system: string[] = [];
  const input: unknown[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(textOf(message.content));
        break;
      case 'user':
        input.push({ role: 'user', content: userParts(message.content) });
        break;
      case 'assistant': {
        const text = textOf(message.content);
        if (text !== '') input.push({ role: 'assistant', content: text });
        for (const call of message.toolCalls ?? [])
          input.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: call.arguments });
        break;
      }
      case 'tool':
        input.push({
          type: 'function_call_output',
          call_id: message.toolCallId,
          output: textOf(message.content),
        });
        break;
    }
  }
  return system.length > 0 ? { instructions: system.join('\n\n'), input } : { input };
}

/** The Responses API body (`POST /v1/responses`) for a normalized request; nothing is stored upstream. */
export function toResponsesBody(request: ChatRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    ...inputItems(request.messages),
    store: false,
  };
  if (stream) body.stream = true;
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.parameters,
      strict: tool.strict ?? false,
    }));
  }
  const choice = request.toolChoice;
  if (choice !== undefined)
    body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', name: choice.name };
  if (request.parallelToolCalls !== undefined) body.parallel_tool_calls = request.parallelToolCalls;
  if (request.maxTokens !== undefined) body.max_output_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.user !== undefined) body.user = request.user;
  if (request.reasoning?.effort !== undefined) body.reasoning = { effort: request.reasoning.effort };
  const format = request.responseFormat;
  if (format?.type === 'json_schema') {
    body.text = {
      format: {
        type: 'json_schema',
        name: format.name,
        schema: format.schema,
        ...(format.description === undefined ? {} : { description: format.description }),
        ...(format.strict === undefined ? {} : { strict: format.strict }),
      },
    };
  } else if (format?.type === 'json') body.text = { format: { type: 'json_object' } };
  return body;
}

interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  input_tokens_details?: { cached_tokens?: number } | null;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}

function mapResponsesUsage(usage: ResponsesUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage.input_tokens !== 'number') return undefined;
  const output = usage.output_tokens ?? 0;
  const mapped: Usage = {
    inputTokens: usage.input_tokens,
    outputTokens: output,
    totalTokens: usage.total_tokens ?? usage.input_tokens + output,
  };
  const cached = usage.input_tokens_details?.cached_tokens;
  if (cached) mapped.cachedInputTokens = cached;
  const reasoning = usage.output_tokens_details?.reasoning_tokens;
  if (reasoning) mapped.reasoningTokens = reasoning;
  return mapped;
}

function finishOf(status: unknown, reason: unknown, calls: number): FinishReason {
  if (status === 'incomplete') return reason === 'content_filter' ? 'content_filter' : 'length';
  return calls > 0 ? 'tool_calls' : 'stop';
}

/** A Responses API answer as a normalized response: message text joined, function calls as tool calls. */
export function parseResponsesAnswer(text: string, meta: AnswerMeta & { status?: number }): ChatResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    invalidResponse(meta, 'the body is not valid JSON', text);
  }
  if (!isRecord(body)) invalidResponse(meta, 'the body is not an object', text);
  if (isRecord(body.error) && body.output === undefined) {
    const { code, type } = body.error;
    throw errorFromOpenAIAnswer({
      status: statusForErrorType([code, type].filter((value) => typeof value === 'string').join(' ')),
      error: body.error,
      provider: meta.provider,
      model: meta.model,
      ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
    });
  }
  if (!Array.isArray(body.output)) invalidResponse(meta, 'no output in the body', text);
  let answer = '';
  const toolCalls: ToolCall[] = [];
  for (const item of body.output) {
    if (!isRecord(item)) continue;
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content)
        if (isRecord(part) && part.type === 'output_text' && typeof part.text === 'string')
          answer += part.text;
    } else if (item.type === 'function_call' && typeof item.name === 'string') {
      toolCalls.push({
        id: typeof item.call_id === 'string' ? item.call_id : String(item.id ?? ''),
        name: item.name,
        arguments: typeof item.arguments === 'string' ? item.arguments : '{}',
      });
    }
  }
  const incomplete = isRecord(body.incomplete_details) ? body.incomplete_details.reason : undefined;
  return chatResponse(meta, {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : meta.model,
    text: answer,
    toolCalls,
    finishReason: finishOf(body.status, incomplete, toolCalls.length),
    usage: mapResponsesUsage(body.usage as ResponsesUsage | undefined),
  });
}

/** One Responses API stream event (the SDK's parsed SSE data). */
export type ResponsesStreamEvent = Record<string, unknown> & { type?: string };

/** Maps the Responses API's stream events to Bulwark stream events. */
export class ResponsesEventMapper {
  private started = false;
  private finishReason: FinishReason | undefined;
  private usage: Usage | undefined;
  private calls = new Map<number, number>();

  constructor(private readonly meta: AnswerMeta) {}

  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  get reportedUsage(): Usage | undefined {
    return this.usage;
  }

  map(event: ResponsesStreamEvent, out: StreamEvent[]): void {
    const response = isRecord(event.response) ? event.response : undefined;
    if (!this.started && response) {
      this.started = true;
      out.push(startEvent(this.meta, response.id, response.model));
    }
    switch (event.type) {
      case 'response.output_text.delta':
        if (typeof event.delta === 'string' && event.delta !== '')
          out.push({ type: 'text-delta', text: event.delta });
        break;
      case 'response.output_item.added': {
        const item = isRecord(event.item) ? event.item : undefined;
        if (item?.type === 'function_call' && typeof event.output_index === 'number') {
          const index = this.calls.size;
          this.calls.set(event.output_index, index);
          out.push({
            type: 'tool-call-delta',
            index,
            ...(typeof item.call_id === 'string' ? { id: item.call_id } : {}),
            ...(typeof item.name === 'string' ? { name: item.name } : {}),
            argumentsDelta: '',
          });
        }
        break;
      }
      case 'response.function_call_arguments.delta': {
        const index = typeof event.output_index === 'number' ? this.calls.get(event.output_index) : undefined;
        if (index !== undefined && typeof event.delta === 'string')
          out.push({ type: 'tool-call-delta', index, argumentsDelta: event.delta });
        break;
      }
      case 'response.completed':
      case 'response.incomplete': {
        this.usage = mapResponsesUsage(response?.usage as ResponsesUsage | undefined);
        if (this.usage) out.push({ type: 'usage', usage: this.usage });
        const reason = isRecord(response?.incomplete_details)
          ? response.incomplete_details.reason
          : undefined;
        this.finishReason = finishOf(response?.status, reason, this.calls.size);
        out.push({ type: 'finish', finishReason: this.finishReason });
        break;
      }
      case 'response.failed':
      case 'error': {
        const error = isRecord(response?.error) ? response.error : event;
        const code = typeof error.code === 'string' ? error.code : 'server_error';
        throw errorFromOpenAIAnswer({
          status: statusForErrorType(code),
          error: { message: typeof error.message === 'string' ? error.message : code, type: code },
          provider: this.meta.provider,
          model: this.meta.model,
          ...(this.meta.requestId === undefined ? {} : { requestId: this.meta.requestId }),
        });
      }
      default:
        break;
    }
  }
}

/** The facts of a whole Responses API answer, for a same-format passthrough. */
export function tapResponsesJson(text: string): WireFacts {
  const facts: WireFacts = {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return facts;
  }
  if (!isRecord(body)) return facts;
  if (typeof body.id === 'string') facts.id = body.id;
  if (typeof body.model === 'string') facts.model = body.model;
  let answer = '';
  let calls = 0;
  for (const item of Array.isArray(body.output) ? body.output : []) {
    if (!isRecord(item)) continue;
    if (item.type === 'function_call') calls += 1;
    if (item.type === 'message' && Array.isArray(item.content))
      for (const part of item.content)
        if (isRecord(part) && typeof part.text === 'string') answer += part.text;
  }
  facts.text = answer;
  const usage = mapResponsesUsage(body.usage as ResponsesUsage | undefined);
  if (usage) facts.usage = usage;
  const reason = isRecord(body.incomplete_details) ? body.incomplete_details.reason : undefined;
  facts.finishReason = finishOf(body.status, reason, calls);
  return facts;
}

/** Reads the facts of a Responses API stream's frames for a same-format passthrough. */
export class ResponsesFrameTap implements FrameTap {
  finished = false;
  usage: Usage | undefined;
  private calls = 0;

  constructor(private readonly meta: { provider: string; model: string }) {}

  read(frame: SseFrame): { facts?: WireFacts; show: string } {
    const data = frame.data;
    if (data === '' || data.charCodeAt(0) !== 123) return { show: frame.raw };
    let event: ResponsesStreamEvent;
    try {
      event = JSON.parse(data) as ResponsesStreamEvent;
    } catch {
      return { show: frame.raw };
    }
    const facts: WireFacts = {};
    const response = isRecord(event.response) ? event.response : undefined;
    if (typeof response?.id === 'string') facts.id = response.id;
    if (typeof response?.model === 'string') facts.model = response.model;
    switch (event.type) {
      case 'response.output_text.delta':
        facts.content = true;
        if (typeof event.delta === 'string') facts.text = event.delta;
        break;
      case 'response.output_item.added':
        if (isRecord(event.item) && event.item.type === 'function_call') {
          this.calls += 1;
          facts.content = true;
        }
        break;
      case 'response.function_call_arguments.delta':
      case 'response.refusal.delta':
      case 'response.reasoning_summary_text.delta':
        facts.content = true;
        break;
      case 'response.completed':
      case 'response.incomplete': {
        const usage = mapResponsesUsage(response?.usage as ResponsesUsage | undefined);
        if (usage) {
          facts.usage = usage;
          this.usage = usage;
        }
        const reason = isRecord(response?.incomplete_details)
          ? response.incomplete_details.reason
          : undefined;
        facts.finishReason = finishOf(response?.status, reason, this.calls);
        this.finished = true;
        break;
      }
      case 'response.failed':
      case 'error':
        // The same error `stream` raises, so retry and fallback see it before output.
        new ResponsesEventMapper({ provider: this.meta.provider, model: this.meta.model }).map(event, []);
        break;
      default:
        break;
    }
    return { facts, show: frame.raw };
  }
}
