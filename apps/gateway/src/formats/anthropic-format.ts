import type {
  BulwarkError,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  StreamEvent,
  TextPart,
  ToolChoice,
  ToolDefinition,
  Usage,
  UserContentPart,
} from '@bulwark/core';
import { checkJsonDepth } from '@bulwark/core';
import {
  type ClientFormat,
  isRecord,
  type ParsedClientRequest,
  publicAttempts,
  type StreamEncoder,
} from './client-format.js';
import { type FieldRenames, invalid, type MessageSource, validateNormalized } from './request-fields.js';

/** Messages API fields the gateway maps itself; anything else goes to Anthropic targets as is. */
const mappedFields = new Set([
  'model',
  'messages',
  'system',
  'max_tokens',
  'temperature',
  'top_p',
  'stop_sequences',
  'stream',
  'tools',
  'tool_choice',
  'metadata',
]);

/** Normalized field paths in Messages spelling (see `wireField`). */
const renames: FieldRenames = {
  top: [
    [/^tools\[(\d+)\]\.parameters/, 'tools[$1].input_schema'],
    [/^toolChoice/, 'tool_choice'],
    [/^topP/, 'top_p'],
    [/^maxTokens/, 'max_tokens'],
    [/^stop/, 'stop_sequences'],
    [/^providerOptions\.anthropic\./, ''],
  ],
  message: [
    [/^\.content\[(\d+)\]\.mediaType/, '.content[$1].source.media_type'],
    [/^\.content\[(\d+)\]\.(url|data)/, '.content[$1].source.$2'],
    [/^\.content\[(\d+)\]\.arguments/, '.content[$1].input'],
    [/^\.toolCallId/, '.tool_use_id'],
  ],
};

function textBlocks(field: string, content: unknown): string | TextPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) invalid(field, 'a string or an array of text blocks', content);
  return content.map((block, index) => {
    if (!isRecord(block) || block.type !== 'text')
      invalid(`${field}[${index}].type`, '"text"', isRecord(block) ? block.type : block);
    if (typeof block.text !== 'string') invalid(`${field}[${index}].text`, 'a string', block.text);
    return { type: 'text', text: block.text };
  });
}

function imagePart(field: string, block: Record<string, unknown>): UserContentPart {
  const source = block.source;
  if (!isRecord(source)) invalid(`${field}.source`, 'an object', source);
  if (source.type === 'base64') {
    return { type: 'image', data: source.data as string, mediaType: source.media_type as string };
  }
  if (source.type === 'url') return { type: 'image', url: source.url as string };
  return invalid(`${field}.source.type`, '"base64" or "url"', source.type);
}

function parseMessages(body: Record<string, unknown>): { messages: ChatMessage[]; sources: MessageSource[] } {
  const messages: ChatMessage[] = [];
  const sources: MessageSource[] = [];
  if (body.system !== undefined) {
    messages.push({ role: 'system', content: textBlocks('system', body.system) });
    sources.push({ path: 'system', content: 'system' });
  }
  const input = body.messages;
  if (!Array.isArray(input) || input.length === 0) invalid('messages', 'a non-empty array', input);
  input.forEach((message, index) => {
    const field = `messages[${index}]`;
    if (!isRecord(message)) invalid(field, 'an object', message);
    const content = message.content;
    if (message.role === 'user') {
      if (typeof content === 'string') {
        messages.push({ role: 'user', content });
        sources.push({ path: field });
        return;
      }
      if (!Array.isArray(content)) invalid(`${field}.content`, 'a string or an array of blocks', content);
      const parts: UserContentPart[] = [];
      const partIndexes: number[] = [];
      content.forEach((block, blockIndex) => {
        const blockField = `${field}.content[${blockIndex}]`;
        if (!isRecord(block)) invalid(blockField, 'an object', block);
        switch (block.type) {
          case 'text':
            if (typeof block.text !== 'string') invalid(`${blockField}.text`, 'a string', block.text);
            parts.push({ type: 'text', text: block.text });
            partIndexes.push(blockIndex);
            return;
          case 'image':
            parts.push(imagePart(blockField, block));
            partIndexes.push(blockIndex);
            return;
          case 'tool_result': {
            const tool: ChatMessage = {
              role: 'tool',
              toolCallId: block.tool_use_id as string,
              content: block.content === undefined ? '' : textBlocks(`${blockField}.content`, block.content),
            };
            if (block.is_error === true) tool.isError = true;
            messages.push(tool);
            sources.push({ path: blockField });
            return;
          }
          default:
            invalid(`${blockField}.type`, '"text", "image" or "tool_result"', block.type);
        }
      });
      if (parts.length > 0) {
        messages.push({ role: 'user', content: parts });
        sources.push({ path: field, parts: partIndexes });
      }
      return;
    }
    if (message.role === 'assistant') {
      if (typeof content === 'string') {
        messages.push({ role: 'assistant', content });
        sources.push({ path: field });
        return;
      }
      if (!Array.isArray(content)) invalid(`${field}.content`, 'a string or an array of blocks', content);
      const texts: TextPart[] = [];
      const textIndexes: number[] = [];
      const callIndexes: number[] = [];
      const toolCalls: NonNullable<Extract<ChatMessage, { role: 'assistant' }>['toolCalls']> = [];
      content.forEach((block, blockIndex) => {
        const blockField = `${field}.content[${blockIndex}]`;
        if (!isRecord(block)) invalid(blockField, 'an object', block);
        if (block.type === 'text') {
          if (typeof block.text !== 'string') invalid(`${blockField}.text`, 'a string', block.text);
          texts.push({ type: 'text', text: block.text });
          textIndexes.push(blockIndex);
        } else if (block.type === 'tool_use') {
          if (!isRecord(block.input)) invalid(`${blockField}.input`, 'an object', block.input);
          toolCalls.push({
            id: block.id as string,
            name: block.name as string,
            arguments: JSON.stringify(block.input),
          });
          callIndexes.push(blockIndex);
        } else {
          invalid(`${blockField}.type`, '"text" or "tool_use"', block.type);
        }
      });
      const assistant: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts : null };
      if (toolCalls.length > 0) assistant.toolCalls = toolCalls;
      messages.push(assistant);
      sources.push({ path: field, parts: textIndexes, toolCalls: callIndexes });
      return;
    }
    invalid(`${field}.role`, '"user" or "assistant"', message.role);
  });
  return { messages, sources };
}

