import type { LanguageModelV4CallOptions, LanguageModelV4Message } from '@ai-sdk/provider';
import {
  type ChatMessage,
  type ChatRequest,
  InvalidRequestError,
  type ReasoningBlock,
  type ResponseFormat,
  type TextPart,
  type ToolCall,
  type ToolChoice,
  type UserContentPart,
} from '@bulwark/core';
import type { AISDKCallOptions } from './spec.js';

type FileLike = { data: unknown; mediaType: string; filename?: string };

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A file's data in v4 (`{ type: 'data' | 'url' }`) or v3 (bytes, base64 text or a `URL`) form. */
function fileSource(file: FileLike, path: string): { data: string } | { url: string } {
  const data = file.data;
  if (data instanceof URL) return { url: data.href };
  if (data instanceof Uint8Array) return { data: base64Of(data) };
  if (typeof data === 'string') return /^(https?:|data:)/.test(data) ? { url: data } : { data };
  if (typeof data === 'object' && data !== null) {
    const wrapped = data as { type?: string; data?: unknown; url?: unknown; text?: unknown };
    if (wrapped.type === 'url' && wrapped.url instanceof URL) return { url: wrapped.url.href };
    if (wrapped.type === 'data') {
      if (wrapped.data instanceof Uint8Array) return { data: base64Of(wrapped.data) };
      if (typeof wrapped.data === 'string') return { data: wrapped.data };
    }
    if (wrapped.type === 'text' && typeof wrapped.text === 'string') {
      return { data: Buffer.from(wrapped.text, 'utf8').toString('base64') };
    }
  }
  throw new InvalidRequestError({
    field: path,
    message: `${path}: Bulwark takes file data as bytes, base64 text or a URL (not a provider file reference)`,
  });
}

function userPart(part: { type: string } & Record<string, unknown>, path: string): UserContentPart {
  if (part.type === 'text') return { type: 'text', text: String(part.text) };
  if (part.type === 'file') {
    const file = part as unknown as FileLike;
    const source = fileSource(file, path);
    if (file.mediaType.startsWith('image/')) {
      return {
        type: 'image',
        ...source,
        ...(file.mediaType === 'image/*' ? {} : { mediaType: file.mediaType }),
      };
    }
    return {
      type: 'file',
      ...source,
      mediaType: file.mediaType,
      ...(file.filename === undefined ? {} : { filename: file.filename }),
    };
  }
  throw new InvalidRequestError({
    field: path,
    message: `${path}: unsupported user part type "${part.type}"`,
  });
}

/** The text of a tool result output (JSON values as JSON text). */
function outputText(output: { type: string; value?: unknown; reason?: unknown }): {
  text: string;
  isError: boolean;
} {
  switch (output.type) {
    case 'text':
      return { text: String(output.value), isError: false };
    case 'error-text':
      return { text: String(output.value), isError: true };
    case 'json':
      return { text: JSON.stringify(output.value), isError: false };
    case 'error-json':
      return { text: JSON.stringify(output.value), isError: true };
    case 'execution-denied':
      return { text: String(output.reason ?? 'The tool call was denied.'), isError: true };
    default: {
      const parts = Array.isArray(output.value) ? output.value : [];
      const text = parts
        .map((part: { type?: string; text?: unknown }) => (part.type === 'text' ? String(part.text) : ''))
        .join('');
      return { text, isError: false };
    }
  }
}

const signatureOf = (options: unknown): { signature?: string; redacted?: string } => {
  const anthropic = (options as { anthropic?: Record<string, unknown> } | undefined)?.anthropic;
  return {
    ...(typeof anthropic?.signature === 'string' ? { signature: anthropic.signature } : {}),
    ...(typeof anthropic?.redactedData === 'string' ? { redacted: anthropic.redactedData } : {}),
  };
};

