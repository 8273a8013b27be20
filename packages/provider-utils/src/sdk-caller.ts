import {
  type BulwarkError,
  ConnectionError,
  InvalidResponseError,
  type ProviderCallOptions,
  type RateLimitInfo,
  redactSecrets,
  type StreamEvent,
  type Usage,
} from '@bulwark/core';
import { getHeader, type HeaderSource } from './headers.js';
import { abortReason, type ErrorScope } from './sdk-errors.js';

/** What a provider call needs from the call's `ProviderCallOptions`: its signal and its event bus. */
export type SdkCallOptions = Pick<ProviderCallOptions, 'signal' | 'events'>;

/** The per-request options every SDK call gets: the call's signal, no SDK retries, the provider's timeout. */
export interface SdkRequestOptions {
  signal: AbortSignal;
  maxRetries: 0;
  timeout: number;
}

/** What an answer's headers said, for the response or the stream's `start` event. */
export interface AnswerMeta {
  provider: string;
  model: string;
  rateLimit?: RateLimitInfo;
  requestId?: string;
}

/** Maps one streamed item to Bulwark stream events; the pump drives it. */
export interface StreamMapper<Item> {
  /** Events for one item, appended to `out`. */
  map(item: Item, out: StreamEvent[]): void;
  /** True once the API said why generation stopped (a stream that ends before is a cut). */
  readonly finished: boolean;
  /** Usage reported so far, carried by the error of a cut stream. */
  readonly reportedUsage: Usage | undefined;
  /** Closing events, once the items ended and `finished` is true. */
  end?(out: StreamEvent[]): void;
}

/** Options of {@link createSdkCaller}. */
export interface SdkCallerOptions {
  /** The provider's instance name. */
  provider: string;
  /** The SDK's timeout (response headers). */
  timeoutMs: number;
  /** The provider's SDK error mapper ({@link createSdkErrorMapper}). */
  mapError(error: unknown, scope: ErrorScope): BulwarkError;
  /** Reads the API's rate-limit headers. */
  parseRateLimit(headers: HeaderSource): RateLimitInfo | undefined;
  /** The header that carries the upstream's request id (`x-request-id`, `request-id`). */
  requestIdHeader: string;
}

/** A streamed answer as the SDKs' `.withResponse()` give it: the item iterator (with its controller) and the response. */
export interface SdkStreamAnswer {
  data: unknown;
  response: Response;
}

/**
 * The request path every SDK-based provider shares: per-request options, error mapping, rate-limit
 * reporting (`ratelimit:headers`, also for error answers, whose remaining counts matter most),
 * the request id, and the stream pump.
 */