function parseTools(tools: unknown): ToolDefinition[] {
  if (!Array.isArray(tools)) invalid('tools', 'an array', tools);
  return tools.map((tool, index) => {
    const field = `tools[${index}]`;
    if (!isRecord(tool)) invalid(field, 'an object', tool);
    if (tool.type !== undefined && tool.type !== 'custom')
      invalid(`${field}.type`, 'absent or "custom" (server tools are not supported)', tool.type);
    if (!isRecord(tool.input_schema))
      invalid(`${field}.input_schema`, 'a JSON Schema object', tool.input_schema);
    const definition: ToolDefinition = { name: tool.name as string, parameters: tool.input_schema };
    if (typeof tool.description === 'string') definition.description = tool.description;
    return definition;
  });
}

function parseToolChoice(choice: unknown, request: ChatRequest): void {
  if (!isRecord(choice)) invalid('tool_choice', 'an object', choice);
  let mapped: ToolChoice;
  if (choice.type === 'auto') mapped = 'auto';
  else if (choice.type === 'any') mapped = 'required';
  else if (choice.type === 'none') mapped = 'none';
  else if (choice.type === 'tool') mapped = { type: 'tool', name: choice.name as string };
  else invalid('tool_choice.type', '"auto", "any", "tool" or "none"', choice.type);
  request.toolChoice = mapped;
  if (choice.disable_parallel_tool_use === true) request.parallelToolCalls = false;
}

/** Parses an Anthropic Messages request body into the normalized request. */
export function parseAnthropicRequest(body: unknown): ParsedClientRequest {
  if (!isRecord(body)) invalid('body', 'a JSON object', body);
  if (typeof body.model !== 'string' || body.model === '') invalid('model', 'a non-empty string', body.model);
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    invalid('max_tokens', 'a positive integer', body.max_tokens);
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    invalid('stream', 'a boolean', body.stream);
  const { messages, sources } = parseMessages(body);
  const request: ChatRequest = { model: body.model, messages, maxTokens: body.max_tokens };
  if (body.tools !== undefined) request.tools = parseTools(body.tools);
  if (body.tool_choice !== undefined) parseToolChoice(body.tool_choice, request);
  if (body.temperature !== undefined) request.temperature = body.temperature as number;
  if (body.top_p !== undefined) request.topP = body.top_p as number;
  if (body.stop_sequences !== undefined) request.stop = body.stop_sequences as string[];
  if (body.metadata !== undefined) {
    if (!isRecord(body.metadata)) invalid('metadata', 'an object', body.metadata);
    if (typeof body.metadata.user_id === 'string') request.metadata = { user_id: body.metadata.user_id };
  }
  let extra: Record<string, unknown> | undefined;
  for (const key in body) {
    if (mappedFields.has(key)) continue;
    extra ??= {};
    extra[key] = body[key];
  }
  if (extra) request.providerOptions = { anthropic: extra };
  const wireError = validateNormalized(request, sources, renames);
  return { request, stream: body.stream === true, includeUsage: true, wireError };
}

const stopReasons: Record<FinishReason, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
  other: 'end_turn',
};