/** An AI SDK prompt (v4 or v3) as normalized messages. */
export function fromPrompt(prompt: AISDKCallOptions['prompt']): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const [index, message] of (prompt as LanguageModelV4Message[]).entries()) {
    const path = `prompt[${index}]`;
    switch (message.role) {
      case 'system':
        messages.push({ role: 'system', content: message.content });
        break;
      case 'user':
        messages.push({
          role: 'user',
          content: message.content.map((part, at) =>
            userPart(part as unknown as { type: string } & Record<string, unknown>, `${path}.content[${at}]`),
          ),
        });
        break;
      case 'assistant': {
        const text: TextPart[] = [];
        const toolCalls: ToolCall[] = [];
        const reasoning: ReasoningBlock[] = [];
        const results: ChatMessage[] = [];
        for (const part of message.content) {
          if (part.type === 'text') text.push({ type: 'text', text: part.text });
          else if (part.type === 'reasoning') {
            const { signature, redacted } = signatureOf(part.providerOptions);
            if (redacted !== undefined) reasoning.push({ type: 'redacted-reasoning', data: redacted });
            else reasoning.push({ type: 'reasoning', text: part.text, ...(signature ? { signature } : {}) });
          } else if (part.type === 'tool-call' && part.providerExecuted !== true) {
            toolCalls.push({
              id: part.toolCallId,
              name: part.toolName,
              arguments: typeof part.input === 'string' ? part.input : JSON.stringify(part.input),
            });
          } else if (part.type === 'tool-result') {
            const { text: resultText, isError } = outputText(part.output);
            results.push({
              role: 'tool',
              toolCallId: part.toolCallId,
              content: resultText,
              ...(isError ? { isError } : {}),
            });
          }
        }
        messages.push({
          role: 'assistant',
          content: text.length === 0 ? null : text.map((part) => part.text).join(''),
          ...(toolCalls.length > 0 ? { toolCalls } : {}),
          ...(reasoning.length > 0 ? { reasoning } : {}),
        });
        messages.push(...results);
        break;
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type !== 'tool-result') continue;
          const { text, isError } = outputText(part.output);
          messages.push({
            role: 'tool',
            toolCallId: part.toolCallId,
            content: text,
            ...(isError ? { isError } : {}),
          });
        }
        break;
    }
  }
  return messages;
}

function fromToolChoice(choice: NonNullable<LanguageModelV4CallOptions['toolChoice']>): ToolChoice {
  return choice.type === 'tool' ? { type: 'tool', name: choice.toolName } : choice.type;
}

/** AI SDK call options (v4 or v3) as a normalized request for `model`. `providerOptions.bulwark` is left out. */
export function fromCallOptions(model: string, options: AISDKCallOptions): ChatRequest {
  const request: ChatRequest = { model, messages: fromPrompt(options.prompt) };
  if (options.maxOutputTokens !== undefined) request.maxTokens = options.maxOutputTokens;
  if (options.temperature !== undefined) request.temperature = options.temperature;
  if (options.topP !== undefined) request.topP = options.topP;
  if (options.stopSequences !== undefined && options.stopSequences.length > 0)
    request.stop = options.stopSequences;
  if (options.seed !== undefined) request.seed = options.seed;
  const tools = (options.tools ?? []).filter((tool) => tool.type === 'function');
  if (tools.length > 0) {
    request.tools = tools.map((tool) => ({
      name: tool.name,
      parameters: tool.inputSchema as Record<string, unknown>,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      ...('strict' in tool && tool.strict !== undefined ? { strict: tool.strict } : {}),
    }));
  }
  if (options.toolChoice !== undefined && tools.length > 0)
    request.toolChoice = fromToolChoice(options.toolChoice);
  const format = options.responseFormat;
  if (format?.type === 'json') {
    const responseFormat: ResponseFormat =
      format.schema === undefined
        ? { type: 'json' }
        : {
            type: 'json_schema',
            name: format.name ?? 'response',
            schema: format.schema as Record<string, unknown>,
            ...(format.description === undefined ? {} : { description: format.description }),
          };
    request.responseFormat = responseFormat;
  }
  const reasoning = (options as LanguageModelV4CallOptions).reasoning;
  if (reasoning !== undefined && reasoning !== 'provider-default' && reasoning !== 'none') {
    request.reasoning = { effort: reasoning === 'xhigh' || reasoning === 'max' ? 'high' : reasoning };
  }
  const { bulwark: _ours, ...others } = (options.providerOptions ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  if (Object.keys(others).length > 0) request.providerOptions = others;
  return request;
}
