import {
  type ChatRequest,
  type FilePart,
  type ImagePart,
  InvalidRequestError,
  type PromptCacheControl,
  type ReasoningBlock,
  type TextPart,
  type UserContentPart,
  validateChatRequest,
} from '@bulwark/core';

type CacheControlParam = { type: 'ephemeral'; ttl?: '5m' | '1h' };
type TextBlock = { type: 'text'; text: string; cache_control?: CacheControlParam };
type ImageBlock = {
  type: 'image';
  source: { type: 'url'; url: string } | { type: 'base64'; media_type: string; data: string };
  cache_control?: CacheControlParam;
};
type DocumentBlock = {
  type: 'document';
  source:
    | { type: 'base64'; media_type: 'application/pdf'; data: string }
    | { type: 'text'; media_type: 'text/plain'; data: string }
    | { type: 'url'; url: string }
    | { type: 'file'; file_id: string };
  title?: string;
  cache_control?: CacheControlParam;
};
type ToolUseBlock = { type: 'tool_use'; id: string; name: string; input: unknown };
type ToolResultBlock = {
  type: 'tool_result';
  tool_use_id: string;
  content: string | TextBlock[];
  is_error?: boolean;
};
type ThinkingBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

/** One content block this provider sends. */
export type AnthropicBlock =
  | TextBlock
  | ImageBlock
  | DocumentBlock
  | ToolUseBlock
  | ToolResultBlock
  | ThinkingBlock;

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

/** The Messages API body this provider sends (the subset Bulwark maps, plus pass-through keys). */
export interface AnthropicMessagesBody {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string | TextBlock[];
  tools?: Array<{
    name: string;
    description?: string;
    input_schema: Record<string, unknown>;
    strict?: boolean;
    cache_control?: CacheControlParam;
  }>;
  tool_choice?:
    | { type: 'auto'; disable_parallel_tool_use?: boolean }
    | { type: 'any'; disable_parallel_tool_use?: boolean }
    | { type: 'none' }
    | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  output_config?: { format: { type: 'json_schema'; schema: Record<string, unknown> } };
  thinking?: { type: 'enabled'; budget_tokens: number };
  stream?: boolean;
  [key: string]: unknown;
}

export interface AnthropicMappingOptions {
  /** The plugin instance name, also looked up in `providerOptions`. */
  name: string;
  /** `max_tokens` when the request sets none (the API requires one). */
  defaultMaxTokens: number;
}

/** The instruction added to the system prompt for `responseFormat: { type: 'json' }` (no native JSON mode). */
export const jsonInstruction =
  'Respond with one valid JSON object and nothing else: no prose, no code fences.';

const imageMediaTypes = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

function fail(field: string, message: string): never {
  throw new InvalidRequestError({ field, message: `Invalid request: ${field} ${message}` });
}

/** The thinking budget of a reasoning effort: low 1,024, medium 4,096, high 16,384 tokens. */
export const thinkingBudgets = { minimal: 1024, low: 1024, medium: 4096, high: 16_384 } as const;

function cacheControl(control: PromptCacheControl | undefined): { cache_control?: CacheControlParam } {
  if (!control) return {};
  return { cache_control: control.ttl ? { type: 'ephemeral', ttl: control.ttl } : { type: 'ephemeral' } };
}

function textBlocks(content: string | TextPart[]): TextBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const blocks: TextBlock[] = [];
  for (const part of content) {
    if (part.text !== '') blocks.push({ type: 'text', text: part.text, ...cacheControl(part.cacheControl) });
  }
  return blocks;
}

/** Thinking blocks of a replayed assistant turn, verbatim: the API checks their signatures. */
function thinkingBlocks(reasoning: ReasoningBlock[] | undefined, field: string): ThinkingBlock[] {
  if (!reasoning) return [];
  return reasoning.map((block, index) => {
    if (block.type === 'redacted-reasoning') return { type: 'redacted_thinking', data: block.data };
    if (block.signature === undefined) {
      fail(
        `${field}.reasoning[${index}].signature`,
        'is required by Anthropic to replay a thinking block (reasoning from another provider cannot be replayed)',
      );
    }
    return { type: 'thinking', thinking: block.text, signature: block.signature };
  });
}