/** Anthropic counts cached prompt tokens apart from `input_tokens`; the normalized count includes them. */
function usageJson(usage: Usage | undefined): Record<string, number> {
  if (!usage) return { input_tokens: 0, output_tokens: 0 };
  const cacheRead = usage.cachedInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.inputTokens - cacheRead - cacheWrite),
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}

function messageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/** Tool call arguments as an `input` object; text that is no JSON object (or nests too deep to re-serialize) stays raw. */
function parseArguments(text: string): unknown {
  if (text === '') return {};
  try {
    const value = JSON.parse(text);
    checkJsonDepth(value, { startDepth: 4 });
    return isRecord(value) ? value : { value };
  } catch {
    return { _raw: text };
  }
}

/** The Messages JSON body of a complete answer. */
export function anthropicResponse(response: ChatResponse): unknown {
  const content: unknown[] = [];
  if (response.text !== '' || response.toolCalls.length === 0)
    content.push({ type: 'text', text: response.text });
  for (const call of response.toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseArguments(call.arguments) });
  }
  return {
    id: messageId(response.id),
    type: 'message',
    role: 'assistant',
    model: response.model,
    content,
    stop_reason: stopReasons[response.finishReason],
    stop_sequence: null,
    usage: usageJson(response.usage),
  };
}

/**
 * Messages SSE: message_start, one content block per text run or tool call, message_delta with
 * the stop reason and usage, message_stop. Blocks open and close as the normalized deltas switch.
 */
class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  private blockIndex = -1;
  /** `text`, a tool call's normalized index, or undefined when no block is open. */
  private openBlock: 'text' | number | undefined;
  private usage: Usage | undefined;
  private stopReason = 'end_turn';

  private begin(id: string, model: string): string {
    this.started = true;
    const message = {
      id: messageId(id),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return `event: message_start\ndata: {"type":"message_start","message":${JSON.stringify(message)}}\n\n`;
  }

  private close(): string {
    if (this.openBlock === undefined) return '';
    this.openBlock = undefined;
    return `event: content_block_stop\ndata: {"type":"content_block_stop","index":${this.blockIndex}}\n\n`;
  }

  encode(event: StreamEvent): string {
    switch (event.type) {
      case 'start':
        return this.started ? '' : this.begin(event.id, event.model);
      case 'text-delta': {
        if (event.text === '') return '';
        let head = this.started ? '' : this.begin('bulwark', 'unknown');
        if (this.openBlock !== 'text') {
          head += this.close();
          this.blockIndex += 1;
          this.openBlock = 'text';
          head += `event: content_block_start\ndata: {"type":"content_block_start","index":${this.blockIndex},"content_block":{"type":"text","text":""}}\n\n`;
        }
        return `${head}event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.blockIndex},"delta":{"type":"text_delta","text":${JSON.stringify(event.text)}}}\n\n`;
      }
      case 'tool-call-delta': {
        let head = this.started ? '' : this.begin('bulwark', 'unknown');
        if (this.openBlock !== event.index) {
          head += this.close();
          this.blockIndex += 1;
          this.openBlock = event.index;
          const block = {
            type: 'tool_use',
            id: event.id ?? `toolu_${event.index}`,
            name: event.name ?? '',
            input: {},
          };
          head += `event: content_block_start\ndata: {"type":"content_block_start","index":${this.blockIndex},"content_block":${JSON.stringify(block)}}\n\n`;
        }
        if (event.argumentsDelta === '') return head;
        return `${head}event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.blockIndex},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(event.argumentsDelta)}}}\n\n`;
      }
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'finish':
        this.stopReason = stopReasons[event.finishReason];
        return '';
    }
  }

  end(): string {
    const head = this.started ? '' : this.begin('bulwark', 'unknown');
    const delta = {
      type: 'message_delta',
      delta: { stop_reason: this.stopReason, stop_sequence: null },
      usage: usageJson(this.usage),
    };
    return `${head}${this.close()}event: message_delta\ndata: ${JSON.stringify(delta)}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n`;
  }

  fail(error: BulwarkError, status: number): string {
    return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error, status))}\n\n`;
  }
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

/** An Anthropic-style error body: `{ type: 'error', error: { type, message } }`, plus the attempt trail. */
export function anthropicErrorBody(error: BulwarkError, status: number): unknown {
  const type = errorTypes[status] ?? (status < 500 ? 'invalid_request_error' : 'api_error');
  const body: Record<string, unknown> = { type, message: error.message };
  const attempts = publicAttempts(error.attempts);
  if (attempts) body.attempts = attempts;
  return { type: 'error', error: body };
}

export const anthropicFormat: ClientFormat = {
  name: 'anthropic',
  parse: parseAnthropicRequest,
  response: anthropicResponse,
  streamEncoder: () => new AnthropicStreamEncoder(),
  errorBody: anthropicErrorBody,
};
