import {
  type ChatMessage,
  type ChatRequest,
  InvalidRequestError,
  type TextPart,
  type UserContentPart,
  validateChatRequest,
} from '@bulwark/core';

/** The Chat Completions request body this provider sends (the subset Bulwark maps, plus pass-through keys). */
export interface OpenAIChatBody {
  model: string;
  messages: OpenAIMessage[];
  tools?: Array<{
    type: 'function';
    function: { name: string; description?: string; parameters: Record<string, unknown>; strict?: boolean };
  }>;
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  parallel_tool_calls?: boolean;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string[];
  seed?: number;
  response_format?:
    | { type: 'text' }
    | { type: 'json_object' }
    | {
        type: 'json_schema';
        json_schema: {
          name: string;
          schema: Record<string, unknown>;
          description?: string;
          strict?: boolean;
        };
      };
  metadata?: Record<string, string>;
  reasoning_effort?: 'minimal' | 'low' | 'medium' | 'high';
  user?: string;
  logprobs?: boolean;
  top_logprobs?: number;
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  [key: string]: unknown;
}

type OpenAIContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
  | { type: 'file'; file: { file_data?: string; file_id?: string; filename?: string } };

export type OpenAIMessage =
  | { role: 'system'; content: string | Array<{ type: 'text'; text: string }> }
  | { role: 'user'; content: string | OpenAIContentPart[]; name?: string }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
    }
  | { role: 'tool'; tool_call_id: string; content: string | Array<{ type: 'text'; text: string }> };

/** How the request's options map onto the body. */
export interface OpenAIMappingOptions {
  /** The plugin instance name, also looked up in `providerOptions`. */
  name: string;
  /** Which field carries `maxTokens`. */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** Send `request.metadata` (OpenAI accepts it only with `store: true`). */
  forwardMetadata: boolean;
  /** Ask for a final usage chunk when streaming. */
  includeUsage: boolean;
}

function textParts(parts: TextPart[]): Array<{ type: 'text'; text: string }> {
  return parts.map((part) => ({ type: 'text', text: part.text }));
}

function joinText(content: string | TextPart[] | null): string | null {
  if (content === null || typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}

function userPart(part: UserContentPart, field: string): OpenAIContentPart {
  if (part.type === 'text') return { type: 'text', text: part.text };
  if (part.type === 'image') {
    const url = part.url ?? `data:${part.mediaType};base64,${part.data}`;
    return { type: 'image_url', image_url: part.detail ? { url, detail: part.detail } : { url } };
  }
  if (part.type === 'file') {
    if (part.url !== undefined) {
      throw new InvalidRequestError({
        field: `${field}.url`,
        message: `Invalid request: ${field}.url cannot be sent to Chat Completions (file parts take data or a file id)`,
      });
    }
    const file: { file_data?: string; file_id?: string; filename?: string } =
      part.fileId !== undefined
        ? { file_id: part.fileId }
        : { file_data: `data:${part.mediaType};base64,${part.data}` };
    if (part.filename !== undefined) file.filename = part.filename;
    return { type: 'file', file };
  }
  throw new InvalidRequestError({
    field: `${field}.type`,
    message: `Invalid request: ${field}.type must be one of "text", "image", "file"`,
  });
}

/** The reasoning effort of a thinking budget: the nearest of low (1,024), medium (4,096), high (16,384). */
export function effortForBudget(budgetTokens: number): 'low' | 'medium' | 'high' {
  if (budgetTokens < 2560) return 'low';
  if (budgetTokens < 10_240) return 'medium';
  return 'high';
}

function mapMessage(message: ChatMessage, index: number): OpenAIMessage {
  switch (message.role) {
    case 'system':
      return {
        role: 'system',
        content: typeof message.content === 'string' ? message.content : textParts(message.content),
      };
    case 'user': {
      const content =
        typeof message.content === 'string'
          ? message.content
          : message.content.map((part, partIndex) =>
              userPart(part, `messages[${index}].content[${partIndex}]`),
            );
      return message.name === undefined
        ? { role: 'user', content }
        : { role: 'user', content, name: message.name };
    }
    case 'assistant': {
      const mapped: OpenAIMessage = { role: 'assistant', content: joinText(message.content ?? null) };
      if (message.toolCalls && message.toolCalls.length > 0) {
        mapped.tool_calls = message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        }));
      }
      return mapped;
    }
    case 'tool':
      return {
        role: 'tool',
        tool_call_id: message.toolCallId,
        content: typeof message.content === 'string' ? message.content : textParts(message.content),
      };
  }
}

/**
 * Validates the normalized request (typed error naming the field) and maps it to a Chat Completions
 * body. Reasoning blocks of earlier assistant turns and prompt-cache breakpoints have no Chat Completions
 * field and are not sent (OpenAI caches prompts by itself); a reasoning budget becomes the nearest
 * `reasoning_effort`. `providerOptions.openai` and `providerOptions[<instance name>]` are merged in last, so they
 * can set any field the API accepts (`logprobs`, `user`, `store`, …) or override a mapped one.
 */
export function toOpenAIChatBody(
  request: ChatRequest,
  options: OpenAIMappingOptions,
  stream: boolean,
): OpenAIChatBody {
  validateChatRequest(request);
  const body: OpenAIChatBody = { model: request.model, messages: request.messages.map(mapMessage) };
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.parameters,
        ...(tool.strict === undefined ? {} : { strict: tool.strict }),
      },
    }));
  }
  const choice = request.toolChoice;
  if (choice !== undefined) {
    body.tool_choice =
      typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  }
  if (request.parallelToolCalls !== undefined) body.parallel_tool_calls = request.parallelToolCalls;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.maxTokens !== undefined) body[options.maxTokensField] = request.maxTokens;
  if (request.stop !== undefined) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  const format = request.responseFormat;
  if (format) {
    if (format.type === 'json') body.response_format = { type: 'json_object' };
    else if (format.type === 'text') body.response_format = { type: 'text' };
    else {
      body.response_format = {
        type: 'json_schema',
        json_schema: {
          name: format.name,
          schema: format.schema,
          ...(format.description === undefined ? {} : { description: format.description }),
          ...(format.strict === undefined ? {} : { strict: format.strict }),
        },
      };
    }
  }
  if (options.forwardMetadata && request.metadata) body.metadata = request.metadata;
  const reasoning = request.reasoning;
  if (reasoning?.effort !== undefined) body.reasoning_effort = reasoning.effort;
  else if (reasoning?.budgetTokens !== undefined)
    body.reasoning_effort = effortForBudget(reasoning.budgetTokens);
  if (request.user !== undefined) body.user = request.user;
  if (request.logprobs !== undefined) body.logprobs = request.logprobs;
  if (request.topLogprobs !== undefined) body.top_logprobs = request.topLogprobs;
  if (stream) {
    body.stream = true;
    if (options.includeUsage) body.stream_options = { include_usage: true };
  }
  const extra = request.providerOptions;
  if (extra) {
    const shared = extra.openai;
    const own = options.name === 'openai' ? undefined : extra[options.name];
    for (const source of [shared, own]) {
      if (source === undefined) continue;
      if (typeof source !== 'object' || source === null || Array.isArray(source)) {
        throw new InvalidRequestError({
          field: `providerOptions.${source === shared ? 'openai' : options.name}`,
          message: 'Invalid request: providerOptions entries must be objects',
        });
      }
      Object.assign(body, source);
    }
    // The transport decides streaming, whatever the escape hatch says.
    if (stream) body.stream = true;
    else delete body.stream;
  }
  return body;
}