function documentBlock(part: FilePart, field: string): DocumentBlock {
  const extra = {
    ...(part.filename === undefined ? {} : { title: part.filename }),
    ...cacheControl(part.cacheControl),
  };
  if (part.fileId !== undefined)
    return { type: 'document', source: { type: 'file', file_id: part.fileId }, ...extra };
  if (part.url !== undefined) return { type: 'document', source: { type: 'url', url: part.url }, ...extra };
  if (part.mediaType === 'application/pdf') {
    return {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: part.data! },
      ...extra,
    };
  }
  if (part.mediaType === 'text/plain') {
    const text = Buffer.from(part.data!, 'base64').toString('utf8');
    return { type: 'document', source: { type: 'text', media_type: 'text/plain', data: text }, ...extra };
  }
  return fail(`${field}.mediaType`, 'must be application/pdf or text/plain for an Anthropic document');
}

function imageBlock(part: ImagePart, field: string): ImageBlock {
  if (part.data !== undefined && part.data !== '') {
    if (!imageMediaTypes.has(part.mediaType ?? '')) {
      fail(`${field}.mediaType`, 'must be one of image/jpeg, image/png, image/gif, image/webp for Anthropic');
    }
    return {
      type: 'image',
      source: { type: 'base64', media_type: part.mediaType!, data: part.data },
      ...cacheControl(part.cacheControl),
    };
  }
  const url = part.url!;
  if (url.startsWith('data:')) {
    const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
    if (!match) fail(`${field}.url`, 'must be a base64 data: URL (data:<media type>;base64,<data>)');
    if (!imageMediaTypes.has(match[1]!)) {
      fail(`${field}.url`, 'must hold an image/jpeg, image/png, image/gif or image/webp image for Anthropic');
    }
    return {
      type: 'image',
      source: { type: 'base64', media_type: match[1]!, data: match[2]! },
      ...cacheControl(part.cacheControl),
    };
  }
  return { type: 'image', source: { type: 'url', url }, ...cacheControl(part.cacheControl) };
}

function userBlocks(content: string | UserContentPart[], field: string): AnthropicBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part, index): AnthropicBlock => {
    if (part.type === 'text') return { type: 'text', text: part.text, ...cacheControl(part.cacheControl) };
    if (part.type === 'image') return imageBlock(part, `${field}[${index}]`);
    if (part.type === 'file') return documentBlock(part, `${field}[${index}]`);
    return fail(`${field}[${index}].type`, 'must be one of "text", "image", "file"');
  });
}

/** Adds blocks to the conversation, merging into the previous turn when it has the same role. */
function push(messages: AnthropicMessage[], role: 'user' | 'assistant', blocks: AnthropicBlock[]): void {
  const last = messages[messages.length - 1];
  if (last && last.role === role) last.content.push(...blocks);
  else messages.push({ role, content: blocks });
}

/**
 * Validates the normalized request (typed error naming the field) and maps it to a Messages API body.
 * System messages (wherever they sit) become the system prompt (a string stays a string, parts stay
 * blocks with their `cache_control`); replayed reasoning goes back as `thinking` / `redacted_thinking`
 * blocks, signatures verbatim; `reasoning` becomes `thinking.budget_tokens`; file parts become
 * `document` blocks; tool results become `tool_result`
 * blocks of a user turn; consecutive turns of one role are merged, as the API requires. `seed` has no
 * Anthropic equivalent and is not sent; of `metadata` only `user_id` is sent (the only key the API
 * takes). `providerOptions.anthropic` and `providerOptions[<instance name>]` are merged in last.
 */
