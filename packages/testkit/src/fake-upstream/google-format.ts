import { type ResolvedReply, randomId, splitText } from './reply-content.js';
import type { StatusBehavior } from './types.js';

/** The Gemini API path of a call: `/v1beta/models/{model}:generateContent` or `:streamGenerateContent`. */
const googlePath = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** The model and whether it streams, when `path` (without the query) is a Gemini generate call. */
export function googleCall(path: string): { model: string; stream: boolean } | undefined {
  const match = googlePath.exec(path);
  if (!match) return undefined;
  return { model: decodeURIComponent(match[1] as string), stream: match[2] === 'streamGenerateContent' };
}

export const googleResponseId = (): string => randomId(22);
export const googleRequestId = (): string => `goog-${randomId(20)}`;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  const texts: string[] = [];
  for (const part of parts) {
    if (!isRecord(part)) continue;
    if (typeof part.text === 'string') texts.push(part.text);
    else if (isRecord(part.functionResponse)) {
      const response = part.functionResponse.response;
      const content = isRecord(response) ? response.content : undefined;
      texts.push(typeof content === 'string' ? content : JSON.stringify(response ?? null));
    }
  }
  return texts.join('');
}

/**
 * A `generateContent` body in the chat-message shape the shared reply code reads: `systemInstruction`
 * as `system`, `contents` as messages (a turn of `functionResponse` parts as a `tool` message), and
 * `generationConfig.maxOutputTokens` as `max_tokens`.
 */
export function googleAsChat(body: Record<string, unknown>): Record<string, unknown> {
  const messages: Array<{ role: string; content: string }> = [];
  for (const content of Array.isArray(body.contents) ? body.contents : []) {
    if (!isRecord(content)) continue;
    const parts = Array.isArray(content.parts) ? content.parts : [];
    const isToolResult = parts.some((part) => isRecord(part) && isRecord(part.functionResponse));
    const role = isToolResult ? 'tool' : content.role === 'model' ? 'assistant' : 'user';
    messages.push({ role, content: partsText(parts) });
  }
  const chat: Record<string, unknown> = { messages };
  const system = isRecord(body.systemInstruction) ? partsText(body.systemInstruction.parts) : undefined;
  if (system) chat.system = system;
  const config = isRecord(body.generationConfig) ? body.generationConfig : undefined;
  if (typeof config?.maxOutputTokens === 'number') chat.max_tokens = config.maxOutputTokens;
  return chat;
}

/** The first problem the Gemini API would answer 400 for, if any. */
export function googleValidationProblem(body: unknown): string | undefined {
  if (!isRecord(body)) return 'Invalid JSON payload received.';
  if (!Array.isArray(body.contents) || body.contents.length === 0)
    return '* GenerateContentRequest.contents: contents is not specified';
  return undefined;
}

const finishReasons = {
  stop: 'STOP',
  length: 'MAX_TOKENS',
  tool_calls: 'STOP',
  content_filter: 'SAFETY',
} as const;

function usageMetadata(usage: ResolvedReply['usage']): Record<string, unknown> {
  return {
    promptTokenCount: usage.inputTokens,
    candidatesTokenCount: usage.outputTokens,
    totalTokenCount: usage.inputTokens + usage.outputTokens,
    ...(usage.cachedInputTokens > 0 ? { cachedContentTokenCount: usage.cachedInputTokens } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: usage.inputTokens }],
  };
}

function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function replyParts(reply: ResolvedReply): Array<Record<string, unknown>> {
  const parts: Array<Record<string, unknown>> = [];
  if (reply.text !== '' || reply.toolCalls.length === 0) parts.push({ text: reply.text });
  for (const call of reply.toolCalls) {
    parts.push({ functionCall: { name: call.name, args: parseArgs(call.arguments) } });
  }
  return parts;
}

/** A `GenerateContentResponse` (Gemini has no call ids: tool calls are `functionCall` parts). */
export function googleResponseBody(reply: ResolvedReply, responseId: string, model: string): string {
  return JSON.stringify(
    {
      candidates: [
        {
          content: { parts: replyParts(reply), role: 'model' },
          finishReason: finishReasons[reply.finishReason],
          index: 0,
        },
      ],
      usageMetadata: usageMetadata(reply.usage),
      modelVersion: model,
      responseId,
    },
    null,
    2,
  );
}

const frame = (data: unknown): string => `data: ${JSON.stringify(data)}\r\n\r\n`;

/**
 * The SSE frames of `streamGenerateContent?alt=sse`: one `GenerateContentResponse` per text piece, the
 * function calls whole in one chunk, the last chunk with the finish reason and the usage.
 */
export function googleStreamFrames(reply: ResolvedReply, responseId: string, model: string): string[] {
  const frames: string[] = [];
  const chunk = (parts: unknown[], last: boolean): Record<string, unknown> => ({
    candidates: [
      {
        content: { parts, role: 'model' },
        ...(last ? { finishReason: finishReasons[reply.finishReason] } : {}),
        index: 0,
      },
    ],
    usageMetadata: last
      ? usageMetadata(reply.usage)
      : { promptTokenCount: reply.usage.inputTokens, totalTokenCount: reply.usage.inputTokens },
    modelVersion: model,
    responseId,
  });
  const pieces = splitText(reply.text);
  const calls = reply.toolCalls.map((call) => ({
    functionCall: { name: call.name, args: parseArgs(call.arguments) },
  }));
  for (const [index, piece] of pieces.entries()) {
    const last = index === pieces.length - 1 && calls.length === 0;
    frames.push(frame(chunk([{ text: piece }], last)));
  }
  if (calls.length > 0) frames.push(frame(chunk(calls, true)));
  if (pieces.length === 0 && calls.length === 0) frames.push(frame(chunk([{ text: '' }], true)));
  return frames;
}

const statuses: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function defaultMessage(status: number, model: string, special: StatusBehavior['error']): string {
  if (special === 'context-length')
    return 'The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).';
  if (special === 'content-filter') return 'The request was blocked by the content filter (safety).';
  switch (status) {
    case 400:
      return 'Request contains an invalid argument.';
    case 401:
      return 'API key not valid. Please pass a valid API key.';
    case 403:
      return "Method doesn't allow unregistered callers (callers without established identity).";
    case 404:
      return `models/${model} is not found for API version v1beta, or is not supported for generateContent.`;
    case 429:
      return 'You exceeded your current quota, please check your plan and billing details.';
    case 503:
      return 'The model is overloaded. Please try again later.';
    default:
      return status >= 500 ? 'An internal error has occurred.' : `Request failed with status ${status}.`;
  }
}

/** Gemini's error body: `{"error":{"code":…,"message":…,"status":"RESOURCE_EXHAUSTED"}}`. */
export function googleErrorBody(
  status: number,
  model: string,
  special?: StatusBehavior['error'],
  override?: { type?: string; message?: string },
): string {
  return JSON.stringify(
    {
      error: {
        code: status,
        message: override?.message ?? defaultMessage(status, model, special),
        status: override?.type ?? statuses[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
      },
    },
    null,
    2,
  );
}

/** The error chunk Gemini sends when a stream fails after it started. */
export function googleStreamErrorFrame(error: { type: string; message: string }): string {
  const status = error.type === 'overloaded_error' ? 'UNAVAILABLE' : error.type;
  return frame({ error: { code: status === 'UNAVAILABLE' ? 503 : 500, message: error.message, status } });
}
