import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ConfigError } from '@bulwark/core';
import {
  anthropicErrorBody,
  anthropicMessageBody,
  anthropicMessageId,
  anthropicRequestId,
  anthropicStreamErrorFrame,
  anthropicStreamFrames,
  anthropicToolUseId,
} from './anthropic-format.js';
import { embeddingsBody } from './embeddings-format.js';
import {
  googleAsChat,
  googleCall,
  googleErrorBody,
  googleRequestId,
  googleResponseBody,
  googleResponseId,
  googleStreamErrorFrame,
  googleStreamFrames,
  googleValidationProblem,
} from './google-format.js';
import {
  openaiCompletionBody,
  openaiEnvelope,
  openaiErrorBody,
  openaiRequestId,
  openaiStreamErrorFrame,
  openaiStreamFrames,
  openaiToolCallId,
} from './openai-format.js';
import { estimateTokens, promptText, type ResolvedReply, resolveReply } from './reply-content.js';
import {
  responsesAsChat,
  responsesBody,
  responsesId,
  responsesStreamErrorFrame,
  responsesStreamFrames,
} from './responses-api-format.js';
import { createTokenBucket, formatGoDuration, formatResetTime, type TokenBucket } from './token-bucket.js';
import type {
  FakeBehavior,
  FakeRateLimit,
  FakeUpstream,
  FakeUpstreamOptions,
  RecordedRequest,
  RequestFormat,
} from './types.js';
import { validateBehavior, validateRateLimit } from './validate-behavior.js';

const defaultModels = [
  'gpt-4o-mini',
  'gpt-4o',
  'text-embedding-3-small',
  'claude-haiku-4-5',
  'claude-opus-4-6',
];
/** Limits reported (not enforced) while no rate limit is set, so headers are always there to parse. */
const reportedRequestsPerMinute = 10_000;
const reportedTokensPerMinute = 2_000_000;

/** Everything the behaviors need about the request being answered. */
interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  format: RequestFormat;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  requestId: string;
  /** Request id and rate-limit headers every answer carries. */
  baseHeaders: Record<string, string>;
  /** An Anthropic `POST /v1/messages/count_tokens` (answered `{ input_tokens }`; no `max_tokens` needed). */
  countTokens?: boolean;
}

const countTokensPath = '/v1/messages/count_tokens';

interface Buckets {
  enforced: boolean;
  requests: TokenBucket;
  tokens: TokenBucket;
}

