import { randomBytes } from 'node:crypto';
import type { FakeToolCall, FakeUsage, ReplyBehavior } from './types.js';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random base-62 id of `length` characters, as both providers use in their ids. */
export function randomId(length: number): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % 62];
  return id;
}

/** The answer of a `reply` behavior with every default filled in. */
export interface ResolvedReply {
  text: string;
  toolCalls: Array<Required<FakeToolCall>>;
  finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  usage: Required<FakeUsage>;
}

/** About 4 characters per token, at least 1 for non-empty text. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

/** Text of a message `content`: a string, or the text of OpenAI/Anthropic content parts and tool results. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    const record = part as Record<string, unknown>;
    if (typeof record.text === 'string') texts.push(record.text);
    else if (record.type === 'tool_result') texts.push(contentText(record.content));
  }
  return texts.join('');
}

/** Text of the last user or tool message: what the default reply echoes. */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index] as Record<string, unknown> | undefined;
    if (message && (message.role === 'user' || message.role === 'tool')) return contentText(message.content);
  }
  return '';
}

/** All prompt text of a request (system and messages), for the token estimate. */
export function promptText(body: Record<string, unknown>): string {
  const parts: string[] = [];
  if (body.system !== undefined) parts.push(contentText(body.system));
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      const record = message as Record<string, unknown> | undefined;
      if (record) parts.push(contentText(record.content));
    }
  }
  return parts.join('\n');
}

export function resolveReply(
  behavior: ReplyBehavior,
  body: Record<string, unknown>,
  toolIdPrefix: () => string,
): ResolvedReply {
  const text = behavior.text ?? (behavior.toolCalls?.length ? '' : `echo: ${lastUserText(body.messages)}`);
  const toolCalls = (behavior.toolCalls ?? []).map((call) => ({
    id: call.id ?? toolIdPrefix(),
    name: call.name,
    arguments: call.arguments,
  }));
  const outputText = text + toolCalls.map((call) => call.name + call.arguments).join('');
  const usage = behavior.usage ?? {
    inputTokens: Math.max(1, estimateTokens(promptText(body))),
    outputTokens: Math.max(1, estimateTokens(outputText)),
  };
  return {
    text,
    toolCalls,
    finishReason: behavior.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: { cachedInputTokens: 0, ...usage },
  };
}

/** Splits text into word-sized deltas that join back to it exactly (`"a b"` → `["a", " b"]`). */
export function splitText(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? (text === '' ? [] : [text]);
}

/** Splits tool-call arguments into pieces of `size` characters, as providers stream them. */
export function splitArguments(text: string, size = 8): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += size) pieces.push(text.slice(index, index + size));
  return pieces;
}
