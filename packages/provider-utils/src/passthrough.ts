import {
  BulwarkError,
  ConnectionError,
  type ProviderPassthroughV1,
  type Usage,
  type WireFacts,
  type WireFormat,
  type WireFrame,
  type WireRequestV1,
  type WireResponseV1,
} from '@bulwark/core';
import { transportError } from './post-json.js';
import type { SdkCaller, SdkRequestOptions } from './sdk-caller.js';
import { abortReason } from './sdk-errors.js';

/** Request headers a passthrough never forwards: the caller's credentials (the provider's own replace them). */
export const credentialHeaderNames: ReadonlySet<string> = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'proxy-authorization',
  'cookie',
]);

/** The forwarded headers without credentials; the provider's SDK adds its own key and defaults under them. */
export function passthroughHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!credentialHeaderNames.has(lower)) kept[lower] = value;
  }
  return kept;
}

/** One SSE frame split out of a byte stream: its exact text and its `event` and `data` fields. */
export interface SseFrame {
  /** The frame's text as received, its terminating blank line included. */
  raw: string;
  /** The `event:` field, when present. */
  event: string | undefined;
  /** The `data:` lines joined with `\n` (empty when none). */
  data: string;
}

function frameBoundary(buffer: string): number {
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (lf === -1) return crlf === -1 ? -1 : crlf + 4;
  if (crlf === -1 || lf < crlf) return lf + 2;
  return crlf + 4;
}

function parseFrame(raw: string): SseFrame {
  let event: string | undefined;
  let data: string | undefined;
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    } else if (line.startsWith('event:')) {
      event = line.charCodeAt(6) === 32 ? line.slice(7) : line.slice(6);
    }
  }
  return { raw, event, data: data ?? '' };
}

/**
 * Splits an SSE byte stream into frames without re-encoding them: each frame's text is exactly the
 * bytes received (decoded as UTF-8), so a caller of the same format gets every event as sent, unknown
 * ones included. Text after the last blank line (a cut mid-frame) is not a frame.
 */
export async function* splitSseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = frameBoundary(buffer);
    while (end !== -1) {
      yield parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end);
      end = frameBoundary(buffer);
    }
  }
}

/** Reads the facts of one streamed answer, frame by frame (one tap per stream: it keeps state). */
export interface FrameTap {
  /**
   * The facts of one frame, and the text to show the caller (`frame.raw`, or `''` to hide a frame the
   * provider asked for itself). Throws a Bulwark error for an error frame.
   */
  read(frame: SseFrame): { facts?: WireFacts; show: string };
  /** True once the upstream said the answer is complete; a stream that ends before was cut. */
  readonly finished: boolean;
  /** Usage reported so far (carried by the error of a cut stream). */
  readonly usage: Usage | undefined;
}

/** Options of {@link createPassthrough}. */
export interface PassthroughOptions {
  /** The wire format the provider takes as sent. */
  format: WireFormat;
  /** The provider's instance name (errors). */
  provider: string;
  /** The provider's SDK caller: error mapping, rate-limit reporting, the request id. */
  caller: SdkCaller;
  /** The upstream response header with the request id, relayed to the caller under this name. */
  requestIdHeader: string;
  /**
   * Sends the body through the provider's client in raw-response mode (`client.post(path, { body,
   * headers, stream, ...requestOptions }).asResponse()`), which keeps the SDK's auth, base URL and
   * version headers.
   */
  send(
    body: Record<string, unknown>,
    headers: Record<string, string>,
    stream: boolean,
    requestOptions: SdkRequestOptions,
  ): Promise<Response>;
  /**
   * The body to send: the caller's with `model` replaced (done before), plus what the provider needs
   * (OpenAI streams: `stream_options.include_usage`). Return `body` itself when nothing changes.
   */
  prepare?(body: Record<string, unknown>, stream: boolean): Record<string, unknown>;
  /** The facts of a whole JSON answer. */
  tapJson(text: string): WireFacts;
  /** A new tap for one streamed answer; `sent` is the body as sent, `caller` the body as the caller sent it. */
  tapStream(sent: Record<string, unknown>, caller: Readonly<Record<string, unknown>>): FrameTap;
  /** Said of a stream that ended before the upstream said it was complete. */
  endedEarly: string;
}

/**
 * The same-format passthrough of an SDK-based provider ({@link ProviderPassthroughV1}): the caller's
 * body with only `model` replaced, the caller's headers (credentials dropped) over the SDK's, the
 * answer as sent — a JSON body read whole, or SSE frames split without re-encoding — with the facts
 * read by the provider's tap. A stream that ends before the upstream said it was complete is a
 * `ConnectionError` carrying the usage reported so far; a consumer that stops early closes the socket.
 */
export function createPassthrough(options: PassthroughOptions): ProviderPassthroughV1 {
  const { provider, caller } = options;
  return {
    format: options.format,
    async call(request: WireRequestV1, model: string, call): Promise<WireResponseV1> {
      const stream = request.body.stream === true;
      const replaced = { ...request.body, model };
      const body = options.prepare ? options.prepare(replaced, stream) : replaced;
      const headers = passthroughHeaders(request.headers);
      const { response, meta } = await caller.respond(model, call, (requestOptions) =>
        options.send(body, headers, stream, requestOptions),
      );
      const relayed: Record<string, string> = {};
      if (meta.requestId !== undefined) relayed[options.requestIdHeader] = meta.requestId;
      const head = {
        format: options.format,
        status: meta.status,
        headers: relayed,
        ...(meta.requestId === undefined ? {} : { requestId: meta.requestId }),
      };
      const scope = { provider, model };
      if (!stream) {
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          throw transportError(error, call.signal, scope);
        }
        return { ...head, kind: 'json', body: text, facts: options.tapJson(text) };
      }
      const source = response.body;
      if (!source) throw new ConnectionError({ message: `${provider}: the stream has no body`, ...scope });
      const tap = options.tapStream(body, request.body);
      async function* frames(): AsyncGenerator<WireFrame> {
        let completed = false;
        try {
          for await (const frame of splitSseFrames(source as unknown as AsyncIterable<Uint8Array>)) {
            const { facts, show } = tap.read(frame);
            yield facts ? { data: show, facts } : { data: show };
          }
          if (call.signal.aborted) throw abortReason(call.signal);
          if (!tap.finished) {
            throw new ConnectionError({
              message: `${provider}: ${options.endedEarly}`,
              ...scope,
              ...(tap.usage === undefined ? {} : { usage: tap.usage }),
            });
          }
          completed = true;
        } catch (thrown) {
          const error = BulwarkError.isInstance(thrown) ? thrown : transportError(thrown, call.signal, scope);
          if (error.usage === undefined && tap.usage) error.usage = tap.usage;
          throw error;
        } finally {
          // A consumer that stops early, or a failure, closes the upstream socket.
          if (!completed) await source!.cancel().catch(() => {});
        }
      }
      return { ...head, kind: 'stream', frames: frames() };
    },
  };
}
