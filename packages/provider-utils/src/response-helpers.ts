import { type ChatResponse, InvalidResponseError, redactSecrets, type StreamEvent } from '@bulwark/core';
import type { AnswerMeta } from './sdk-caller.js';

/** A plain object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Throws the `InvalidResponseError` of an answer that is not what the API promises, with the raw body
 * redacted and cut at 4 KiB.
 */
export function invalidResponse(
  meta: { provider: string; model: string; status?: number },
  reason: string,
  rawBody: string,
): never {
  throw new InvalidResponseError({
    message: `${meta.provider} returned an invalid response: ${reason}`,
    provider: meta.provider,
    model: meta.model,
    rawBody: redactSecrets(rawBody.length > 4096 ? `${rawBody.slice(0, 4096)}…` : rawBody),
    ...(meta.status === undefined ? {} : { status: meta.status }),
  });
}

/** The stream's `start` event: the upstream's id and model (the requested model when it sent none), rate limit and request id. */
export function startEvent(meta: AnswerMeta, id: unknown, model: unknown): StreamEvent {
  const start: StreamEvent = {
    type: 'start',
    id: typeof id === 'string' ? id : '',
    provider: meta.provider,
    model: typeof model === 'string' && model !== '' ? model : meta.model,
  };
  if (meta.rateLimit) start.rateLimit = meta.rateLimit;
  if (meta.requestId) start.requestId = meta.requestId;
  return start;
}

/** A normalized response from the parts of an answer, with its usage, rate limit and request id when known. */
export function chatResponse(
  meta: AnswerMeta,
  answer: Omit<ChatResponse, 'provider' | 'attempts' | 'usage' | 'rateLimit' | 'requestId'> &
    Pick<ChatResponse, 'usage'>,
): ChatResponse {
  const { usage, ...rest } = answer;
  const response: ChatResponse = { ...rest, provider: meta.provider, attempts: [] };
  if (usage) response.usage = usage;
  if (meta.rateLimit) response.rateLimit = meta.rateLimit;
  if (meta.requestId) response.requestId = meta.requestId;
  return response;
}
