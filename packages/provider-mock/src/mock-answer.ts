import type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  JSONSchema,
  ToolCall,
  Usage,
} from '@bulwark/core';

/** What the mock answers, before faults: the parts of a response derived from the request. */
export interface MockAnswer {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
}

/**
 * Token estimate the mock reports: one token per four characters (rounded up), the rule of thumb
 * both OpenAI and Anthropic document for English text. Never 0 for non-empty text.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** FNV-1a 32-bit: a stable short hash so ids and embeddings depend on the request only. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function contentText(content: ChatMessage['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

/** Every character of the prompt that a provider would bill: messages, tool definitions and schema. */
export function promptText(request: ChatRequest): string {
  let text = '';
  for (const message of request.messages) {
    text += contentText(message.content);
    if (message.role === 'assistant' && message.toolCalls) {
      for (const call of message.toolCalls) text += call.name + call.arguments;
    }
  }
  if (request.tools) text += JSON.stringify(request.tools);
  if (request.responseFormat?.type === 'json_schema') text += JSON.stringify(request.responseFormat.schema);
  return text;
}

function lastUserText(request: ChatRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index -= 1) {
    const message = request.messages[index]!;
    if (message.role === 'user') return contentText(message.content);
  }
  return '';
}

/** A value that satisfies `schema` (types, required properties, enums, consts, array bounds). */
export function exampleForSchema(schema: JSONSchema | undefined, seedText: string, depth = 0): unknown {
  if (!schema || depth > 8) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const result: Record<string, unknown> = {};
      const properties = (schema.properties ?? {}) as Record<string, JSONSchema>;
      for (const [key, property] of Object.entries(properties)) {
        result[key] = exampleForSchema(property, `${seedText}.${key}`, depth + 1);
      }
      return result;
    }
    case 'array': {
      const minItems = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const items = schema.items as JSONSchema | undefined;
      return Array.from({ length: Math.max(1, minItems) }, (_, index) =>
        exampleForSchema(items, `${seedText}[${index}]`, depth + 1),
      );
    }
    case 'string':
      return `mock-${(hashText(seedText) % 100_000).toString(36)}`;
    case 'integer':
      return (hashText(seedText) % 100) + (typeof schema.minimum === 'number' ? schema.minimum : 0);
    case 'number':
      return (hashText(seedText) % 1000) / 10 + (typeof schema.minimum === 'number' ? schema.minimum : 0);
    case 'boolean':
      return hashText(seedText) % 2 === 0;
    case 'null':
      return null;
    default:
      return typeof schema.properties === 'object'
        ? exampleForSchema({ ...schema, type: 'object' }, seedText, depth)
        : null;
  }
}

function chooseTool(request: ChatRequest) {
  const tools = request.tools;
  if (!tools || tools.length === 0) return undefined;
  const choice = request.toolChoice ?? 'auto';
  if (choice === 'none') return undefined;
  // Once the conversation holds a tool result, answer in text so agent loops terminate.
  const last = request.messages.at(-1);
  if (last?.role === 'tool' && typeof choice === 'string' && choice !== 'required') return undefined;
  if (typeof choice === 'object') return tools.find((tool) => tool.name === choice.name) ?? tools[0];
  return tools[0];
}

/**
 * The deterministic answer to `request`: a tool call when tools are offered (the chosen one, else the
 * first) unless the last message is a tool result; JSON that satisfies the requested format; else a
 * text that echoes the last user message. `maxTokens` and `stop` truncate the text as providers do.
 */
export function answerFor(request: ChatRequest, textOverride?: string): MockAnswer {
  const prompt = promptText(request);
  const inputTokens = estimateTokens(prompt);
  const tool = chooseTool(request);
  if (tool && textOverride === undefined) {
    const argumentsText = JSON.stringify(exampleForSchema(tool.parameters, `${tool.name}:${prompt}`));
    const toolCalls: ToolCall[] = [
      {
        id: `call_${hashText(`${tool.name}:${prompt}`).toString(36)}`,
        name: tool.name,
        arguments: argumentsText,
      },
    ];
    const outputTokens = Math.max(1, estimateTokens(tool.name + argumentsText));
    return {
      text: '',
      toolCalls,
      finishReason: 'tool_calls',
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    };
  }
  let text: string;
  if (textOverride !== undefined) text = textOverride;
  else if (request.responseFormat?.type === 'json_schema') {
    text = JSON.stringify(exampleForSchema(request.responseFormat.schema, prompt));
  } else if (request.responseFormat?.type === 'json') {
    text = JSON.stringify({ echo: lastUserText(request) });
  } else {
    text = `Mock answer from ${request.model}: ${lastUserText(request)}`;
  }
  let finishReason: FinishReason = 'stop';
  if (request.stop) {
    for (const stop of request.stop) {
      const at = stop === '' ? -1 : text.indexOf(stop);
      if (at >= 0) text = text.slice(0, at);
    }
  }
  if (request.maxTokens !== undefined && estimateTokens(text) > request.maxTokens) {
    text = text.slice(0, request.maxTokens * 4);
    finishReason = 'length';
  }
  const outputTokens = estimateTokens(text);
  return {
    text,
    toolCalls: [],
    finishReason,
    usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
  };
}

/** Builds the response object of an answer. */
export function responseOf(answer: MockAnswer, id: string, provider: string, model: string): ChatResponse {
  return {
    id,
    provider,
    model,
    text: answer.text,
    toolCalls: answer.toolCalls,
    finishReason: answer.finishReason,
    usage: answer.usage,
    attempts: [],
  };
}
