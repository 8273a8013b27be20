import type {
  BulwarkError,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  PromptCacheControl,
  ReasoningBlock,
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
  createDropLog,
  type DropLog,
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

/**
 * Fields mapped into the normalized request for other formats and also kept verbatim for Anthropic
 * targets (the provider merges them last): `thinking` and `output_config` have forms (adaptive thinking)
 * the normalized request does not hold.
 */
const translatedFields = new Set(['thinking', 'output_config']);

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

/** A `cache_control` breakpoint; other formats cache prompts by themselves and have no such field. */
function cacheControlOf(field: string, value: unknown, drops: DropLog): PromptCacheControl | undefined {
  if (value === undefined || value === null) return undefined;
  drops.crossFormat(field);
  if (!isRecord(value) || value.type !== 'ephemeral') invalid(field, '{ type: "ephemeral" }', value);
  if (value.ttl !== undefined && value.ttl !== '5m' && value.ttl !== '1h')
    invalid(`${field}.ttl`, '"5m" or "1h"', value.ttl);
  return value.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: value.ttl };
}

/** Marks the fields of a block no other format has (citations, document context). */
function blockDrops(
  field: string,
  block: Record<string, unknown>,
  drops: DropLog,
  keys: readonly string[],
): void {
  for (const key of keys) {
    const value = block[key];
    if (value !== undefined && value !== null) drops.crossFormat(`${field}.${key}`);
  }
}

function textPart(field: string, block: Record<string, unknown>, drops: DropLog): TextPart {
  if (typeof block.text !== 'string') invalid(`${field}.text`, 'a string', block.text);
  const part: TextPart = { type: 'text', text: block.text };
  const cache = cacheControlOf(`${field}.cache_control`, block.cache_control, drops);
  if (cache) part.cacheControl = cache;
  blockDrops(field, block, drops, ['citations']);
  return part;
}

function textBlocks(field: string, content: unknown, drops: DropLog): string | TextPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) invalid(field, 'a string or an array of text blocks', content);
  return content.map((block, index) => {
    if (!isRecord(block) || block.type !== 'text')
      invalid(`${field}[${index}].type`, '"text"', isRecord(block) ? block.type : block);
    return textPart(`${field}[${index}]`, block, drops);
  });
}

function documentPart(field: string, block: Record<string, unknown>, drops: DropLog): UserContentPart {
  const source = block.source;
  if (!isRecord(source)) invalid(`${field}.source`, 'an object', source);
  const part: UserContentPart = { type: 'file' };
  if (source.type === 'base64') {
    part.data = source.data as string;
    part.mediaType = source.media_type as string;
  } else if (source.type === 'text') {
    part.data = Buffer.from(String(source.data), 'utf8').toString('base64');
    part.mediaType = 'text/plain';
  } else if (source.type === 'url') part.url = source.url as string;
  else if (source.type === 'file') part.fileId = source.file_id as string;
  else invalid(`${field}.source.type`, '"base64", "text", "url" or "file"', source.type);
  if (typeof block.title === 'string') part.filename = block.title;
  const cache = cacheControlOf(`${field}.cache_control`, block.cache_control, drops);
  if (cache) part.cacheControl = cache;
  blockDrops(field, block, drops, ['citations', 'context']);
  return part;
}

function imagePart(field: string, block: Record<string, unknown>, drops: DropLog): UserContentPart {
  const source = block.source;
  if (!isRecord(source)) invalid(`${field}.source`, 'an object', source);
  let part: UserContentPart;
  if (source.type === 'base64') {
    part = { type: 'image', data: source.data as string, mediaType: source.media_type as string };
  } else if (source.type === 'url') part = { type: 'image', url: source.url as string };
  else return invalid(`${field}.source.type`, '"base64" or "url"', source.type);
  const cache = cacheControlOf(`${field}.cache_control`, block.cache_control, drops);
  if (cache) part.cacheControl = cache;
  return part;
}