export function createSdkCaller(options: SdkCallerOptions) {
  const { provider, timeoutMs } = options;

  const requestOptions = (call: SdkCallOptions): SdkRequestOptions => ({
    signal: call.signal,
    maxRetries: 0,
    timeout: timeoutMs,
  });
  const scopeOf = (model: string, call: SdkCallOptions): ErrorScope => ({
    provider,
    model,
    signal: call.signal,
    timeoutMs,
  });

  function readMeta(headers: Headers, model: string, call: SdkCallOptions): AnswerMeta {
    const meta: AnswerMeta = { provider, model };
    const rateLimit = options.parseRateLimit(headers);
    if (rateLimit) {
      meta.rateLimit = rateLimit;
      if (call.events.has('ratelimit:headers')) {
        call.events.emit('ratelimit:headers', { provider, model, rateLimit });
      }
    }
    const requestId = getHeader(headers, options.requestIdHeader);
    if (requestId !== undefined) meta.requestId = requestId;
    return meta;
  }

  async function open<T>(
    model: string,
    call: SdkCallOptions,
    request: (requestOptions: SdkRequestOptions) => Promise<T>,
  ): Promise<T> {
    if (call.signal.aborted) throw abortReason(call.signal);
    try {
      return await request(requestOptions(call));
    } catch (error) {
      const headers = (error as { headers?: unknown })?.headers;
      if (headers instanceof Headers) readMeta(headers, model, call);
      throw options.mapError(error, scopeOf(model, call));
    }
  }

  return {
    requestOptions,
    scopeOf,

    /**
     * Sends a request and returns the raw answer (`.asResponse()`) with its meta, its body unread: an
     * error answer is mapped and thrown, rate limits are reported (the passthrough path).
     */
    async respond(
      model: string,
      call: SdkCallOptions,
      request: (requestOptions: SdkRequestOptions) => Promise<Response>,
    ): Promise<{ response: Response; meta: AnswerMeta & { status: number } }> {
      const response = await open(model, call, request);
      return { response, meta: { ...readMeta(response.headers, model, call), status: response.status } };
    },

    /**
     * Sends a request whose whole answer is read (`.asResponse()`), and returns its text with the
     * answer's status, rate limit and request id.
     */
    async send(
      model: string,
      call: SdkCallOptions,
      request: (requestOptions: SdkRequestOptions) => Promise<Response>,
    ): Promise<{ text: string; meta: AnswerMeta & { status: number } }> {
      const response = await open(model, call, request);
      const meta = { ...readMeta(response.headers, model, call), status: response.status };
      try {
        return { text: await response.text(), meta };
      } catch (error) {
        throw options.mapError(error, scopeOf(model, call));
      }
    },

    /**
     * Sends a streamed request (`.withResponse()`) and pumps its items through the mapper: an early
     * exit of the consumer, or any failure, aborts the upstream request; an abort of the call is
     * never taken for an end; a stream that ends before the API said why generation stopped is a
     * `ConnectionError` carrying the usage reported so far. `check` returns what is wrong with an
     * item (`sent a stream event without a type`), or undefined.
     */
    async *stream<Item>(
      model: string,
      call: SdkCallOptions,
      request: (requestOptions: SdkRequestOptions) => Promise<SdkStreamAnswer>,
      stream: {
        mapper: (meta: AnswerMeta) => StreamMapper<Item>;
        check: (item: Item) => string | undefined;
        /** Said of a stream that ended early (`the stream ended before message_stop`). */
        endedEarly: string;
      },
    ): AsyncGenerator<StreamEvent> {
      const answer = await open(model, call, request);
      const items = answer.data as AsyncIterable<Item> & { controller: AbortController };
      const mapper = stream.mapper(readMeta(answer.response.headers, model, call));
      const pending: StreamEvent[] = [];
      let completed = false;
      try {
        try {
          for await (const item of items) {
            const problem = stream.check(item);
            if (problem !== undefined) {
              throw new InvalidResponseError({
                message: `${provider} ${problem}`,
                provider,
                model,
                rawBody: redactSecrets(JSON.stringify(item) ?? String(item)),
              });
            }
            mapper.map(item, pending);
            while (pending.length > 0) yield pending.shift()!;
          }
        } catch (error) {
          const mapped = options.mapError(error, scopeOf(model, call));
          if (mapped.usage === undefined && mapper.reportedUsage) mapped.usage = mapper.reportedUsage;
          throw mapped;
        }
        // The SDKs end their iterator quietly when the request's signal aborts: an abort must not look like an end.
        if (call.signal.aborted) throw abortReason(call.signal);
        if (!mapper.finished) {
          throw new ConnectionError({
            message: `${provider}: ${stream.endedEarly}`,
            provider,
            model,
            ...(mapper.reportedUsage === undefined ? {} : { usage: mapper.reportedUsage }),
          });
        }
        mapper.end?.(pending);
        completed = true;
        while (pending.length > 0) yield pending.shift()!;
      } finally {
        // A consumer that stops early (or any failure) must close the upstream socket.
        if (!completed) items.controller.abort();
      }
    },
  };
}

/** The request path of an SDK-based provider ({@link createSdkCaller}). */
export type SdkCaller = ReturnType<typeof createSdkCaller>;
