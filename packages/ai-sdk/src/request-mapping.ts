import type { LanguageModelV4CallOptions, LanguageModelV4Message } from '@ai-sdk/provider';
import type {
  FilePart as BulwarkFilePart,
  ChatMessage,
  ChatRequest,
  ImagePart,
  ToolChoice,
  UserContentPart,
} from '@bulwark/core';
import { InvalidRequestError } from '@bulwark/core';
import type { AISDKCallOptions, SupportedSpecification } from './spec.js';

type Prompt = LanguageModelV4CallOptions['prompt'];
type UserPart = Extract<LanguageModelV4Message, { role: 'user' }>['content'][number];
type AssistantPart = Extract<LanguageModelV4Message, { role: 'assistant' }>['content'][number];

const effortBudgets = [
  ['minimal', 0],
  ['low', 1024],
  ['medium', 4096],
  ['high', 16384],
] as const;

/** A `data:` URL split into media type and base64 payload, or undefined for any other URL. */
function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1] as string, data: match[2] as string } : undefined;
}

/**
 * A file part's data in the shape of the specification: v4 wraps it (`{ type: 'data' | 'url' }`), v3
 * takes a base64 string or a `URL`.
 */
function fileData(
  version: SupportedSpecification,
  source: { data?: string; url?: string; fileId?: string },
  path: string,
): { data: unknown; mediaType?: string } {
  if (source.data !== undefined) {
    return { data: version === 'v4' ? { type: 'data', data: source.data } : source.data };
  }
  if (source.url !== undefined) {
    const inline = parseDataUrl(source.url);
    if (inline) {
      return {
        data: version === 'v4' ? { type: 'data', data: inline.data } : inline.data,
        mediaType: inline.mediaType,
      };
    }
    const url = new URL(source.url);
    return { data: version === 'v4' ? { type: 'url', url } : url };
  }
  throw new InvalidRequestError({
    field: path,
    message: `${path}: AI SDK models take file parts as data or a URL, not a provider file id`,
  });
}

function imagePart(version: SupportedSpecification, part: ImagePart, path: string): UserPart {
  const { data, mediaType } = fileData(version, part, path);
  return {
    type: 'file',
    mediaType: part.mediaType ?? mediaType ?? 'image/*',
    data,
  } as UserPart;
}

function filePart(version: SupportedSpecification, part: BulwarkFilePart, path: string): UserPart {
  const { data, mediaType } = fileData(version, part, path);
  return {
    type: 'file',
    mediaType: part.mediaType ?? mediaType ?? 'application/octet-stream',
    data,
    ...(part.filename === undefined ? {} : { filename: part.filename }),
  } as UserPart;
}

const textOf = (content: string | Array<{ type: 'text'; text: string }>): string =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

function userParts(
  version: SupportedSpecification,
  content: string | UserContentPart[],
  path: string,
): UserPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part, index) => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    if (part.type === 'image') return imagePart(version, part, `${path}[${index}]`);
    return filePart(version, part, `${path}[${index}]`);
  });
}

function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The normalized conversation as an AI SDK prompt: tool results get their tool's name from the call. */
export function toPrompt(version: SupportedSpecification, messages: ChatMessage[]): Prompt {
  const toolNames = new Map<string, string>();
  const prompt: Prompt = [];
  for (const [index, message] of messages.entries()) {
    const path = `messages[${index}].content`;
    switch (message.role) {
      case 'system':
        prompt.push({ role: 'system', content: textOf(message.content) });
        break;
      case 'user':
        prompt.push({ role: 'user', content: userParts(version, message.content, path) });
        break;
      case 'assistant': {
        const content: AssistantPart[] = [];
        for (const block of message.reasoning ?? []) {
          if (block.type === 'reasoning') {
            content.push({
              type: 'reasoning',
              text: block.text,
              ...(block.signature === undefined
                ? {}
                : { providerOptions: { anthropic: { signature: block.signature } } }),
            });
          } else {
            content.push({
              type: 'reasoning',
              text: '',
              providerOptions: { anthropic: { redactedData: block.data } },
            });
          }
        }
        const text = message.content === null ? '' : textOf(message.content);
        if (text !== '') content.push({ type: 'text', text });
        for (const call of message.toolCalls ?? []) {
          toolNames.set(call.id, call.name);
          content.push({
            type: 'tool-call',
            toolCallId: call.id,
            toolName: call.name,
            input: parseInput(call.arguments),
          });
        }
        prompt.push({ role: 'assistant', content });
        break;
      }
      case 'tool': {
        const value = textOf(message.content);
        const part = {
          type: 'tool-result' as const,
          toolCallId: message.toolCallId,
          toolName: toolNames.get(message.toolCallId) ?? '',
          output: message.isError ? { type: 'error-text' as const, value } : { type: 'text' as const, value },
        };
        const previous = prompt.at(-1);
        // Results of one assistant turn's calls go in one tool message, as the AI SDK builds them.
        if (previous?.role === 'tool') previous.content.push(part);
        else prompt.push({ role: 'tool', content: [part] });
        break;
      }
    }
  }
  return prompt;
}

function toolChoice(choice: ToolChoice): LanguageModelV4CallOptions['toolChoice'] {
  if (typeof choice === 'string') return { type: choice };
  return { type: 'tool', toolName: choice.name };
}

/** The nearest AI SDK reasoning effort to a token budget. */
function effortFor(budgetTokens: number): (typeof effortBudgets)[number][0] {
  let best: (typeof effortBudgets)[number] = effortBudgets[0];
  for (const entry of effortBudgets) {
    if (Math.abs(entry[1] - budgetTokens) < Math.abs(best[1] - budgetTokens)) best = entry;
  }
  return best[0];
}

/**
 * A normalized request as the call options of an AI SDK model. `reasoning` goes to v4's `reasoning`
 * option; v3 has none (pass the provider's own option in `providerOptions`). `providerOptions` are passed
 * through as they are: AI SDK providers read theirs by provider name (`openai`, `anthropic`, `google`).
 */
export function toCallOptions(
  version: SupportedSpecification,
  request: ChatRequest,
  abortSignal: AbortSignal,
): AISDKCallOptions {
  const options: LanguageModelV4CallOptions = { prompt: toPrompt(version, request.messages), abortSignal };
  if (request.maxTokens !== undefined) options.maxOutputTokens = request.maxTokens;
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.topP !== undefined) options.topP = request.topP;
  if (request.stop !== undefined) options.stopSequences = request.stop;
  if (request.seed !== undefined) options.seed = request.seed;
  if (request.tools !== undefined && request.tools.length > 0) {
    options.tools = request.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      inputSchema: tool.parameters,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      ...(tool.strict === undefined ? {} : { strict: tool.strict }),
    }));
  }
  if (request.toolChoice !== undefined) options.toolChoice = toolChoice(request.toolChoice);
  const format = request.responseFormat;
  if (format?.type === 'json') options.responseFormat = { type: 'json' };
  else if (format?.type === 'json_schema') {
    options.responseFormat = {
      type: 'json',
      schema: format.schema,
      name: format.name,
      ...(format.description === undefined ? {} : { description: format.description }),
    };
  }
  if (request.reasoning !== undefined && version === 'v4') {
    options.reasoning =
      request.reasoning.effort ??
      (request.reasoning.budgetTokens === undefined
        ? 'provider-default'
        : effortFor(request.reasoning.budgetTokens));
  }
  if (request.providerOptions !== undefined) {
    options.providerOptions = request.providerOptions as LanguageModelV4CallOptions['providerOptions'];
  }
  return options as AISDKCallOptions;
}
