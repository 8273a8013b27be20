import type { ServerResponse } from 'node:http';
import {
  type Bulwark,
  type BulwarkError,
  type CallOptions,
  InvalidRequestError,
  type StreamEvent,
  toBulwarkError,
} from '@bulwark/core';
import type { TranslationMode } from '../formats/translation-policy.js';
import { httpStatusFor } from '../http/error-status.js';
import { safeHeaderValue } from '../http/header-value.js';
import { sendJsonAnswer } from './json-route.js';
import { createResponsesEncoder, parseResponsesRequest, responsesAnswer } from './responses-format.js';

/** Longest `x-bulwark-dropped` value; a longer list ends with `,...`. */
const maxDroppedHeader = 2048;

function droppedHeader(dropped: readonly string[]): Record<string, string> {
  if (dropped.length === 0) return {};
  let value = dropped.join(',');
  if (value.length > maxDroppedHeader)
    value = `${value.slice(0, maxDroppedHeader - 4).replace(/,[^,]*$/, '')},...`;
  return { 'x-bulwark-dropped': safeHeaderValue(value) };
}

function waitForDrain(response: ServerResponse, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** What the Responses route needs of the request handler. */
export interface ResponsesRouteOptions {
  bulwark: Bulwark;
  defaultCacheStatus: 'miss' | 'bypass';
  /** The translation mode of a model (strict: a field no target can carry is a 400 naming it). */
  translation?: ((model: string) => TranslationMode) | undefined;
  /** Logs a stream that broke after output was sent. */
  onBrokenStream?: (error: BulwarkError) => void;
}

/**
 * `POST /v1/responses`, translated: the Responses request becomes a normalized chat call through the same
 * pipeline as chat (retry/fallback before output, breaker, limiter, timeouts, cache, budget, usage) to
 * any target, and the answer comes back as a Responses object or its SSE event sequence. Fields no
 * Chat-Completions or Messages target can carry are named in `x-bulwark-dropped`, or refused with a 400
 * naming the first under `translation: strict`.
 */
export async function serveResponses(
  options: ResponsesRouteOptions,
  json: Record<string, unknown>,
  callOptions: CallOptions,
  response: ServerResponse,
): Promise<{ status: number; model: string }> {
  const { bulwark, defaultCacheStatus } = options;
  const parsed = parseResponsesRequest(json);
  const model = parsed.request.model;
  const [firstDropped] = parsed.dropped;
  if (firstDropped !== undefined && options.translation?.(model) === 'strict') {
    throw new InvalidRequestError({
      field: firstDropped,
      local: true,
      message: `Invalid request: ${firstDropped} cannot be carried to a Chat Completions or Messages target and translation is strict`,
    });
  }
  const createdAt = Math.floor(Date.now() / 1000);
  const dropped = droppedHeader(parsed.dropped);
  if (!parsed.stream) {
    const answer = await bulwark.chat(parsed.request, callOptions);
    sendJsonAnswer(response, 200, responsesAnswer(answer, parsed.echo, createdAt), {
      'x-bulwark-target': safeHeaderValue(`${answer.provider}/${answer.model}`),
      'x-bulwark-attempts': String(answer.attempts.filter((attempt) => !attempt.local).length),
      'x-bulwark-cache': answer.cache ?? defaultCacheStatus,
      ...dropped,
    });
    return { status: 200, model };
  }
  const stream = bulwark.stream(parsed.request, callOptions);
  const encoder = createResponsesEncoder(parsed.echo, createdAt);
  let headersSent = false;
  const open = (event: StreamEvent): void => {
    const hit = event.type === 'start' && event.cache === 'hit';
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...(event.type === 'start'
        ? { 'x-bulwark-target': safeHeaderValue(`${event.provider}/${event.model}`) }
        : {}),
      'x-bulwark-attempts': String(hit ? 0 : stream.trail.filter((attempt) => !attempt.local).length + 1),
      'x-bulwark-cache': (event.type === 'start' ? event.cache : undefined) ?? defaultCacheStatus,
      ...dropped,
    });
    headersSent = true;
  };
  try {
    for await (const event of stream) {
      if (!headersSent) open(event);
      const text = encoder.encode(event);
      if (text !== '' && !response.write(text)) await waitForDrain(response, callOptions.signal);
      if (response.destroyed) break;
    }
    if (callOptions.signal?.aborted) throw callOptions.signal.reason;
    if (!headersSent) open({ type: 'finish', finishReason: 'stop' });
    response.end(encoder.end());
    return { status: 200, model };
  } catch (thrown) {
    // Before any output the error is answered as JSON (and retried/fallen back below); after it, the
    // stream ends with response.failed and never response.completed.
    if (!headersSent) throw thrown;
    const error = toBulwarkError(thrown);
    options.onBrokenStream?.(error);
    if (!response.destroyed) response.end(encoder.fail(error));
    return { status: httpStatusFor(error), model };
  }
}
