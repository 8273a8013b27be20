import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import {
  type ProxyEnvironment,
  parseProxyUrl,
  proxyAuthorization,
  proxyFor,
  TunnelingAgent,
} from './proxy-agent.js';

export interface NodeFetchOptions {
  /** Sockets per upstream host kept open and reused. Default 256. */
  maxSockets?: number;
  /** How long an idle keep-alive socket is kept (ms). Default 30 000. */
  idleSocketMs?: number;
  /**
   * An `http://[user:pass@]host:port` proxy for every request (HTTPS through a `CONNECT` tunnel, HTTP
   * forwarded as an absolute URI). Default: `HTTPS_PROXY` / `HTTP_PROXY` from `env` for the URL's
   * scheme, unless `NO_PROXY` exempts the host (loopback included only when listed).
   */
  proxy?: string;
  /** Extra trusted CA certificates (PEM) for HTTPS upstreams, e.g. a corporate TLS-inspecting proxy's. */
  ca?: string | readonly string[];
  /** Where the proxy variables are read. Default `process.env`. */
  env?: ProxyEnvironment;
}

/** A `fetch` on Node's own HTTP client, with `close()` for its keep-alive sockets. */
export type NodeFetch = typeof fetch & { close(): void };

type Body = string | Uint8Array | ArrayBuffer | null | undefined;

function isPlainBody(body: unknown): body is Body {
  return (
    body === null ||
    body === undefined ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer
  );
}

function toHeaderRecord(headers: HeadersInit | undefined): OutgoingHttpHeaders {
  const record: OutgoingHttpHeaders = {};
  if (!headers) return record;
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [name, value] of headers as Iterable<[string, string]>) record[name.toLowerCase()] = value;
  } else {
    for (const [name, value] of Object.entries(headers)) record[name.toLowerCase()] = value;
  }
  return record;
}

function abortError(signal: AbortSignal): unknown {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

function decoder(encoding: string | undefined): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * The decoded body. `pipeline`, not `pipe`: a socket cut mid-body must error the decoder too (with
 * `pipe` a truncated compressed answer never ends nor fails), and a consumer that stops reading the
 * decoder must destroy the socket.
 */
function decode(incoming: IncomingMessage): Readable {
  const transform = decoder(incoming.headers['content-encoding']);
  if (!transform) return incoming;
  return pipeline(incoming, transform, () => {});
}

const noBodyStatus = new Set([101, 103, 204, 205, 304]);

/**
 * The queue of a streamed body, in bytes. Without a strategy some Node versions take the readable's
 * 16 KiB high-water mark as a count of chunks, so a consumer that stops reading would let thousands of
 * chunks pile up here instead of stalling the socket (TCP backpressure to the upstream).
 */
const streamQueue = { highWaterMark: 16 * 1024, size: (chunk: Uint8Array) => chunk.byteLength };

/**
 * A WHATWG `fetch` on `node:http` with keep-alive agents, for SDKs that accept a `fetch` option (the
 * official OpenAI and Anthropic SDKs do). On Node 20 it costs roughly half the CPU per call of the
 * built-in fetch (measured in `bench/results/gateway.md`), which is most of a gateway's per-request
 * cost. Request bodies it cannot send as bytes (streams, FormData) and `Request` objects go to the
 * global `fetch` unchanged. Redirects are not followed (LLM APIs do not redirect API calls).
 * An abort rejects with the `AbortError` fetch would raise and destroys the socket, before or
 * after the response headers.
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    timeout: options.idleSocketMs ?? 30_000,
    scheduling: 'lifo' as const,
  };
  const tls = options.ca === undefined ? {} : { ca: [options.ca].flat() as string[] };
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent({ ...agentOptions, ...tls }) };
  const env = options.env ?? process.env;
  if (options.proxy !== undefined) parseProxyUrl(options.proxy);
  const tunnels = new Map<string, TunnelingAgent>();
  const tunnelFor = (proxy: URL): TunnelingAgent => {
    let agent = tunnels.get(proxy.href);
    if (!agent) {
      agent = new TunnelingAgent(proxy, { ...agentOptions, ...tls });
      tunnels.set(proxy.href, agent);
    }
    return agent;
  };

  const nodeFetch = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request || !isPlainBody(init.body)) return fetch(input, init);
    const url = input instanceof URL ? input : new URL(String(input));
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError(signal));

    return new Promise<Response>((resolve, reject) => {
      const method = init.method ?? 'GET';
      const headers = toHeaderRecord(init.headers);
      const plain = init.body as Body;
      const body: string | Uint8Array | undefined =
        plain instanceof ArrayBuffer ? new Uint8Array(plain) : (plain ?? undefined);
      if (
        body !== undefined &&
        headers['content-length'] === undefined &&
        headers['transfer-encoding'] === undefined
      ) {
        headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      }
      let incoming: IncomingMessage | undefined;
      const onAbort = (): void => {
        const error = abortError(signal!);
        incoming?.destroy(error as Error);
        reject(error);
        outgoing.destroy(error as Error);
      };
      const proxyUrl = proxyFor(url, options.proxy, env);
      const proxy = proxyUrl === undefined ? undefined : parseProxyUrl(proxyUrl, 'HTTP(S)_PROXY');
      const onResponse = (response: IncomingMessage): void => {
        incoming = response;
        const responseHeaders = new Headers();
        const raw = response.rawHeaders;
        for (let index = 0; index < raw.length; index += 2)
          responseHeaders.append(raw[index]!, raw[index + 1]!);
        const status = response.statusCode ?? 0;
        response.once('close', () => signal?.removeEventListener('abort', onAbort));
        const init = { status, statusText: response.statusMessage ?? '', headers: responseHeaders };
        if (noBodyStatus.has(status) || method === 'HEAD') {
          response.resume();
          resolve(new Response(null, init));
          return;
        }
        const content = decode(response);
        if (String(response.headers['content-type']).startsWith('text/event-stream')) {
          const body = Readable.toWeb(content, { strategy: streamQueue }) as ReadableStream<Uint8Array>;
          resolve(new Response(body, init));
          return;
        }
        // A JSON answer is read whole before it is handed over: a web stream per response costs more
        // CPU than the body itself for the small bodies of API calls.
        const chunks: Buffer[] = [];
        content.on('data', (chunk: Buffer) => chunks.push(chunk));
        content.once('error', (error) =>
          reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: error })),
        );
        content.once('end', () => {
          const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve(
            new Response(
              new Uint8Array(whole.buffer as ArrayBuffer, whole.byteOffset, whole.byteLength),
              init,
            ),
          );
        });
      };
      let outgoing: ClientRequest;
      if (!proxy) {
        outgoing = (secure ? httpsRequest : httpRequest)(
          url,
          { method, headers, agent: secure ? agents.https : agents.http },
          onResponse,
        );
      } else if (secure) {
        outgoing = httpsRequest(url, { method, headers, agent: tunnelFor(proxy) }, onResponse);
      } else {
        const authorization = proxyAuthorization(proxy);
        if (authorization) headers['proxy-authorization'] = authorization;
        headers.host = url.host;
        outgoing = httpRequest(
          {
            host: proxy.hostname.replace(/^\[|\]$/g, ''),
            port: Number(proxy.port || 80),
            method,
            path: url.href,
            headers,
            agent: agents.http,
          },
          onResponse,
        );
      }
      outgoing.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        if (!incoming)
          reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: error }));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.end(body);
    });
  };
  return Object.assign(nodeFetch as typeof fetch, {
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
      for (const agent of tunnels.values()) agent.destroy();
    },
  });
}