function parseMessages(
  body: Record<string, unknown>,
  drops: DropLog,
): { messages: ChatMessage[]; sources: MessageSource[] } {
  const messages: ChatMessage[] = [];
  const sources: MessageSource[] = [];
  if (body.system !== undefined) {
    messages.push({ role: 'system', content: textBlocks('system', body.system, drops) });
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
            parts.push(textPart(blockField, block, drops));
            partIndexes.push(blockIndex);
            return;
          case 'image':
            parts.push(imagePart(blockField, block, drops));
            partIndexes.push(blockIndex);
            return;
          case 'document':
            parts.push(documentPart(blockField, block, drops));
            partIndexes.push(blockIndex);
            return;
          case 'tool_result': {
            const tool: ChatMessage = {
              role: 'tool',
              toolCallId: block.tool_use_id as string,
              content:
                block.content === undefined ? '' : textBlocks(`${blockField}.content`, block.content, drops),
            };
            if (block.cache_control !== undefined && block.cache_control !== null)
              drops.always(`${blockField}.cache_control`);
            if (block.is_error === true) {
              tool.isError = true;
              drops.crossFormat(`${blockField}.is_error`);
            }
            messages.push(tool);
            sources.push({ path: blockField });
            return;
          }
          default:
            invalid(`${blockField}.type`, '"text", "image", "document" or "tool_result"', block.type);
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
      const reasoning: ReasoningBlock[] = [];
      const textIndexes: number[] = [];
      const callIndexes: number[] = [];
      const toolCalls: NonNullable<Extract<ChatMessage, { role: 'assistant' }>['toolCalls']> = [];
      content.forEach((block, blockIndex) => {
        const blockField = `${field}.content[${blockIndex}]`;
        if (!isRecord(block)) invalid(blockField, 'an object', block);
        if (block.type === 'text') {
          texts.push(textPart(blockField, block, drops));
          textIndexes.push(blockIndex);
        } else if (block.type === 'thinking') {
          if (typeof block.thinking !== 'string')
            invalid(`${blockField}.thinking`, 'a string', block.thinking);
          const kept: ReasoningBlock = { type: 'reasoning', text: block.thinking };
          if (typeof block.signature === 'string' && block.signature !== '') kept.signature = block.signature;
          reasoning.push(kept);
          drops.crossFormat(blockField);
        } else if (block.type === 'redacted_thinking') {
          if (typeof block.data !== 'string') invalid(`${blockField}.data`, 'a string', block.data);
          reasoning.push({ type: 'redacted-reasoning', data: block.data });
          drops.crossFormat(blockField);
        } else if (block.type === 'tool_use') {
          if (!isRecord(block.input)) invalid(`${blockField}.input`, 'an object', block.input);
          toolCalls.push({
            id: block.id as string,
            name: block.name as string,
            arguments: JSON.stringify(block.input),
          });
          callIndexes.push(blockIndex);
        } else {
          invalid(`${blockField}.type`, '"text", "thinking", "redacted_thinking" or "tool_use"', block.type);
        }
      });
      const assistant: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts : null };
      if (toolCalls.length > 0) assistant.toolCalls = toolCalls;
      if (reasoning.length > 0) assistant.reasoning = reasoning;
      messages.push(assistant);
      sources.push({ path: field, parts: textIndexes, toolCalls: callIndexes });
      return;
    }
    invalid(`${field}.role`, '"user" or "assistant"', message.role);
  });
  return { messages, sources };
}

/** Client tools; server tools (web search, code execution…) have no normalized form and are dropped. */
function parseTools(tools: unknown, drops: DropLog): { tools: ToolDefinition[]; indexes: number[] } {
  if (!Array.isArray(tools)) invalid('tools', 'an array', tools);
  const definitions: ToolDefinition[] = [];
  const indexes: number[] = [];
  tools.forEach((tool, index) => {
    const field = `tools[${index}]`;
    if (!isRecord(tool)) invalid(field, 'an object', tool);
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      if (typeof tool.type !== 'string') invalid(`${field}.type`, 'a string', tool.type);
      drops.always(field);
      return;
    }
    if (!isRecord(tool.input_schema))
      invalid(`${field}.input_schema`, 'a JSON Schema object', tool.input_schema);
    const definition: ToolDefinition = { name: tool.name as string, parameters: tool.input_schema };
    if (typeof tool.description === 'string') definition.description = tool.description;
    if (typeof tool.strict === 'boolean') definition.strict = tool.strict;
    const cache = cacheControlOf(`${field}.cache_control`, tool.cache_control, drops);
    if (cache) definition.cacheControl = cache;
    definitions.push(definition);
    indexes.push(index);
  });
  return { tools: definitions, indexes };
}

