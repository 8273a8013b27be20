import type {
  BulwarkError,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  PromptCacheControl,
  ReasoningBlock,
  ResponseFormat,
  StreamEvent,
  TextPart,
  TokenLogprob,
  ToolChoice,
  ToolDefinition,
  Usage,
  UserContentPart,
} from '@bulwark/core';
import { InvalidRequestError } from '@bulwark/core';
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

/** Chat Completions fields the gateway maps itself; anything else goes to OpenAI targets as is. */
const mappedFields = new Set([
  'model',
  'messages',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'response_format',
  'metadata',
  'stream',
  'stream_options',
  'n',
  'reasoning_effort',
  'user',
  'logprobs',
  'top_logprobs',
]);

/** Normalized field paths in Chat Completions spelling (see `wireField`). */
const renames: FieldRenames = {
  top: [
    [/^tools\[(\d+)\]\.(name|parameters|description|strict)/, 'tools[$1].function.$2'],
    [/^toolChoice\.name/, 'tool_choice.function.name'],
    [/^toolChoice/, 'tool_choice'],
    [/^parallelToolCalls/, 'parallel_tool_calls'],
    [/^topP/, 'top_p'],
    [/^maxTokens/, 'max_tokens'],
    [/^responseFormat\.(name|schema|description|strict)/, 'response_format.json_schema.$1'],
    [/^responseFormat/, 'response_format'],
    [/^providerOptions\.openai\./, ''],
  ],
  message: [
    [/^\.toolCalls\[(\d+)\]\.(name|arguments)/, '.tool_calls[$1].function.$2'],
    [/^\.toolCalls/, '.tool_calls'],
    [/^\.toolCallId/, '.tool_call_id'],
    [/^\.content\[(\d+)\]\.(url|data|mediaType)/, '.content[$1].image_url.url'],
  ],
  file: [
    [/^\.content\[(\d+)\]\.(url|data|mediaType)/, '.content[$1].file.file_data'],
    [/^\.content\[(\d+)\]\.fileId/, '.content[$1].file.file_id'],
    [/^\.content\[(\d+)\]\.filename/, '.content[$1].file.filename'],
  ],
};

/** The same, for a request that sent `max_completion_tokens` rather than `max_tokens`. */
const renamesWithCompletionTokens: FieldRenames = {
  ...renames,
  top: renames.top.map(([pattern, wire]) =>
    wire === 'max_tokens' ? [pattern, 'max_completion_tokens'] : [pattern, wire],
  ),
};

/** A Portkey-style `cache_control` on a content part or tool: `{ type: 'ephemeral', ttl? }`. */
function cacheControlOf(field: string, value: unknown): PromptCacheControl | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value) || value.type !== 'ephemeral') invalid(field, '{ type: "ephemeral" }', value);
  if (value.ttl !== undefined && value.ttl !== '5m' && value.ttl !== '1h')
    invalid(`${field}.ttl`, '"5m" or "1h"', value.ttl);
  return value.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: value.ttl };
}

function textContent(field: string, content: unknown): string | TextPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) invalid(field, 'a string or an array of text parts', content);
  return content.map((part, index) => {
    if (!isRecord(part) || (part.type !== 'text' && part.type !== 'refusal'))
      invalid(`${field}[${index}].type`, '"text"', isRecord(part) ? part.type : part);
    const text = part.type === 'text' ? part.text : part.refusal;
    if (typeof text !== 'string') invalid(`${field}[${index}].text`, 'a string', text);
    const result: TextPart = { type: 'text', text };
    const cache = cacheControlOf(`${field}[${index}].cache_control`, part.cache_control);
    if (cache) result.cacheControl = cache;
    return result;
  });
}

