import type { IncomingMessage, ServerResponse } from 'node:http';
import { maxTtlSeconds } from '@bulwark/cache';
import {
  AuthenticationError,
  type Bulwark,
  type BulwarkError,
  type CallOptions,
  type ChatResponse,
  type Clock,
  InvalidRequestError,
  type Logger,
  NotFoundError,
  PermissionDeniedError,
  type StreamEvent,
  toBulwarkError,
} from '@bulwark/core';
import type { DashboardRoutes } from '../dashboard/dashboard-routes.js';
import { anthropicFormat } from '../formats/anthropic-format.js';
import type { ClientFormat, ParsedClientRequest } from '../formats/client-format.js';
import { openAIFormat } from '../formats/openai-format.js';
import {
  checkStrictTranslation,
  droppedHeader,
  type TranslationMode,
} from '../formats/translation-policy.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ReadinessReport } from '../plan/readiness.js';
import { costHeaders } from '../request-log/cost-headers.js';
import type { RequestLog, RequestRecord } from '../request-log/request-log.js';
import { serveCountTokens } from '../routes/count-tokens.js';
import { serveEmbeddings } from '../routes/embeddings.js';
import { type JsonRouteHost, runJsonRoute } from '../routes/json-route.js';
import type { ResponsePinStore } from '../routes/response-pins.js';
import { serveResponses } from '../routes/responses.js';
import { type ApiKeyChecker, authorizeApiCall, type PriorityRange, priorityFor } from './api-keys.js';
import { createBrowserGuard } from './browser-guard.js';
import { httpStatusFor } from './error-status.js';
import { forwardableHeaders, passesThrough, wireFormatOf } from './forward-headers.js';
import { safeHeaderValue } from './header-value.js';
import { readJsonBody } from './read-body.js';

export interface RequestHandlerOptions {
  bulwark: Bulwark;
  logger: Logger;
  metrics?: GatewayMetrics | undefined;
  auth?: ApiKeyChecker | undefined;
  /** Browser origins allowed to call the gateway (`server.cors.origins`); see `createBrowserGuard`. */
  corsOrigins?: readonly string[] | undefined;
  bodyLimit: number;
  /** Most time without a body byte (ms; 0 off): a silent client gets 408 and its connection closed. */
  bodyIdleTimeoutMs?: number;
  /** Most time to receive a whole body (ms; 0 off), from the moment its headers arrived. */
  requestTimeoutMs?: number;
  /** Timers of the body read. Default the system clock. */
  clock?: Clock;
  /** True when a cache middleware runs (an absent cache status then means `miss`, not `bypass`). */
  caching: boolean;
  /** One JSON line per chat request (`log.requests`); see `createRequestLog`. */
  requestLog?: RequestLog | undefined;
  /** The live dashboard's routes (`GET /`, `/dashboard`, `/dashboard/events`); see `createDashboardRoutes`. */
  dashboard?: DashboardRoutes | undefined;
  /** The translation mode of a requested model (its alias's, else the top-level one). Default lenient. */
  translation?: (model: string) => TranslationMode;
  /** Where `/v1/responses` remembers the target of each response id (`responses.pinning`). Default in memory. */
  responsePins?: ResponsePinStore | undefined;
  /** Readiness: resolves true when every dependency (Redis) answers. */
  /** The plugins' readiness: `/readyz` answers 200 when every plugin with a `ready()` is ready, else 503 with the reasons. */
  ready: () => Promise<ReadinessReport>;
  /** True once shutdown began: new keep-alive requests are told to close their connection. */
  isDraining: () => boolean;
  /**
   * Called when a call starts and ends (in-flight tracking for the drain). On start, `cut` ends the call
   * with `error` like any failed call (a stream gets an error event and no terminator): the drain
   * deadline uses it.
   */
  track: (response: ServerResponse, active: boolean, cut?: (error: BulwarkError) => void) => void;
}

const jsonHeaders = { 'content-type': 'application/json' };
const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...jsonHeaders,
    ...headers,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Sends a passthrough answer as the upstream sent it, with its relayed headers and the `x-bulwark-*` ones. */
