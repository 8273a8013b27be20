import { type BulwarkError, ConnectionError, type RateLimitInfo } from '@bulwark/core';
import { getHeader, type HeaderSource } from './headers.js';
import { errorFromHttpResponse } from './http-errors.js';
import { isRecord } from './response-helpers.js';
import type { AnswerMeta, SdkCallOptions } from './sdk-caller.js';
import { abortReason } from './sdk-errors.js';

/** Options of {@link postJson}. */
export interface PostJsonOptions {
  url: string;
  body: unknown;
  headers?: Record<string, string>;
  /** The transport. Default the global `fetch` (pass a `createNodeFetch()` for keep-alive on node:http). */
  fetch?: typeof fetch;
  provider: string;
  model: string;
  /** Reads the API's rate-limit headers (reported as `ratelimit:headers` and kept for the answer). */
  parseRateLimit?: (headers: HeaderSource) => RateLimitInfo | undefined;
  /** The header with the upstream's request id. Default `x-request-id`. */
  requestIdHeader?: string;
}

/** What failed and where, as a Bulwark error: an abort of the call's signal, else a connection failure. */
export function transportError(
  error: unknown,
  signal: AbortSignal,
  scope: { provider: string; model: string },
): BulwarkError {
  if (signal.aborted) return abortReason(signal, error);
  return new ConnectionError({ provider: scope.provider, model: scope.model, cause: error });
}

/** The body as text; a cut or an abort while reading becomes the matching Bulwark error. */
export async function readText(
  response: Response,
  signal: AbortSignal,
  scope: { provider: string; model: string },
): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw transportError(error, signal, scope);
  }
}

/**
 * POSTs a JSON body for a provider that speaks HTTP itself (no SDK): honours the call's signal, maps
 * connection failures, maps an error answer with {@link errorFromHttpResponse} (reading the usual
 * `{ error: { message, type, code } }` body), reports the rate-limit headers, and returns the answer
 * with its meta (rate limit, request id).
 */
export async function postJson(
  options: PostJsonOptions,
  call: SdkCallOptions,
): Promise<{ response: Response; meta: AnswerMeta & { status: number } }> {
  const { signal } = call;
  if (signal.aborted) throw abortReason(signal);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify(options.body),
      signal,
    });
  } catch (error) {
    throw transportError(error, signal, options);
  }
  const meta: AnswerMeta & { status: number } = {
    provider: options.provider,
    model: options.model,
    status: response.status,
  };
  const rateLimit = options.parseRateLimit?.(response.headers);
  if (rateLimit) {
    meta.rateLimit = rateLimit;
    if (call.events.has('ratelimit:headers')) {
      call.events.emit('ratelimit:headers', { provider: options.provider, model: options.model, rateLimit });
    }
  }
  const requestId = getHeader(response.headers, options.requestIdHeader ?? 'x-request-id');
  if (requestId !== undefined) meta.requestId = requestId;
  if (response.ok) return { response, meta };
  const text = await readText(response, signal, options);
  let detail: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && isRecord(parsed.error)) detail = parsed.error;
  } catch {
    // Not JSON: the raw text is the message.
  }
  const errorType = [detail.code, detail.type].filter((value) => typeof value === 'string').join(' ');
  throw errorFromHttpResponse({
    status: response.status,
    body: text,
    message: typeof detail.message === 'string' ? detail.message : text,
    errorType,
    headers: response.headers,
    provider: options.provider,
    model: options.model,
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/**
 * The `data:` payloads of a server-sent event stream, one per event, in order. A cut or an abort
 * while reading becomes the matching Bulwark error; the reader is released when the consumer stops.
 */
export async function* sseData(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  scope: { provider: string; model: string },
): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw transportError(error, signal, scope);
      }
      if (chunk.done) return;
      // Normalized after joining, so a CRLF split across two chunks is still one line end.
      buffer = (buffer + decoder.decode(chunk.value, { stream: true })).replace(/\r\n/g, '\n');
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data !== '') yield data;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