function userContent(field: string, content: unknown, drops: DropLog): string | UserContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) invalid(field, 'a string or an array of content parts', content);
  return content.map((part, index): UserContentPart => {
    const partField = `${field}[${index}]`;
    if (!isRecord(part)) invalid(partField, 'an object', part);
    const cache = cacheControlOf(`${partField}.cache_control`, part.cache_control);
    const mapped = contentPart(partField, part, drops);
    if (cache) mapped.cacheControl = cache;
    return mapped;
  });
}

function contentPart(partField: string, part: Record<string, unknown>, drops: DropLog): UserContentPart {
  if (part.type === 'text') {
    if (typeof part.text !== 'string') invalid(`${partField}.text`, 'a string', part.text);
    return { type: 'text', text: part.text };
  }
  if (part.type === 'file') {
    const file = part.file;
    if (!isRecord(file)) invalid(`${partField}.file`, 'an object', file);
    const result: UserContentPart = { type: 'file' };
    if (typeof file.file_id === 'string') result.fileId = file.file_id;
    else if (typeof file.file_data === 'string') {
      const dataMatch = dataUrlPattern.exec(file.file_data);
      result.mediaType = dataMatch ? dataMatch[1]! : 'application/pdf';
      result.data = dataMatch ? dataMatch[2]! : file.file_data;
    } else invalid(`${partField}.file`, 'an object with file_data or file_id', file);
    if (typeof file.filename === 'string') result.filename = file.filename;
    return result;
  }
  if (part.type === 'image_url') {
    const image = part.image_url;
    if (!isRecord(image) || typeof image.url !== 'string')
      invalid(`${partField}.image_url.url`, 'a string', isRecord(image) ? image.url : image);
    const url = image.url;
    const detail = image.detail;
    if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high')
      invalid(`${partField}.image_url.detail`, '"auto", "low" or "high"', detail);
    if (detail !== undefined && detail !== 'auto') drops.crossFormat(`${partField}.image_url.detail`);
    const dataMatch = url.startsWith('data:') ? dataUrlPattern.exec(url) : null;
    const result: UserContentPart = dataMatch
      ? { type: 'image', data: dataMatch[2]!, mediaType: dataMatch[1]! }
      : { type: 'image', url };
    if (detail !== undefined) result.detail = detail;
    return result;
  }
  return invalid(`${partField}.type`, '"text", "image_url" or "file"', part.type);
}

/** LiteLLM's `thinking_blocks` on an assistant message: Anthropic thinking with its signature, verbatim. */
function thinkingBlocks(field: string, value: unknown): ReasoningBlock[] {
  if (!Array.isArray(value)) invalid(field, 'an array of thinking blocks', value);
  return value.map((block, index) => {
    if (isRecord(block) && block.type === 'redacted_thinking' && typeof block.data === 'string')
      return { type: 'redacted-reasoning', data: block.data };
    if (!isRecord(block) || block.type !== 'thinking' || typeof block.thinking !== 'string')
      invalid(`${field}[${index}]`, 'a { type: "thinking", thinking, signature } block', block);
    const result: ReasoningBlock = { type: 'reasoning', text: block.thinking };
    if (typeof block.signature === 'string' && block.signature !== '') result.signature = block.signature;
    return result;
  });
}

const dataUrlPattern = /^data:([^;,]+);base64,(.*)$/s;