const effortOf: Record<string, 'low' | 'medium' | 'high'> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
  max: 'high',
};

/** `thinking` and `output_config` in normalized form (the verbatim fields go to Anthropic targets too). */
function parseReasoningAndOutput(body: Record<string, unknown>, request: ChatRequest, drops: DropLog): void {
  const thinking = body.thinking;
  const output = body.output_config;
  if (output !== undefined && output !== null) {
    if (!isRecord(output)) invalid('output_config', 'an object', output);
    const format = output.format;
    if (format !== undefined && format !== null) {
      if (!isRecord(format) || format.type !== 'json_schema' || !isRecord(format.schema))
        invalid('output_config.format', '{ type: "json_schema", schema }', format);
      request.responseFormat = { type: 'json_schema', name: 'response', schema: format.schema };
    }
    for (const key of Object.keys(output)) {
      if (key !== 'format' && key !== 'effort' && output[key] !== null)
        drops.crossFormat(`output_config.${key}`);
    }
  }
  const effort = isRecord(output) && typeof output.effort === 'string' ? effortOf[output.effort] : undefined;
  if (isRecord(output) && output.effort !== undefined && output.effort !== null && effort === undefined)
    invalid('output_config.effort', '"low", "medium", "high", "xhigh" or "max"', output.effort);
  if (thinking !== undefined && thinking !== null) {
    if (!isRecord(thinking)) invalid('thinking', 'an object', thinking);
    if (thinking.type === 'enabled') {
      if (typeof thinking.budget_tokens !== 'number' || !Number.isInteger(thinking.budget_tokens))
        invalid('thinking.budget_tokens', 'an integer', thinking.budget_tokens);
      request.reasoning = { budgetTokens: thinking.budget_tokens };
    } else if (thinking.type === 'adaptive') {
      request.reasoning = { effort: effort ?? 'medium' };
    } else if (thinking.type !== 'disabled') {
      invalid('thinking.type', '"enabled", "adaptive" or "disabled"', thinking.type);
    }
  } else if (effort !== undefined) {
    request.reasoning = { effort };
  }
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
  const drops = createDropLog();
  let toolIndexes: number[] | undefined;
  const { messages, sources } = parseMessages(body, drops);
  const request: ChatRequest = { model: body.model, messages, maxTokens: body.max_tokens };
  if (body.tools !== undefined) {
    const { tools, indexes } = parseTools(body.tools, drops);
    if (tools.length > 0) request.tools = tools;
    if (indexes.some((wire, normalized) => wire !== normalized)) toolIndexes = indexes;
  }
  if (body.tool_choice !== undefined) parseToolChoice(body.tool_choice, request);
  if (body.temperature !== undefined) request.temperature = body.temperature as number;
  if (body.top_p !== undefined) request.topP = body.top_p as number;
  if (body.stop_sequences !== undefined) request.stop = body.stop_sequences as string[];
  if (body.metadata !== undefined) {
    if (!isRecord(body.metadata)) invalid('metadata', 'an object', body.metadata);
    if (typeof body.metadata.user_id === 'string') request.user = body.metadata.user_id;
  }
  parseReasoningAndOutput(body, request, drops);
  let extra: Record<string, unknown> | undefined;
  for (const key in body) {
    if (mappedFields.has(key)) continue;
    extra ??= {};
    extra[key] = body[key];
    if (!translatedFields.has(key) && body[key] !== null) drops.crossFormat(key);
  }
  if (extra) request.providerOptions = { anthropic: extra };
  const wireError = validateNormalized(
    request,
    sources,
    toolIndexes ? withToolIndexes(toolIndexes) : renames,
  );
  return { request, stream: body.stream === true, includeUsage: true, wireError, dropped: drops.result() };
}

/** Renames for a request whose server tools were left out: normalized `tools[i]` is the wire's `tools[indexes[i]]`. */
function withToolIndexes(indexes: readonly number[]): FieldRenames {
  const shifted = indexes.flatMap((wire, normalized): FieldRenames['top'] => [
    [new RegExp(`^tools\\[${normalized}\\]\\.parameters`), `tools[${wire}].input_schema`],
    [new RegExp(`^tools\\[${normalized}\\]`), `tools[${wire}]`],
  ]);
  return { ...renames, top: [...shifted, ...renames.top] };
}