export function toAnthropicBody(
  request: ChatRequest,
  options: AnthropicMappingOptions,
  stream: boolean,
): AnthropicMessagesBody {
  validateChatRequest(request);
  const system: TextBlock[] = [];
  // A system prompt sent as blocks stays blocks (their cache breakpoints with them).
  let systemAsBlocks = false;
  const messages: AnthropicMessage[] = [];
  request.messages.forEach((message, index) => {
    const field = `messages[${index}]`;
    switch (message.role) {
      case 'system':
        if (typeof message.content !== 'string') systemAsBlocks = true;
        system.push(...textBlocks(message.content));
        break;
      case 'user':
        push(messages, 'user', userBlocks(message.content, `${field}.content`));
        break;
      case 'assistant': {
        const blocks: AnthropicBlock[] = thinkingBlocks(message.reasoning, field);
        if (message.content) blocks.push(...textBlocks(message.content));
        message.toolCalls?.forEach((call, callIndex) => {
          let input: unknown = {};
          if (call.arguments.trim() !== '') {
            try {
              input = JSON.parse(call.arguments);
            } catch {
              fail(`${field}.toolCalls[${callIndex}].arguments`, 'must be valid JSON for Anthropic');
            }
          }
          if (typeof input !== 'object' || input === null || Array.isArray(input)) {
            fail(`${field}.toolCalls[${callIndex}].arguments`, 'must be a JSON object for Anthropic');
          }
          blocks.push({ type: 'tool_use', id: call.id, name: call.name, input });
        });
        push(messages, 'assistant', blocks);
        break;
      }
      case 'tool': {
        const content = typeof message.content === 'string' ? message.content : textBlocks(message.content);
        const block: ToolResultBlock = { type: 'tool_result', tool_use_id: message.toolCallId, content };
        if (message.isError) block.is_error = true;
        push(messages, 'user', [block]);
        break;
      }
    }
  });
  if (messages.length === 0)
    fail('messages', 'must contain at least one user or assistant message for Anthropic');
  if (request.temperature !== undefined && request.temperature > 1) {
    fail('temperature', 'must be from 0 to 1 for Anthropic');
  }
  const body: AnthropicMessagesBody = {
    model: request.model,
    max_tokens: request.maxTokens ?? options.defaultMaxTokens,
    messages,
  };
  if (request.responseFormat?.type === 'json') system.push({ type: 'text', text: jsonInstruction });
  if (system.length === 1 && !systemAsBlocks) body.system = system[0]!.text;
  else if (system.length > 0) body.system = system;
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool, index) => {
      if (tool.parameters.type !== 'object') {
        fail(
          `tools[${index}].parameters.type`,
          'must be "object" (Anthropic takes an object schema of the input)',
        );
      }
      return {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        input_schema: tool.parameters,
        ...(tool.strict === undefined ? {} : { strict: tool.strict }),
        ...cacheControl(tool.cacheControl),
      };
    });
  }
  const choice = request.toolChoice;
  const noParallel = request.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === 'none') body.tool_choice = { type: 'none' };
  else if (choice === 'required') body.tool_choice = { type: 'any', ...noParallel };
  else if (typeof choice === 'object') body.tool_choice = { type: 'tool', name: choice.name, ...noParallel };
  else if (choice === 'auto' || (request.parallelToolCalls === false && body.tools)) {
    body.tool_choice = { type: 'auto', ...noParallel };
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop !== undefined) body.stop_sequences = request.stop;
  const userId = request.user ?? request.metadata?.user_id ?? request.metadata?.userId;
  if (userId !== undefined) body.metadata = { user_id: userId };
  if (request.responseFormat?.type === 'json_schema') {
    body.output_config = { format: { type: 'json_schema', schema: request.responseFormat.schema } };
  }
  const reasoning = request.reasoning;
  if (reasoning && (reasoning.budgetTokens !== undefined || reasoning.effort !== undefined)) {
    let budget = reasoning.budgetTokens ?? thinkingBudgets[reasoning.effort!];
    // The budget counts against max_tokens and must stay below it (OpenAI's max_completion_tokens also
    // bounds reasoning and answer together).
    if (budget >= body.max_tokens) budget = body.max_tokens - 1;
    if (budget < 1024) {
      fail(
        request.maxTokens === undefined ? 'reasoning' : 'maxTokens',
        'must leave room for a thinking budget of at least 1024 tokens for Anthropic (max tokens above 1024)',
      );
    }
    body.thinking = { type: 'enabled', budget_tokens: budget };
  }
  if (stream) body.stream = true;
  const extra = request.providerOptions;
  if (extra) {
    for (const key of options.name === 'anthropic' ? ['anthropic'] : ['anthropic', options.name]) {
      const source = extra[key];
      if (source === undefined) continue;
      if (typeof source !== 'object' || source === null || Array.isArray(source)) {
        fail(`providerOptions.${key}`, 'must be an object');
      }
      Object.assign(body, source);
    }
    // The transport decides streaming, whatever the escape hatch says.
    if (stream) body.stream = true;
    else delete body.stream;
  }
  return body;
}
