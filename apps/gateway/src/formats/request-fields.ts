import { BulwarkError, type ChatRequest, InvalidRequestError, validateChatRequest } from '@bulwark/core';
import { describeValue } from './client-format.js';

/** Throws an `InvalidRequestError` that names the wire field, what was expected and what came. */
export function invalid(field: string, expected: string, value: unknown): never {
  throw new InvalidRequestError({
    field,
    message: `Invalid request: ${field} must be ${expected} (got ${describeValue(value)})`,
  });
}

/**
 * Runs core's request validation and renames the normalized field it names back to the client's
 * wire name: `messageSources[i]` is the wire path of normalized message i, `renames` maps the
 * normalized top-level names (`maxTokens` → `max_tokens`).
 */
export function validateNormalized(
  request: ChatRequest,
  messageSources: readonly string[],
  renames: Readonly<Record<string, string>>,
): void {
  try {
    validateChatRequest(request);
  } catch (error) {
    if (!BulwarkError.isInstance(error) || !InvalidRequestError.isInstance(error) || !error.field)
      throw error;
    const field = wireField(error.field, messageSources, renames);
    throw new InvalidRequestError({
      field,
      message: error.message.split(error.field).join(field),
      cause: error,
    });
  }
}

const messagePrefix = /^messages\[(\d+)\]/;
const segmentPattern = /[A-Za-z]+/g;

function wireField(
  field: string,
  messageSources: readonly string[],
  renames: Readonly<Record<string, string>>,
) {
  let rest = field;
  let prefix = '';
  const match = messagePrefix.exec(field);
  if (match) {
    prefix = messageSources[Number(match[1])] ?? match[0];
    rest = field.slice(match[0].length);
  }
  return prefix + rest.replace(segmentPattern, (segment) => renames[segment] ?? segment);
}