interface ConnectionWaiter {
  count: number;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

function formatOf(method: string, path: string, headers: Record<string, string>): RequestFormat | undefined {
  if (method === 'POST' && path === '/v1/chat/completions') return 'openai';
  if (method === 'POST' && path === '/v1/messages') return 'anthropic';
  if (method === 'POST' && path === countTokensPath) return 'anthropic';
  if (method === 'POST' && path === '/v1/embeddings') return 'embeddings';
  if (method === 'POST' && path === '/v1/responses') return 'responses';
  if (method === 'POST' && googleCall(path)) return 'google';
  if (method === 'GET' && path === '/v1/models') return 'models';
  return headers['anthropic-version'] === undefined ? undefined : 'anthropic';
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** The first validation problem the real API would answer 400 for, if any. */
function validationProblem(format: RequestFormat, body: unknown, countTokens = false): string | undefined {
  if (format === 'models') return undefined;
  if (format === 'google') return googleValidationProblem(body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return format === 'anthropic' ? 'Invalid JSON body' : 'We could not parse the JSON body of your request.';
  }
  const record = body as Record<string, unknown>;
  if (format === 'anthropic') {
    if (typeof record.model !== 'string') return 'model: Field required';
    if (!Array.isArray(record.messages)) return 'messages: Field required';
    if (!countTokens && typeof record.max_tokens !== 'number') return 'max_tokens: Field required';
    return undefined;
  }
  if (typeof record.model !== 'string') return 'you must provide a model parameter';
  if (format === 'openai' && !Array.isArray(record.messages))
    return "Missing required parameter: 'messages'.";
  if (format === 'embeddings' && record.input === undefined) return "Missing required parameter: 'input'.";
  if (format === 'responses' && record.input === undefined) return "Missing required parameter: 'input'.";
  return undefined;
}

/** Tokens a request counts against TPM: its estimated prompt plus the output it may generate. */
function requestTokens(format: RequestFormat, body: Record<string, unknown>): number {
  if (format === 'embeddings') {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return inputs.reduce<number>((sum, input) => sum + estimateTokens(String(input ?? '')), 0);
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return Math.max(1, estimateTokens(promptText(body))) + (typeof maxTokens === 'number' ? maxTokens : 0);
}

function rateLimitHeaders(format: RequestFormat, buckets: Buckets, now: number): Record<string, string> {
  const requests = buckets.requests;
  const tokens = buckets.tokens;
  const remainingRequests = String(Math.floor(requests.available(now)));
  const remainingTokens = String(Math.floor(tokens.available(now)));
  // The Gemini API sends no rate-limit headers (a 429 says RESOURCE_EXHAUSTED, nothing more).
  if (format === 'google') return {};
  if (format === 'anthropic') {
    const requestsReset = formatResetTime(now, requests.untilFull(now));
    const tokensReset = formatResetTime(now, tokens.untilFull(now));
    return {
      'anthropic-ratelimit-requests-limit': String(requests.capacity),
      'anthropic-ratelimit-requests-remaining': remainingRequests,
      'anthropic-ratelimit-requests-reset': requestsReset,
      'anthropic-ratelimit-tokens-limit': String(tokens.capacity),
      'anthropic-ratelimit-tokens-remaining': remainingTokens,
      'anthropic-ratelimit-tokens-reset': tokensReset,
      'anthropic-ratelimit-input-tokens-limit': String(tokens.capacity),
      'anthropic-ratelimit-input-tokens-remaining': remainingTokens,
      'anthropic-ratelimit-input-tokens-reset': tokensReset,
    };
  }
  return {
    'x-ratelimit-limit-requests': String(requests.capacity),
    'x-ratelimit-remaining-requests': remainingRequests,
    'x-ratelimit-reset-requests': formatGoDuration(requests.untilFull(now)),
    'x-ratelimit-limit-tokens': String(tokens.capacity),
    'x-ratelimit-remaining-tokens': remainingTokens,
    'x-ratelimit-reset-tokens': formatGoDuration(tokens.untilFull(now)),
  };
}

/**
 * Starts a fake OpenAI + Anthropic upstream on 127.0.0.1: real HTTP, both wire formats (JSON and SSE),
 * scripted faults, a real RPM/TPM token bucket, request recording and socket counting.
 */
export async function createFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  if (options.defaultBehavior !== undefined) validateBehavior(options.defaultBehavior, 'defaultBehavior');
  validateRateLimit(options.rateLimit);
  if (
    options.port !== undefined &&
    !(Number.isInteger(options.port) && options.port >= 0 && options.port < 65536)
  ) {
    throw new ConfigError({
      path: 'port',
      message: `port: must be an integer from 0 to 65535, got ${options.port}`,
    });
  }
  const now = options.now ?? Date.now;
  const maxRecorded = options.maxRecordedRequests ?? Number.POSITIVE_INFINITY;
  const models = options.models ?? defaultModels;
  const queue: FakeBehavior[] = [];
  let defaultBehavior: FakeBehavior = options.defaultBehavior ?? { kind: 'reply' };
  const requests: RecordedRequest[] = [];
  const stats = { requests: 0, rateLimited: 0 };
  /** Sockets that carried at least one request (what `openConnections` counts). */
  const sockets = new Set<Socket>();
  /** Every socket, including ones a client pool opened speculatively without sending a request. */
  const allSockets = new Set<Socket>();
  let activeRequests = 0;
  const waiters = new Set<ConnectionWaiter>();
  const timers = new Set<NodeJS.Timeout>();
  let buckets = makeBuckets(options.rateLimit);

  function makeBuckets(limit: FakeRateLimit | undefined): Buckets {
    const at = now();
    return {
      enforced: limit !== undefined && (limit.rpm !== undefined || limit.tpm !== undefined),
      requests: createTokenBucket(limit?.rpm ?? reportedRequestsPerMinute, at),
      tokens: createTokenBucket(limit?.tpm ?? reportedTokensPerMinute, at),
    };
  }

  const notifyConnections = (): void => {
    for (const waiter of waiters) {
      if (sockets.size === waiter.count) {
        clearTimeout(waiter.timer);
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  /** A real-time pause that ends early (false) when the client goes away. */
  const pause = (exchange: Exchange, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (exchange.response.destroyed) {
        resolve(false);
        return;
      }
      const onClose = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        exchange.response.off('close', onClose);
        resolve(!exchange.response.destroyed);
      }, ms);
      timers.add(timer);
      exchange.response.once('close', onClose);
    });

  const writeFrame = (exchange: Exchange, frame: string): Promise<void> =>
    new Promise((resolve) => {
      if (exchange.response.destroyed) resolve();
      else exchange.response.write(frame, () => resolve());
    });

  const sendJson = (
    exchange: Exchange,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    if (exchange.response.destroyed) return;
    exchange.response.writeHead(status, {
      ...exchange.baseHeaders,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    });
    exchange.response.end(body);
  };

  const startStream = (exchange: Exchange, headers: Record<string, string> = {}): void => {
    exchange.response.writeHead(200, {
      ...exchange.baseHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...headers,
    });
    exchange.response.flushHeaders();
  };

  const errorBody = (
    exchange: Exchange,
    status: number,
    special?: 'context-length' | 'content-filter',
    override?: { type?: string; message?: string },
  ): string =>
    exchange.format === 'google'
      ? googleErrorBody(status, exchange.model, special, override)
      : exchange.format === 'anthropic'
        ? anthropicErrorBody(status, exchange.model, exchange.requestId, special, override)
        : openaiErrorBody(
            status,
            exchange.model,
            special,
            override,
            exchange.request.headers.authorization?.replace(/^Bearer /i, ''),
          );

  const reply = (exchange: Exchange, behavior: Extract<FakeBehavior, { kind: 'reply' }>): ResolvedReply =>
    resolveReply(
      behavior,
      exchange.format === 'google'
        ? googleAsChat(exchange.body)
        : exchange.format === 'responses'
          ? responsesAsChat(exchange.body)
          : exchange.body,
      exchange.format === 'anthropic' ? anthropicToolUseId : openaiToolCallId,
    );

  /** The SSE frames of a reply in the request's wire format. */
  const streamFrames = (exchange: Exchange, resolved: ResolvedReply): string[] => {
    if (exchange.format === 'google') return googleStreamFrames(resolved, googleResponseId(), exchange.model);
    if (exchange.format === 'responses')
      return responsesStreamFrames(resolved, responsesId(), exchange.model);
    if (exchange.format === 'anthropic')
      return anthropicStreamFrames(resolved, anthropicMessageId(), exchange.model);
    const options = exchange.body.stream_options as { include_usage?: unknown } | undefined;
    return openaiStreamFrames(resolved, openaiEnvelope(exchange.model), options?.include_usage === true);
  };

  const jsonBody = (exchange: Exchange, resolved: ResolvedReply): string =>
    exchange.format === 'responses'
      ? responsesBody(resolved, responsesId(), exchange.model)
      : exchange.format === 'google'
        ? googleResponseBody(resolved, googleResponseId(), exchange.model)
        : exchange.format === 'anthropic'
          ? anthropicMessageBody(resolved, anthropicMessageId(), exchange.model)
          : openaiCompletionBody(resolved, openaiEnvelope(exchange.model));

  const modelsBody = (exchange: Exchange): string => {
    if (exchange.request.headers['anthropic-version'] !== undefined) {
      return JSON.stringify({
        data: models.map((id) => ({
          type: 'model',
          id,
          display_name: id,
          created_at: '2025-01-01T00:00:00Z',
        })),
        has_more: false,
        first_id: models[0] ?? null,
        last_id: models[models.length - 1] ?? null,
      });
    }
    return JSON.stringify(
      {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })),
      },
      null,
      2,
    );
  };

  async function run(exchange: Exchange, behavior: FakeBehavior): Promise<void> {
    switch (behavior.kind) {
      case 'reply': {
        if (exchange.format === 'models')
          return sendJson(exchange, 200, modelsBody(exchange), behavior.headers);
        if (exchange.format === 'embeddings') {
          return sendJson(exchange, 200, embeddingsBody(exchange.body), behavior.headers);
        }
        if (exchange.countTokens) {
          const inputTokens = Math.max(1, estimateTokens(promptText(exchange.body)));
          return sendJson(exchange, 200, JSON.stringify({ input_tokens: inputTokens }), behavior.headers);
        }
        const resolved = reply(exchange, behavior);
        if (!exchange.stream) return sendJson(exchange, 200, jsonBody(exchange, resolved), behavior.headers);
        startStream(exchange, behavior.headers);
        for (const frame of streamFrames(exchange, resolved)) {
          if (behavior.chunkDelayMs && !(await pause(exchange, behavior.chunkDelayMs))) return;
          await writeFrame(exchange, frame);
        }
        exchange.response.end();
        return;
      }
      case 'status': {
        const body =
          behavior.body === undefined
            ? errorBody(exchange, behavior.status, behavior.error)
            : typeof behavior.body === 'string'
              ? behavior.body
              : JSON.stringify(behavior.body);
        return sendJson(exchange, behavior.status, body, behavior.headers);
      }
      case 'delay': {
        // A delay as the default (simulated latency) must not chain into itself.
        const next =
          behavior.then ?? (defaultBehavior.kind === 'delay' ? { kind: 'reply' as const } : defaultBehavior);
        if (await pause(exchange, behavior.ms)) await run(exchange, next);
        return;
      }
      case 'hang':
        return;
      case 'reset':
        exchange.request.socket.resetAndDestroy();
        return;
      case 'malformed': {
        const status = behavior.status ?? 200;
        if (exchange.stream && status === 200) {
          startStream(exchange);
          const broken =
            exchange.format === 'google'
              ? 'data: {"candidates": [{"content": {"parts": [{"text": "hel\r\n\r\n'
              : exchange.format === 'anthropic'
                ? 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_\n\n'
                : 'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":{"content":"hel\n\n';
          await writeFrame(exchange, broken);
          exchange.response.end();
          return;
        }
        const truncated =
          exchange.format === 'google'
            ? '{\n  "candidates": [\n    {\n      "content": {\n        "parts": [\n          {\n            "text": "hel'
            : exchange.format === 'anthropic'
              ? '{"id":"msg_broken","type":"message","role":"assistant","content":[{"type":"text","text":"hel'
              : '{\n  "id": "chatcmpl-broken",\n  "object": "chat.completion",\n  "choices": [\n    {\n      "index": 0,\n      "message": {\n        "role": "assist';
        return sendJson(exchange, status, truncated);
      }
      case 'raw': {
        if (behavior.frames === undefined)
          return sendJson(exchange, behavior.status ?? 200, behavior.body ?? '', behavior.headers);
        startStream(exchange, behavior.headers);
        for (const [index, frame] of behavior.frames.entries()) {
          if (index === behavior.cutAfterFrames) {
            exchange.response.destroy();
            return;
          }
          await writeFrame(exchange, frame);
        }
        exchange.response.end();
        return;
      }
      case 'cut':
      case 'stall':
      case 'stream-error': {
        const resolved = reply(exchange, { kind: 'reply' });
        if (!exchange.stream) {
          if (behavior.kind === 'stream-error') {
            const type = behavior.error?.type ?? 'overloaded_error';
            const message = behavior.error?.message ?? 'Overloaded';
            const status =
              type === 'overloaded_error' && exchange.format === 'anthropic'
                ? 529
                : type === 'overloaded_error' && exchange.format === 'google'
                  ? 503
                  : 500;
            return sendJson(exchange, status, errorBody(exchange, status, undefined, { type, message }));
          }
          const body = jsonBody(exchange, resolved);
          exchange.response.writeHead(200, {
            ...exchange.baseHeaders,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          });
          await writeFrame(exchange, body.slice(0, Math.floor(body.length / 2)));
          if (behavior.kind === 'cut') exchange.response.destroy();
          return;
        }
        startStream(exchange);
        const frames = streamFrames(exchange, resolved);
        for (const frame of frames.slice(0, Math.max(0, behavior.afterChunks)))
          await writeFrame(exchange, frame);
        if (behavior.kind === 'cut') exchange.response.destroy();
        else if (behavior.kind === 'stream-error') {
          const error = behavior.error ?? { type: 'overloaded_error', message: 'Overloaded' };
          await writeFrame(
            exchange,
            exchange.format === 'google'
              ? googleStreamErrorFrame(error)
              : exchange.format === 'anthropic'
                ? anthropicStreamErrorFrame(error)
                : exchange.format === 'responses'
                  ? responsesStreamErrorFrame(error)
                  : openaiStreamErrorFrame(error),
          );
          exchange.response.end();
        }
        return;
      }
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const text = await readBody(request);
    const headers = lowerCaseHeaders(request);
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const route = formatOf(method, path.split('?')[0] ?? path, headers);
    const format: RequestFormat = route ?? 'openai';
    const requestId =
      format === 'anthropic'
        ? anthropicRequestId()
        : format === 'google'
          ? googleRequestId()
          : openaiRequestId();
    const body = parseBody(text);
    requests.push({ id: requestId, format, method, path, headers, body, receivedAt });
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
    stats.requests += 1;

    const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const google = route === 'google' ? googleCall(path.split('?')[0] ?? path) : undefined;
    const baseHeaders: Record<string, string> =
      format === 'google'
        ? // The real API sends no request id; the fake's lets tests match an answer to its request.
          { 'x-goog-request-id': requestId, server: 'scaffolding on HTTPServer2' }
        : format === 'anthropic'
          ? { 'request-id': requestId, 'anthropic-organization-id': '00000000-0000-4000-8000-000000000000' }
          : { 'x-request-id': requestId, 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
    const exchange: Exchange = {
      request,
      response,
      format,
      body: record,
      model: google?.model ?? (typeof record.model === 'string' ? record.model : 'unknown'),
      stream: google?.stream ?? record.stream === true,
      requestId,
      baseHeaders,
      countTokens: route === 'anthropic' && path.split('?')[0] === countTokensPath,
    };

    if (route === undefined) {
      return sendJson(
        exchange,
        404,
        errorBody(exchange, 404, undefined, { message: `Unknown request URL: ${method} ${path}.` }),
      );
    }
    if (options.apiKey !== undefined) {
      const presented =
        headers['x-api-key'] ?? headers['x-goog-api-key'] ?? headers.authorization?.replace(/^Bearer /i, '');
      if (presented !== options.apiKey) return sendJson(exchange, 401, errorBody(exchange, 401));
    }
    const problem = validationProblem(format, body, exchange.countTokens);
    if (problem !== undefined) {
      return sendJson(exchange, 400, errorBody(exchange, 400, undefined, { message: problem }));
    }
    if (format !== 'models') {
      const at = now();
      const cost = requestTokens(
        format,
        format === 'google'
          ? googleAsChat(record)
          : format === 'responses'
            ? responsesAsChat(record)
            : record,
      );
      const wait = Math.max(buckets.requests.waitFor(1, at), buckets.tokens.waitFor(cost, at));
      if (buckets.enforced && wait > 0) {
        stats.rateLimited += 1;
        Object.assign(exchange.baseHeaders, rateLimitHeaders(format, buckets, at));
        return sendRateLimited(
          exchange,
          buckets.requests.waitFor(1, at) > 0 ? 'requests' : 'tokens',
          wait,
          cost,
        );
      }
      buckets.requests.take(1, at);
      buckets.tokens.take(cost, at);
      Object.assign(exchange.baseHeaders, rateLimitHeaders(format, buckets, at));
    }
    await run(exchange, queue.shift() ?? defaultBehavior);
  }

  function sendRateLimited(
    exchange: Exchange,
    scope: 'requests' | 'tokens',
    waitMs: number,
    cost: number,
  ): void {
    const bucket = scope === 'requests' ? buckets.requests : buckets.tokens;
    const retryMs = Number.isFinite(waitMs) ? waitMs : bucket.untilFull(now()) || 60_000;
    const seconds = Math.max(1, Math.ceil(retryMs / 1000));
    const requested = scope === 'requests' ? 1 : cost;
    const unit = scope === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    const message =
      exchange.format === 'anthropic'
        ? `This request would exceed the rate limit for your organization of ${bucket.capacity} ${scope === 'requests' ? 'requests' : 'input tokens'} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.`
        : `Rate limit reached for ${exchange.model} in organization org-fake on ${unit}: Limit ${bucket.capacity}, Used ${bucket.capacity - Math.floor(bucket.available(now()))}, Requested ${requested}. Please try again in ${formatGoDuration(retryMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`;
    const body =
      exchange.format === 'google'
        ? googleErrorBody(429, exchange.model, undefined, { message })
        : exchange.format === 'anthropic'
          ? anthropicErrorBody(429, exchange.model, exchange.requestId, undefined, { message })
          : openaiErrorBody(429, exchange.model, undefined, { message, type: scope });
    sendJson(exchange, 429, body, { 'retry-after': String(seconds), 'retry-after-ms': String(retryMs) });
  }

  const server = createServer((request, response) => {
    const socket = request.socket;
    if (!sockets.has(socket) && !socket.destroyed) {
      sockets.add(socket);
      notifyConnections();
    }
    activeRequests += 1;
    response.once('close', () => {
      activeRequests -= 1;
    });
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`fake upstream failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
  server.on('connection', (socket) => {
    allSockets.add(socket);
    socket.on('close', () => {
      allSockets.delete(socket);
      if (sockets.delete(socket)) notifyConnections();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('fake upstream did not get a port');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    googleBaseURL: `${url}/v1beta`,
    port: address.port,
    requests,
    stats,
    enqueue(...behaviors) {
      for (const [index, behavior] of behaviors.entries()) validateBehavior(behavior, `behaviors[${index}]`);
      queue.push(...behaviors);
    },
    setDefault(behavior) {
      validateBehavior(behavior);
      defaultBehavior = behavior;
    },
    setRateLimit(limit) {
      validateRateLimit(limit);
      buckets = makeBuckets(limit);
    },
    openConnections: () => sockets.size,
    activeRequests: () => activeRequests,
    waitForConnections(count, timeoutMs = 2000) {
      if (sockets.size === count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter: ConnectionWaiter = {
          count,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(
              new Error(
                `expected ${count} open connections within ${timeoutMs} ms, still ${sockets.size} open`,
              ),
            );
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      stats.requests = 0;
      stats.rateLimited = 0;
      defaultBehavior = options.defaultBehavior ?? { kind: 'reply' };
      buckets = makeBuckets(undefined);
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const socketsClosed = [...allSockets].map(
        (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
      );
      for (const socket of allSockets) socket.destroy();
      return Promise.all([closed, ...socketsClosed]).then(() => undefined);
    },
  };
}