function parseMessages(
  messages: unknown,
  drops: DropLog,
): { messages: ChatMessage[]; sources: MessageSource[] } {
  if (!Array.isArray(messages) || messages.length === 0) invalid('messages', 'a non-empty array', messages);
  const result: ChatMessage[] = [];
  const sources: MessageSource[] = [];
  messages.forEach((message, index) => {
    const field = `messages[${index}]`;
    if (!isRecord(message)) invalid(field, 'an object', message);
    const source: MessageSource = { path: field };
    sources.push(source);
    switch (message.role) {
      case 'system':
      case 'developer':
        result.push({ role: 'system', content: textContent(`${field}.content`, message.content) });
        return;
      case 'user': {
        const user: ChatMessage = {
          role: 'user',
          content: userContent(`${field}.content`, message.content, drops),
        };
        if (Array.isArray(user.content)) {
          const files = user.content.flatMap((part, index) => (part.type === 'file' ? [index] : []));
          if (files.length > 0) source.files = files;
        }
        if (typeof message.name === 'string') {
          user.name = message.name;
          drops.crossFormat(`${field}.name`);
        }
        result.push(user);
        return;
      }
      case 'assistant': {
        const content =
          message.content === null || message.content === undefined
            ? null
            : textContent(`${field}.content`, message.content);
        const assistant: ChatMessage = { role: 'assistant', content };
        if (message.thinking_blocks !== undefined && message.thinking_blocks !== null) {
          assistant.reasoning = thinkingBlocks(`${field}.thinking_blocks`, message.thinking_blocks);
        } else if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
          // Reasoning text without its signature cannot be replayed to a provider that checks one.
          drops.always(`${field}.reasoning_content`);
        }
        if (message.tool_calls !== undefined) {
          if (!Array.isArray(message.tool_calls))
            invalid(`${field}.tool_calls`, 'an array', message.tool_calls);
          assistant.toolCalls = message.tool_calls.map((call, callIndex) => {
            const callField = `${field}.tool_calls[${callIndex}]`;
            if (!isRecord(call) || !isRecord(call.function))
              invalid(`${callField}.function`, 'an object', isRecord(call) ? call.function : call);
            return {
              id: call.id as string,
              name: call.function.name as string,
              arguments: call.function.arguments as string,
            };
          });
        }
        result.push(assistant);
        return;
      }
      case 'tool':
        result.push({
          role: 'tool',
          toolCallId: message.tool_call_id as string,
          content: textContent(`${field}.content`, message.content),
        });
        return;
      default:
        invalid(`${field}.role`, 'one of "system", "developer", "user", "assistant", "tool"', message.role);
    }
  });
  return { messages: result, sources };
}

function parseTools(tools: unknown): ToolDefinition[] {
  if (!Array.isArray(tools)) invalid('tools', 'an array', tools);
  return tools.map((tool, index) => {
    const field = `tools[${index}]`;
    if (!isRecord(tool) || tool.type !== 'function')
      invalid(`${field}.type`, '"function"', isRecord(tool) ? tool.type : tool);
    const fn = tool.function;
    if (!isRecord(fn)) invalid(`${field}.function`, 'an object', fn);
    const definition: ToolDefinition = {
      name: fn.name as string,
      parameters: (fn.parameters as ToolDefinition['parameters']) ?? { type: 'object', properties: {} },
    };
    if (typeof fn.description === 'string') definition.description = fn.description;
    if (typeof fn.strict === 'boolean') definition.strict = fn.strict;
    const cache = cacheControlOf(`${field}.cache_control`, tool.cache_control);
    if (cache) definition.cacheControl = cache;
    return definition;
  });
}

function parseToolChoice(choice: unknown): ToolChoice {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function)) {
    return { type: 'tool', name: choice.function.name as string };
  }
  return invalid(
    'tool_choice',
    '"auto", "none", "required" or { type: "function", function: { name } }',
    choice,
  );
}

function parseResponseFormat(format: unknown): ResponseFormat {
  if (!isRecord(format)) return invalid('response_format', 'an object', format);
  if (format.type === 'text') return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json' };
  if (format.type === 'json_schema') {
    const schema = format.json_schema;
    if (!isRecord(schema)) return invalid('response_format.json_schema', 'an object', schema);
    const result: ResponseFormat = {
      type: 'json_schema',
      name: schema.name as string,
      schema: (schema.schema as Record<string, unknown>) ?? {},
    };
    if (typeof schema.description === 'string') result.description = schema.description;
    if (typeof schema.strict === 'boolean') result.strict = schema.strict;
    return result;
  }
  return invalid('response_format.type', '"text", "json_object" or "json_schema"', format.type);
}

const efforts = new Set(['minimal', 'low', 'medium', 'high']);

