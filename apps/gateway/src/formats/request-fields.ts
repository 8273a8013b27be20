import { type ChatRequest, InvalidRequestError, validateChatRequest } from '@bulwark/core';
import { describeValue } from './client-format.js';

/** Throws an `InvalidRequestError` that names the wire field, what was expected and what came. */
export function invalid(field: string, expected: string, value: unknown): never {
  throw new InvalidRequestError({
    field,
    message: `Invalid request: ${field} must be ${expected} (got ${describeValue(value)})`,
  });
}

/** Where a normalized message came from in the wire body. */
export interface MessageSource {
  /** Wire path of the message (`messages[2]`, `system`, `messages[3].content[0]` for a tool result). */
  path: string;
  /** Wire path of its content when not `<path>.content` (Anthropic's `system` is the content itself). */
  content?: string;
  /** Wire index, in `<content>`, of each normalized content part (Anthropic skips tool results). */
  parts?: number[];
  /** Wire index, in `<content>`, of each tool call (Anthropic's `tool_use` blocks). */
  toolCalls?: number[];
  /** Normalized indexes of `file` parts, whose fields `FieldRenames.file` renames. */
  files?: number[];
}

/** A normalized path prefix and its wire spelling (`$1`… from the pattern); the first match wins. */
export type FieldRename = readonly [pattern: RegExp, wire: string];

export interface FieldRenames {
  /** For paths outside `messages[i]`: `maxTokens` → `max_tokens`, `tools[0].parameters` → … */
  top: readonly FieldRename[];
  /** For the rest of a path after `messages[i]` (`.toolCallId` → `.tool_call_id`). */
  message: readonly FieldRename[];
  /** For the rest of a path after `messages[i]` inside a `file` part (tried before `message`). */
  file?: readonly FieldRename[];
}

/**
 * Renames the field of an `InvalidRequestError` raised on the normalized request (by core's
 * validation, or by a provider's request mapping during the call) to the client's wire name, in the
 * field and in the message. Only the prefix the format defines is renamed: what follows (a JSON
 * Schema property called `name`, say) is the client's own text and stays as sent. Anything else
 * comes back as it was.
 */
export function wireErrors(
  sources: readonly MessageSource[],
  renames: FieldRenames,
): (error: unknown) => unknown {
  return (error) => {
    if (!InvalidRequestError.isInstance(error) || !error.field) return error;
    const field = wireField(error.field, sources, renames);
    if (field === error.field) return error;
    const renamed = new InvalidRequestError({
      field,
      message: error.message.split(error.field).join(field),
      cause: error,
      local: error.local,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.provider === undefined ? {} : { provider: error.provider }),
      ...(error.model === undefined ? {} : { model: error.model }),
    });
    if (error.attempts) renamed.attempts = error.attempts;
    return renamed;
  };
}

/**
 * Runs core's request validation, throwing its error with the wire name of the field; returns the
 * renamer (`wireErrors`) for errors the call raises later.
 */
export function validateNormalized(
  request: ChatRequest,
  sources: readonly MessageSource[],
  renames: FieldRenames,
): (error: unknown) => unknown {
  const rename = wireErrors(sources, renames);
  try {
    validateChatRequest(request);
  } catch (error) {
    throw rename(error);
  }
  return rename;
}

const messagePrefix = /^messages\[(\d+)\]/;
const contentIndex = /^\.content\[(\d+)\]/;
const toolCallIndex = /^\.toolCalls\[(\d+)\]/;

function rename(path: string, rules: readonly FieldRename[]): string {
  for (const [pattern, wire] of rules) {
    const match = pattern.exec(path);
    if (match) return match[0].replace(pattern, wire) + path.slice(match[0].length);
  }
  return path;
}

/** The wire name of a normalized field path, e.g. `messages[1].toolCalls[0].name` → `messages[1].tool_calls[0].function.name`. */
export function wireField(field: string, sources: readonly MessageSource[], renames: FieldRenames): string {
  const match = messagePrefix.exec(field);
  if (!match) return rename(field, renames.top);
  const source = sources[Number(match[1])];
  let rest = field.slice(match[0].length);
  if (!source) return match[0] + rename(rest, renames.message);
  const part = contentIndex.exec(rest);
  const fileRules = part && renames.file && source.files?.includes(Number(part[1])) ? renames.file : [];
  if (part && source.parts)
    rest = `.content[${source.parts[Number(part[1])] ?? part[1]}]${rest.slice(part[0].length)}`;
  const call = toolCallIndex.exec(rest);
  if (call && source.toolCalls)
    rest = `.content[${source.toolCalls[Number(call[1])] ?? call[1]}]${rest.slice(call[0].length)}`;
  rest = rename(rest, [...fileRules, ...renames.message]);
  if (source.content !== undefined && rest.startsWith('.content'))
    return source.content + rest.slice('.content'.length);
  return source.path + rest;
}