const stopReasons: Record<FinishReason, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
  other: 'end_turn',
};

/** Anthropic counts cached prompt tokens apart from `input_tokens`; the normalized count includes them. */
function usageJson(usage: Usage | undefined): Record<string, unknown> {
  if (!usage) return { input_tokens: 0, output_tokens: 0 };
  const cacheRead = usage.cachedInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  const json: Record<string, unknown> = {
    input_tokens: Math.max(0, usage.inputTokens - cacheRead - cacheWrite),
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
  if (usage.reasoningTokens !== undefined)
    json.output_tokens_details = { thinking_tokens: usage.reasoningTokens };
  return json;
}

/**
 * The stop reason an Anthropic client expects: a turn that made tool calls stopped for `tool_use` even
 * when the target said `stop` (OpenAI answers a forced named tool with `finish_reason: "stop"`), and a
 * stop on a stop sequence says so.
 */
function stopReasonFor(reason: FinishReason, toolCalls: boolean, stopSequence: string | undefined): string {
  if (toolCalls && (reason === 'stop' || reason === 'other')) return 'tool_use';
  if (reason === 'stop' && stopSequence !== undefined) return 'stop_sequence';
  return stopReasons[reason];
}

/** A thinking block as the Messages API shows it; reasoning from a target without signatures gets `''`. */
function thinkingBlock(block: ReasoningBlock): Record<string, unknown> {
  return block.type === 'redacted-reasoning'
    ? { type: 'redacted_thinking', data: block.data }
    : { type: 'thinking', thinking: block.text, signature: block.signature ?? '' };
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
  const content: unknown[] = (response.reasoning ?? []).map(thinkingBlock);
  // Anthropic has no refusal field: a refusal is text with stop reason `refusal`.
  const refused = response.refusal !== undefined && response.text === '';
  if (refused) content.push({ type: 'text', text: response.refusal });
  else if (response.text !== '' || response.toolCalls.length === 0)
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
    stop_reason: refused
      ? 'refusal'
      : stopReasonFor(response.finishReason, response.toolCalls.length > 0, response.stopSequence),
    stop_sequence: response.stopSequence ?? null,
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
  /** `text`, `thinking`, a tool call's normalized index, or undefined when no block is open. */
  private openBlock: 'text' | 'thinking' | number | undefined;
  private usage: Usage | undefined;
  private stopReason = 'end_turn';
  private stopSequence: string | undefined;
  private toolCalls = false;
  private refused = false;

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
      case 'reasoning-delta': {
        let head = this.started ? '' : this.begin('bulwark', 'unknown');
        if (event.redacted !== undefined) {
          head += this.close();
          this.blockIndex += 1;
          head += `event: content_block_start\ndata: {"type":"content_block_start","index":${this.blockIndex},"content_block":${JSON.stringify({ type: 'redacted_thinking', data: event.redacted })}}\n\n`;
          return `${head}event: content_block_stop\ndata: {"type":"content_block_stop","index":${this.blockIndex}}\n\n`;
        }
        if (this.openBlock !== 'thinking') {
          head += this.close();
          this.blockIndex += 1;
          this.openBlock = 'thinking';
          head += `event: content_block_start\ndata: {"type":"content_block_start","index":${this.blockIndex},"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n`;
        }
        if (event.text)
          head += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.blockIndex},"delta":{"type":"thinking_delta","thinking":${JSON.stringify(event.text)}}}\n\n`;
        if (event.signature !== undefined) {
          head += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.blockIndex},"delta":{"type":"signature_delta","signature":${JSON.stringify(event.signature)}}}\n\n`;
          head += this.close();
        }
        return head;
      }
      case 'text-delta': {
        if (event.text === '') return '';
        if (event.refusal) this.refused = true;
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
        this.toolCalls = true;
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
        this.stopSequence = event.stopSequence;
        this.stopReason = this.refused
          ? 'refusal'
          : stopReasonFor(event.finishReason, this.toolCalls, event.stopSequence);
        return '';
      default:
        return '';
    }
  }

  end(): string {
    const head = this.started ? '' : this.begin('bulwark', 'unknown');
    const delta = {
      type: 'message_delta',
      delta: { stop_reason: this.stopReason, stop_sequence: this.stopSequence ?? null },
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