/** Parses an OpenAI Chat Completions request body into the normalized request. */
export function parseOpenAIRequest(body: unknown): ParsedClientRequest {
  if (!isRecord(body)) invalid('body', 'a JSON object', body);
  if (typeof body.model !== 'string' || body.model === '') invalid('model', 'a non-empty string', body.model);
  if (body.n !== undefined && body.n !== null && body.n !== 1)
    invalid('n', '1 (the gateway returns one choice)', body.n);
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    invalid('stream', 'a boolean', body.stream);
  const drops = createDropLog();
  const { messages, sources } = parseMessages(body.messages, drops);
  const request: ChatRequest = { model: body.model, messages };
  if (body.tools !== undefined) request.tools = parseTools(body.tools);
  if (body.tool_choice !== undefined) request.toolChoice = parseToolChoice(body.tool_choice);
  if (body.parallel_tool_calls !== undefined) {
    if (typeof body.parallel_tool_calls !== 'boolean')
      invalid('parallel_tool_calls', 'a boolean', body.parallel_tool_calls);
    request.parallelToolCalls = body.parallel_tool_calls;
  }
  if (body.temperature !== undefined && body.temperature !== null)
    request.temperature = body.temperature as number;
  if (body.top_p !== undefined && body.top_p !== null) request.topP = body.top_p as number;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) request.maxTokens = maxTokens as number;
  if (body.stop !== undefined && body.stop !== null)
    request.stop = typeof body.stop === 'string' ? [body.stop] : (body.stop as string[]);
  if (body.seed !== undefined && body.seed !== null) {
    request.seed = body.seed as number;
    drops.crossFormat('seed');
  }
  if (body.reasoning_effort !== undefined && body.reasoning_effort !== null) {
    if (typeof body.reasoning_effort !== 'string' || !efforts.has(body.reasoning_effort))
      invalid('reasoning_effort', '"minimal", "low", "medium" or "high"', body.reasoning_effort);
    request.reasoning = { effort: body.reasoning_effort as 'minimal' | 'low' | 'medium' | 'high' };
  }
  if (body.user !== undefined && body.user !== null) {
    if (typeof body.user !== 'string') invalid('user', 'a string', body.user);
    request.user = body.user;
  }
  if (body.logprobs !== undefined && body.logprobs !== null) {
    if (typeof body.logprobs !== 'boolean') invalid('logprobs', 'a boolean', body.logprobs);
    request.logprobs = body.logprobs;
    if (body.logprobs) drops.crossFormat('logprobs');
  }
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) {
    request.topLogprobs = body.top_logprobs as number;
    drops.crossFormat('top_logprobs');
  }
  if (body.response_format !== undefined) request.responseFormat = parseResponseFormat(body.response_format);
  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isRecord(body.metadata) || Object.values(body.metadata).some((value) => typeof value !== 'string'))
      invalid('metadata', 'an object of string values', body.metadata);
    request.metadata = body.metadata as Record<string, string>;
    // Anthropic's metadata takes only user_id.
    for (const key of Object.keys(body.metadata)) if (key !== 'user_id') drops.crossFormat(`metadata.${key}`);
  }
  let extra: Record<string, unknown> | undefined;
  for (const key in body) {
    if (mappedFields.has(key)) continue;
    extra ??= {};
    extra[key] = body[key];
    // Sent as is to OpenAI-format targets; nothing carries it to another format.
    if (body[key] !== null) drops.crossFormat(key);
  }
  if (extra) request.providerOptions = { openai: extra };
  const wireError = validateNormalized(
    request,
    sources,
    (body.max_completion_tokens ?? undefined) === undefined ? renames : renamesWithCompletionTokens,
  );
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isRecord(body.stream_options)) invalid('stream_options', 'an object', body.stream_options);
    includeUsage = body.stream_options.include_usage === true;
  }
  return { request, stream: body.stream === true, includeUsage, wireError, dropped: drops.result() };
}