function sendWire(response: ServerResponse, answer: ChatResponse, defaultCacheStatus: string): void {
  const wire = answer.wire!;
  const body = wire.body ?? '';
  if (response.headersSent || response.destroyed) return;
  response.writeHead(wire.status, {
    ...jsonHeaders,
    ...wire.headers,
    'x-bulwark-target': safeHeaderValue(`${answer.provider}/${answer.model}`),
    'x-bulwark-attempts': String(countAttempts(answer.attempts)),
    'x-bulwark-cache': answer.cache ?? defaultCacheStatus,
    ...costHeaders(answer),
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function errorHeaders(error: BulwarkError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.ceil(error.retryAfterMs));
  }
  if (error.attempts) headers['x-bulwark-attempts'] = String(countAttempts(error.attempts));
  return headers;
}

function countAttempts(trail: readonly { local?: boolean }[]): number {
  let count = 0;
  for (const record of trail) if (!record.local) count += 1;
  return count;
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

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A header value as an error message shows it: at most 40 characters, in JSON quotes. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * Reads the `x-bulwark-*` request headers into call options; a bad value is a 400 naming the header.
 * Numbers are plain decimal digits (no `0x`, `1e3` or blanks) within their documented range.
 */
function callOptionsFrom(
  request: IncomingMessage,
  tenant: string | undefined,
  signal: AbortSignal,
  priorityRange?: PriorityRange,
): CallOptions {
  const options: CallOptions = { signal, metadata: tenant === undefined ? {} : { tenant } };
  const cache = headerValue(request.headers['x-bulwark-cache']);
  const ttl = headerValue(request.headers['x-bulwark-cache-ttl']);
  if (cache !== undefined || ttl !== undefined) {
    options.cache = {};
    if (cache === 'no-cache') options.cache.noCache = true;
    else if (cache === 'no-store') options.cache.noStore = true;
    else if (cache !== undefined)
      throw new InvalidRequestError({
        field: 'x-bulwark-cache',
        message: `Invalid header x-bulwark-cache: expected "no-cache" or "no-store" (got ${quoted(cache)})`,
      });
    if (ttl !== undefined) {
      const seconds = /^\d{1,12}$/.test(ttl) ? Number(ttl) : Number.NaN;
      if (!(seconds >= 1 && seconds <= maxTtlSeconds))
        throw new InvalidRequestError({
          field: 'x-bulwark-cache-ttl',
          message: `Invalid header x-bulwark-cache-ttl: expected a whole number of seconds from 1 to ${maxTtlSeconds} (365 days) (got ${quoted(ttl)})`,
        });
      options.cache.ttlSeconds = seconds;
    }
  }
  // A keyed caller stays within its key's range (default: it may yield, not jump the queue).
  const priority = priorityFor(headerValue(request.headers['x-bulwark-priority']), priorityRange);
  if (priority !== undefined) options.metadata!.priority = priority;
  return options;
}

/**
 * The gateway's request listener, on `node:http` directly: routes by method and path, checks the
 * key, reads the body up to the limit, translates the client's format to Bulwark's and back, and
 * streams SSE chunk by chunk as events arrive.
 */
export function createRequestHandler(
  options: RequestHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { bulwark, logger, metrics, auth, bodyLimit } = options;
  const defaultCacheStatus = options.caching ? 'miss' : 'bypass';

  const fail = (format: ClientFormat, response: ServerResponse, thrown: unknown): number => {
    const error = toBulwarkError(thrown);
    const status = httpStatusFor(error);
    if (status >= 500)
      logger.warn('call failed', {
        status,
        code: error.code,
        message: error.message,
        provider: error.provider,
      });
    const headers = errorHeaders(error);
    // The rest of an oversized or stalled body is not worth reading: close the connection after the answer.
    if (status === 413 || status === 408) headers.connection = 'close';
    sendJson(response, status, format.errorBody(error, status), headers);
    return status;
  };
  const routeHost: JsonRouteHost = { ...options, fail, callOptionsFrom };

  async function handleChat(
    format: ClientFormat,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const started = performance.now();
    let status = 200;
    let model = 'unknown';
    let parsed: ParsedClientRequest | undefined;
    const controller = new AbortController();
    const onClose = (): void => {
      if (!response.writableFinished) controller.abort(new Error('client disconnected'));
    };
    response.once('close', onClose);
    let cutBy: BulwarkError | undefined;
    options.track(response, true, (error) => {
      cutBy ??= error;
      controller.abort(error);
    });
    metrics?.requestStarted();
    if (options.isDraining()) response.setHeader('connection', 'close');
    const logged = options.requestLog?.begin(
      format.name === 'openai' ? '/v1/chat/completions' : '/v1/messages',
      format.name,
    );
    try {
      const { tenant, priorityRange, allowed } = authorizeApiCall(
        auth,
        request,
        format.name === 'openai' ? '/v1/chat/completions' : '/v1/messages',
      );
      if (logged) logged.tenant = tenant;
      const json = await readJsonBody(request, {
        limit: bodyLimit,
        idleTimeoutMs: options.bodyIdleTimeoutMs ?? 0,
        totalTimeoutMs: options.requestTimeoutMs ?? 0,
        ...(options.clock ? { clock: options.clock } : {}),
        signal: controller.signal,
      });
      parsed = format.parse(json);
      model = parsed.request.model;
      if (allowed && !allowed(model, bulwark))
        throw new PermissionDeniedError({
          local: true,
          message: `This key may not use model ${quoted(model)}`,
        });
      checkStrictTranslation(bulwark, format, parsed, options.translation?.(model) ?? 'lenient');
      const callOptions = callOptionsFrom(request, tenant, controller.signal, priorityRange);
      if (logged) {
        logged.alias = model;
        logged.stream = parsed.stream;
        callOptions.callId = logged.id;
      }
      // Same-format targets get the body as sent (only model replaced); the others get the translation.
      const wireFormat = wireFormatOf(format);
      if (passesThrough(bulwark, model, wireFormat)) {
        callOptions.wire = {
          format: wireFormat,
          body: json as Record<string, unknown>,
          headers: forwardableHeaders(request.headers),
        };
      }
      if (parsed.stream) {
        status = await streamChat(format, parsed, callOptions, response, started, () => cutBy, logged);
      } else {
        const answer = await bulwark.chat(parsed.request, callOptions);
        if (logged) {
          logged.answer = answer;
          logged.cache = answer.cache ?? defaultCacheStatus;
          logged.firstToken();
        }
        // A passthrough answer goes back as the upstream sent it, read whole before the first byte.
        if (answer.wire?.body !== undefined) sendWire(response, answer, defaultCacheStatus);
        else
          sendJson(response, 200, format.response(answer), {
            'x-bulwark-target': safeHeaderValue(`${answer.provider}/${answer.model}`),
            'x-bulwark-attempts': String(countAttempts(answer.attempts)),
            'x-bulwark-cache': answer.cache ?? defaultCacheStatus,
            ...costHeaders(answer),
            ...droppedHeader(bulwark, format, parsed, answer.provider),
          });
      }
    } catch (thrown) {
      if (logged) logged.error = toBulwarkError(cutBy ?? thrown);
      if (cutBy) status = fail(format, response, cutBy);
      else if (controller.signal.aborted) status = 499;
      // A provider's mapping names normalized fields; the caller sent wire ones.
      else status = fail(format, response, parsed?.wireError?.(thrown) ?? thrown);
    } finally {
      response.off('close', onClose);
      logged?.end(status);
      options.track(response, false);
      metrics?.requestEnded();
      metrics?.observeRequest(
        format.name,
        model,
        status,
        parsed?.stream ?? false,
        (performance.now() - started) / 1000,
      );
    }
  }

  async function streamChat(
    format: ClientFormat,
    parsed: ParsedClientRequest,
    callOptions: CallOptions,
    response: ServerResponse,
    started: number,
    cutBy: () => BulwarkError | undefined,
    logged?: RequestRecord,
  ): Promise<number> {
    const stream = bulwark.stream(parsed.request, callOptions);
    if (logged) logged.trail = stream.trail;
    const encoder = format.streamEncoder(parsed);
    let headersSent = false;
    // The upstream's own frames (a same-format passthrough) are written as sent, not encoded.
    let raw = false;
    const openStream = (event: StreamEvent): void => {
      const headers: Record<string, string> = { ...sseHeaders };
      const hit = event.type === 'start' && event.cache === 'hit';
      if (event.type === 'start') {
        headers['x-bulwark-target'] = safeHeaderValue(`${event.provider}/${event.model}`);
        Object.assign(headers, droppedHeader(bulwark, format, parsed, event.provider));
      }
      if (event.type === 'start' && event.wire) {
        raw = true;
        Object.assign(headers, event.wire.headers);
      }
      headers['x-bulwark-attempts'] = String(hit ? 0 : countAttempts(stream.trail) + 1);
      headers['x-bulwark-cache'] = (event.type === 'start' ? event.cache : undefined) ?? defaultCacheStatus;
      response.writeHead(200, headers);
      headersSent = true;
      if (logged) {
        logged.firstToken();
        logged.cache = headers['x-bulwark-cache'];
        logged.passthrough = raw;
        if (event.type === 'start') logged.target = `${event.provider}/${event.model}`;
      }
      metrics?.observeFirstToken(format.name, (performance.now() - started) / 1000);
    };
    try {
      for await (const event of stream) {
        if (!headersSent) openStream(event);
        const text = raw ? (event.type === 'wire' ? event.data : '') : encoder.encode(event);
        if (text !== '' && !response.write(text)) await waitForDrain(response, callOptions.signal);
        if (response.destroyed || cutBy()) break;
      }
      // A cut call ends like any failed one, whether or not the provider's stream noticed the abort.
      const cut = cutBy();
      if (cut) throw cut;
      if (!headersSent) openStream({ type: 'finish', finishReason: 'stop' });
      response.end(raw ? undefined : encoder.end());
      return 200;
    } catch (thrown) {
      const cut = cutBy();
      if (callOptions.signal?.aborted && !cut) return 499;
      if (logged) logged.error = toBulwarkError(cut ?? thrown);
      if (!headersSent) return fail(format, response, cut ?? parsed.wireError?.(thrown) ?? thrown);
      const error = toBulwarkError(cut ?? thrown);
      const status = httpStatusFor(error);
      if (logged) logged.error = error;
      logger.warn('stream broke after output was sent', {
        code: error.code,
        message: error.message,
        provider: error.provider,
      });
      response.end(encoder.fail(error, status));
      return status;
    }
  }

  async function handleModels(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const identity = auth?.identify(request.headers);
    if (auth && !identity?.roles.has('api')) {
      const format = request.headers['anthropic-version'] ? anthropicFormat : openAIFormat;
      fail(format, response, new AuthenticationError({ local: true, message: 'Invalid or missing API key' }));
      return;
    }
    const created = Math.floor(Date.now() / 1000);
    // A key with `models` sees only the aliases it may call.
    const allowed = identity?.models;
    const aliases = allowed ? bulwark.aliases.filter((alias) => allowed(alias, bulwark)) : bulwark.aliases;
    if (request.headers['anthropic-version']) {
      const data = aliases.map((id) => ({
        type: 'model',
        id,
        display_name: id,
        created_at: new Date(created * 1000).toISOString(),
      }));
      sendJson(response, 200, {
        data,
        has_more: false,
        first_id: aliases[0] ?? null,
        last_id: aliases.at(-1) ?? null,
      });
      return;
    }
    sendJson(response, 200, {
      object: 'list',
      data: aliases.map((id) => ({ id, object: 'model', created, owned_by: 'bulwark' })),
    });
  }

  async function handleMetrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (auth) {
      // Tenant names and per-tenant spend are not for everyone: with auth on, a `metrics` key is needed.
      const identity = auth.identify(request.headers);
      if (!identity?.roles.has('metrics')) {
        const error = identity
          ? new PermissionDeniedError({
              local: true,
              message: 'This key may not read /metrics: its roles do not include "metrics"',
            })
          : new AuthenticationError({
              local: true,
              message:
                'Invalid or missing API key: /metrics needs a key with the "metrics" role ("Authorization: Bearer <key>")',
            });
        fail(openAIFormat, response, error);
        return;
      }
    }
    if (!metrics) {
      sendJson(response, 404, { error: { message: 'metrics are disabled', type: 'not_found_error' } });
      return;
    }
    const text = await metrics.render();
    response.writeHead(200, {
      'content-type': metrics.contentType,
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  async function handleReady(response: ServerResponse): Promise<void> {
    if (options.isDraining()) {
      sendJson(response, 503, { status: 'draining' });
      return;
    }
    const report = await options.ready();
    sendJson(response, report.ready ? 200 : 503, {
      status: report.ready ? 'ready' : 'unavailable',
      checks: report.checks,
    });
  }

  const browserGuard = createBrowserGuard({ origins: options.corsOrigins ?? [], auth: auth !== undefined });

  return function handle(request, response) {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = request.method;
    const refusal = browserGuard(request, response);
    if (refusal === 'answered') return;
    if (refusal) {
      request.resume();
      const refusedIn =
        request.headers['anthropic-version'] || path === '/v1/messages' ? anthropicFormat : openAIFormat;
      return sendJson(response, refusal.status, refusedIn.errorBody(refusal.error, refusal.status));
    }
    if (method === 'POST') {
      if (path === '/v1/chat/completions') return void handleChat(openAIFormat, request, response);
      if (path === '/v1/messages') return void handleChat(anthropicFormat, request, response);
      if (path === '/v1/embeddings')
        return void runJsonRoute(routeHost, openAIFormat, path, request, response, (json, call, answer) =>
          serveEmbeddings(bulwark, json, call, answer, defaultCacheStatus),
        );
      if (path === '/v1/messages/count_tokens')
        return void runJsonRoute(routeHost, anthropicFormat, path, request, response, (json, call, answer) =>
          serveCountTokens(bulwark, json, call, answer, request),
        );
      if (path === '/v1/responses')
        return void runJsonRoute(routeHost, openAIFormat, path, request, response, (json, call, answer) =>
          serveResponses(
            {
              bulwark,
              defaultCacheStatus,
              translation: options.translation,
              pins: options.responsePins,
              onBrokenStream: (error) =>
                logger.warn('stream broke after output was sent', {
                  code: error.code,
                  message: error.message,
                  provider: error.provider,
                }),
            },
            json,
            call,
            answer,
            request,
          ),
        );
    } else if (method === 'GET' || method === 'HEAD') {
      if (options.dashboard?.(request, response, path)) return;
      if (path === '/healthz') return sendJson(response, 200, { status: 'ok' });
      if (path === '/readyz') return void handleReady(response);
      if (path === '/metrics')
        return void handleMetrics(request, response).catch((error) => fail(openAIFormat, response, error));
      if (path === '/v1/models') return void handleModels(request, response);
    }
    request.resume();
    const format =
      request.headers['anthropic-version'] || path === '/v1/messages' ? anthropicFormat : openAIFormat;
    const known =
      path === '/v1/chat/completions' ||
      path === '/v1/messages' ||
      path === '/v1/embeddings' ||
      path === '/v1/messages/count_tokens' ||
      path === '/v1/responses' ||
      path === '/v1/models' ||
      path === '/healthz' ||
      path === '/readyz' ||
      path === '/metrics';
    const error = known
      ? new InvalidRequestError({ message: `Method ${method} is not allowed on ${path}` })
      : new NotFoundError({
          message: `No route ${method} ${path}. Routes: POST /v1/chat/completions, POST /v1/messages, GET /v1/models, GET /healthz, GET /readyz, GET /metrics`,
        });
    const status = known ? 405 : 404;
    sendJson(
      response,
      status,
      format.errorBody(error, status),
      known ? { allow: path.startsWith('/v1/') && path !== '/v1/models' ? 'POST' : 'GET' } : undefined,
    );
  };
}
