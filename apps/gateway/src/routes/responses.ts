import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { forwardableHeaders } from '../http/forward-headers.js';
import { safeHeaderValue } from '../http/header-value.js';
import { sendJsonAnswer } from './json-route.js';
import { createMemoryResponsePinStore, type ResponsePinStore } from './response-pins.js';
import { createResponsesEncoder, parseResponsesRequest, responsesAnswer } from './responses-format.js';

const defaultPinsByGateway = new WeakMap<Bulwark, ResponsePinStore>();

/** The in-memory pin store of a handler created without one (one per Bulwark instance). */
function defaultPinsOf(bulwark: Bulwark): ResponsePinStore {
  let pins = defaultPinsByGateway.get(bulwark);
  if (!pins) {
    pins = createMemoryResponsePinStore();
    defaultPinsByGateway.set(bulwark, pins);
  }
  return pins;
}

/** The response id of a `response.created` SSE frame, else undefined. */
function createdResponseId(frame: string): string | undefined {
  if (!frame.includes('response.created')) return undefined;
  for (const line of frame.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try {
      const data = JSON.parse(line.slice(5)) as { type?: unknown; response?: { id?: unknown } };
      if (data.type === 'response.created' && typeof data.response?.id === 'string') return data.response.id;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** True when `provider` takes Responses API bodies as sent. */
function takesResponses(bulwark: Bulwark, provider: string): boolean {
  const instance = bulwark.providers.get(provider);
  return (
    instance?.passthrough?.format === 'openai-responses' ||
    (instance?.passthroughs ?? []).some((passthrough) => passthrough.format === 'openai-responses')
  );
}

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
  /**
   * Where the target of each response id is remembered (`responses.pinning`): in memory by default,
   * in Redis to share it between replicas.
   */
  pins?: ResponsePinStore | undefined;
}

/**
 * `POST /v1/responses`. To a target whose provider serves the Responses API (`responses: true`) the body
 * goes as sent (only `model` replaced) and the answer — JSON or every SSE event — comes back as sent; the
 * gateway remembers which target produced each response id and sends a request naming it in
 * `previous_response_id` to that target only. To any other target, translated: the Responses request becomes a normalized chat call through the same
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
  request?: IncomingMessage,
): Promise<{ status: number; model: string }> {
  const { bulwark, defaultCacheStatus } = options;
  const parsed = parseResponsesRequest(json);
  const model = parsed.request.model;
  // A request continuing a stored response goes to the target that holds it, and only there.
  const pins = options.pins ?? defaultPinsOf(bulwark);
  const pin = (id: string, provider: string, model: string): Promise<void> =>
    id === '' ? Promise.resolve() : pins.set(id, { provider, model });
  const previous = json.previous_response_id;
  const holder = typeof previous === 'string' && previous !== '' ? await pins.get(previous) : undefined;
  if (holder) {
    const named = `${holder.provider}/${holder.model}`;
    try {
      bulwark.resolve(named);
      parsed.request.model = named;
    } catch {
      // passThrough is off: the alias's targets are used as configured.
    }
  }
  const targets = bulwark.resolve(parsed.request.model).targets;
  const sameFormat = targets.some((target) => takesResponses(bulwark, target.provider));
  const translated = targets.some((target) => !takesResponses(bulwark, target.provider));
  if (sameFormat) {
    callOptions.wire = {
      format: 'openai-responses',
      body: json,
      headers: request ? forwardableHeaders(request.headers) : {},
    };
  }
  const [firstDropped] = parsed.dropped;
  if (firstDropped !== undefined && translated && options.translation?.(model) === 'strict') {
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
    const wire = answer.wire;
    if (wire?.body !== undefined) {
      // Written before the answer goes out: a follow-up naming the id may reach another replica at once.
      await pin(answer.id, answer.provider, answer.model);
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(wire.status, {
          'content-type': 'application/json',
          ...wire.headers,
          'x-bulwark-target': safeHeaderValue(`${answer.provider}/${answer.model}`),
          'x-bulwark-attempts': String(answer.attempts.filter((attempt) => !attempt.local).length),
          'x-bulwark-cache': answer.cache ?? defaultCacheStatus,
          'content-length': String(Buffer.byteLength(wire.body)),
        });
        response.end(wire.body);
      }
      return { status: 200, model };
    }
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
  // The upstream's own frames (a same-format passthrough) are written as sent, not encoded.
  let raw = false;
  let pinning: Promise<void> = Promise.resolve();
  // The upstream's response id is in its first frame (`response.created`); the start event's id is ours.
  let target: { provider: string; model: string } | undefined;
  const open = (event: StreamEvent): void => {
    const hit = event.type === 'start' && event.cache === 'hit';
    if (event.type === 'start' && event.wire) {
      raw = true;
      target = { provider: event.provider, model: event.model };
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...(event.type === 'start'
        ? { 'x-bulwark-target': safeHeaderValue(`${event.provider}/${event.model}`) }
        : {}),
      'x-bulwark-attempts': String(hit ? 0 : stream.trail.filter((attempt) => !attempt.local).length + 1),
      'x-bulwark-cache': (event.type === 'start' ? event.cache : undefined) ?? defaultCacheStatus,
      ...(raw ? (event.type === 'start' && event.wire ? event.wire.headers : {}) : dropped),
    });
    headersSent = true;
  };
  try {
    for await (const event of stream) {
      if (!headersSent) open(event);
      const text = raw ? (event.type === 'wire' ? event.data : '') : encoder.encode(event);
      if (target && event.type === 'wire') {
        const id = createdResponseId(event.data);
        if (id !== undefined) {
          pinning = pin(id, target.provider, target.model);
          target = undefined;
        }
      }
      if (text !== '' && !response.write(text)) await waitForDrain(response, callOptions.signal);
      if (response.destroyed) break;
    }
    if (callOptions.signal?.aborted) throw callOptions.signal.reason;
    if (!headersSent) open({ type: 'finish', finishReason: 'stop' });
    // The pin is written before the stream's last bytes, so the finished response can be continued anywhere.
    await pinning;
    response.end(raw ? undefined : encoder.end());
    return { status: 200, model };
  } catch (thrown) {
    // Before any output the error is answered as JSON (and retried/fallen back below); after it, the
    // stream ends with response.failed and never response.completed.
    if (!headersSent) throw thrown;
    const error = toBulwarkError(thrown);
    options.onBrokenStream?.(error);
    const failure = raw
      ? `event: error\ndata: ${JSON.stringify({ type: 'error', code: error.code, message: error.message, param: null })}\n\n`
      : encoder.fail(error);
    if (!response.destroyed) response.end(failure);
    return { status: httpStatusFor(error), model };
  }
}