function finishReason(reason: FinishReason | undefined): string {
  return reason === 'length' || reason === 'tool_calls' || reason === 'content_filter' ? reason : 'stop';
}

function usageJson(usage: Usage): Record<string, unknown> {
  const json: Record<string, unknown> = {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
  };
  if (usage.reasoningTokens !== undefined)
    json.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  return json;
}

function logprobsJson(logprobs: readonly TokenLogprob[]): unknown[] {
  return logprobs.map((entry) => ({
    token: entry.token,
    logprob: entry.logprob,
    bytes: entry.bytes ?? null,
    top_logprobs: (entry.topLogprobs ?? []).map((top) => ({
      token: top.token,
      logprob: top.logprob,
      bytes: top.bytes ?? null,
    })),
  }));
}

/**
 * Reasoning as OpenAI-format clients read it: `reasoning_content` (the text, as DeepSeek and vLLM send
 * it) and, when there are signatures or redacted blocks to keep, LiteLLM's `thinking_blocks`, which a
 * client sends back on its next turn so the blocks reach Anthropic verbatim.
 */
function reasoningFields(
  reasoning: readonly ReasoningBlock[] | undefined,
  message: Record<string, unknown>,
): void {
  if (!reasoning || reasoning.length === 0) return;
  message.reasoning_content = reasoning
    .map((block) => (block.type === 'reasoning' ? block.text : ''))
    .join('');
  if (reasoning.some((block) => block.type === 'redacted-reasoning' || block.signature !== undefined)) {
    message.thinking_blocks = reasoning.map((block) =>
      block.type === 'redacted-reasoning'
        ? { type: 'redacted_thinking', data: block.data }
        : { type: 'thinking', thinking: block.text, signature: block.signature ?? '' },
    );
  }
}

function responseId(id: string): string {
  return id.startsWith('chatcmpl') ? id : `chatcmpl-${id}`;
}

/** The Chat Completions JSON body of a complete answer. */
export function openAIResponse(response: ChatResponse): unknown {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content:
      response.text === '' && (response.toolCalls.length > 0 || response.refusal !== undefined)
        ? null
        : response.text,
    refusal: response.refusal ?? null,
  };
  reasoningFields(response.reasoning, message);
  if (response.toolCalls.length > 0) {
    message.tool_calls = response.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  const body: Record<string, unknown> = {
    id: responseId(response.id),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: response.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: response.logprobs ? { content: logprobsJson(response.logprobs), refusal: null } : null,
        // A refusal is a normal stop for Chat Completions (`parse()` reads `message.refusal`).
        finish_reason: response.refusal !== undefined ? 'stop' : finishReason(response.finishReason),
      },
    ],
  };
  if (response.usage) body.usage = usageJson(response.usage);
  return body;
}

/**
 * Chat Completions SSE. Every chunk shares one prefix (id, created, model), built once per stream;
 * deltas are appended as strings so a text delta costs one `JSON.stringify` of its text.
 */
class OpenAIStreamEncoder implements StreamEncoder {
  private prefix = '';
  private usage: Usage | undefined;
  private finished = false;
  private readonly toolIndexes = new Map<number, number>();
  /** Text of the reasoning block being streamed, for its `thinking_blocks` entry once signed. */
  private reasoningText = '';

  constructor(private readonly includeUsage: boolean) {}

  private begin(id: string, model: string): string {
    this.prefix = `data: {"id":${JSON.stringify(responseId(id))},"object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":[`;
    return `${this.prefix}{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  encode(event: StreamEvent): string {
    switch (event.type) {
      case 'start':
        return this.begin(event.id, event.model);
      case 'text-delta': {
        const head = this.prefix === '' ? this.begin('bulwark', 'unknown') : '';
        const key = event.refusal ? 'refusal' : 'content';
        const logprobs = event.logprobs
          ? `{"content":${JSON.stringify(logprobsJson(event.logprobs))},"refusal":null}`
          : 'null';
        return `${head}${this.prefix}{"index":0,"delta":{"${key}":${JSON.stringify(event.text)}},"logprobs":${logprobs},"finish_reason":null}]}\n\n`;
      }
      case 'reasoning-delta': {
        // Reasoning text streams as `reasoning_content`; a block's signature (or a redacted block) closes
        // it as a whole LiteLLM-style `thinking_blocks` entry, which the client sends back on its next turn.
        const head = this.prefix === '' ? this.begin('bulwark', 'unknown') : '';
        let out = head;
        if (event.text) {
          this.reasoningText += event.text;
          out += `${this.prefix}{"index":0,"delta":{"reasoning_content":${JSON.stringify(event.text)}},"logprobs":null,"finish_reason":null}]}\n\n`;
        }
        let block: Record<string, unknown> | undefined;
        if (event.redacted !== undefined) block = { type: 'redacted_thinking', data: event.redacted };
        else if (event.signature !== undefined) {
          block = { type: 'thinking', thinking: this.reasoningText, signature: event.signature };
          this.reasoningText = '';
        }
        if (block)
          out += `${this.prefix}{"index":0,"delta":{"thinking_blocks":[${JSON.stringify(block)}]},"logprobs":null,"finish_reason":null}]}\n\n`;
        return out;
      }
      case 'tool-call-delta': {
        const head = this.prefix === '' ? this.begin('bulwark', 'unknown') : '';
        let index = this.toolIndexes.get(event.index);
        if (index === undefined) {
          index = this.toolIndexes.size;
          this.toolIndexes.set(event.index, index);
        }
        const call: Record<string, unknown> = { index };
        if (event.id !== undefined) {
          call.id = event.id;
          call.type = 'function';
        }
        const fn: Record<string, unknown> = { arguments: event.argumentsDelta };
        if (event.name !== undefined) fn.name = event.name;
        call.function = fn;
        return `${head}${this.prefix}{"index":0,"delta":{"tool_calls":[${JSON.stringify(call)}]},"logprobs":null,"finish_reason":null}]}\n\n`;
      }
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'finish': {
        const head = this.prefix === '' ? this.begin('bulwark', 'unknown') : '';
        this.finished = true;
        return `${head}${this.prefix}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finishReason(event.finishReason)}"}]}\n\n`;
      }
      default:
        return '';
    }
  }

  end(): string {
    let tail = '';
    if (!this.finished) tail += this.encode({ type: 'finish', finishReason: 'stop' });
    if (this.includeUsage && this.usage) {
      tail += `${this.prefix}],"usage":${JSON.stringify(usageJson(this.usage))}}\n\n`;
    }
    return `${tail}data: [DONE]\n\n`;
  }

  fail(error: BulwarkError, status: number): string {
    return `data: ${JSON.stringify(openAIErrorBody(error, status))}\n\n`;
  }
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  499: 'aborted',
  500: 'server_error',
  502: 'upstream_error',
  503: 'service_unavailable',
  504: 'timeout_error',
};

/** An OpenAI-style error body: `{ error: { message, type, param, code } }`, plus the attempt trail. */
export function openAIErrorBody(error: BulwarkError, status: number): unknown {
  const body: Record<string, unknown> = {
    message: error.message,
    type: errorTypes[status] ?? (status < 500 ? 'invalid_request_error' : 'server_error'),
    param: InvalidRequestError.isInstance(error) ? (error.field ?? null) : null,
    code: error.code,
  };
  const attempts = publicAttempts(error.attempts);
  if (attempts) body.attempts = attempts;
  return { error: body };
}

export const openAIFormat: ClientFormat = {
  name: 'openai',
  parse: parseOpenAIRequest,
  response: openAIResponse,
  streamEncoder: (parsed) => new OpenAIStreamEncoder(parsed.includeUsage),
  errorBody: openAIErrorBody,
};
