import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BulwarkError, InvalidRequestError, PermissionDeniedError } from '@bulwark/core';

export interface BrowserGuardOptions {
  /** Browser origins allowed to call the gateway (`server.cors.origins`); `*` allows any. */
  origins: readonly string[];
  /**
   * True when `auth` is configured. A caller then needs a key a web page does not have, so only the
   * origin check applies; without auth, POSTs must be JSON and loopback requests must name a loopback host.
   */
  auth: boolean;
}

/** A request the guard refused: the status and the error to answer with, in the caller's format. */
export interface BrowserGuardRefusal {
  status: number;
  error: BulwarkError;
}

/**
 * Checks a request before it is routed. Returns a refusal, `'answered'` when the guard answered it
 * itself (a CORS preflight from an allowed origin), or undefined to go on (CORS headers for an
 * allowed origin are then already set on the response).
 */
export type BrowserGuard = (
  request: IncomingMessage,
  response: ServerResponse,
) => BrowserGuardRefusal | 'answered' | undefined;

/** Headers a browser page may read on a cross-origin answer. */
const exposedHeaders = [
  'x-bulwark-target',
  'x-bulwark-attempts',
  'x-bulwark-cache',
  'retry-after',
  'retry-after-ms',
].join(', ');

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** `http://Example.com:80/` → `http://example.com`; `*` and `null` stay as they are. */
export function normalizeOrigin(origin: string): string {
  if (origin === '*' || origin === 'null') return origin;
  return new URL(origin).origin;
}

/**
 * True when `host` (a Host header) names a loopback host, with `port` when it names one. A browser
 * always sends the port unless it is 80; a Host without one comes from a hand-written client.
 */
function isLoopbackHost(host: string | undefined, port: number | undefined): boolean {
  if (host === undefined) return false;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim().toLowerCase());
  if (!match || !loopbackHosts.has(match[1]!)) return false;
  return match[2] === undefined || Number(match[2]) === port;
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json';
}

/**
 * The drive-by browser guard. A web page the operator visits can POST to a local gateway without a
 * preflight when the request is a CORS "simple request" (`text/plain`, no custom header), and DNS
 * rebinding can make the page same-origin with it. So: a request carrying an `Origin` is served only
 * when that origin is allowed (`server.cors.origins`, with preflights answered for it); without auth,
 * a POST must be `application/json` (415 otherwise) and a request arriving over loopback must name a
 * loopback host with the gateway's port in `Host` (403 otherwise).
 */
export function createBrowserGuard(options: BrowserGuardOptions): BrowserGuard {
  const origins = new Set(options.origins.map(normalizeOrigin));
  const anyOrigin = origins.has('*');
  return (request, response) => {
    const socket = request.socket;
    if (!options.auth && isLoopbackAddress(socket.localAddress)) {
      const host = request.headers.host;
      if (!isLoopbackHost(host, socket.localPort)) {
        return {
          status: 403,
          error: new PermissionDeniedError({
            local: true,
            message: `Host "${(host ?? '').slice(0, 100)}" is not this gateway: without auth it answers only to localhost, 127.0.0.1 or [::1] on port ${socket.localPort} (DNS rebinding protection)`,
          }),
        };
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!anyOrigin && !origins.has(origin.toLowerCase()) && !origins.has(origin)) {
        return {
          status: 403,
          error: new PermissionDeniedError({
            local: true,
            message: `Origin "${origin.slice(0, 100)}" is not allowed: browser pages may call the gateway only from an origin listed under server.cors.origins`,
          }),
        };
      }
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'Origin');
      response.setHeader('access-control-expose-headers', exposedHeaders);
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        const requested = request.headers['access-control-request-headers'];
        response.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          ...(requested ? { 'access-control-allow-headers': requested } : {}),
          'access-control-max-age': '600',
        });
        response.end();
        request.resume();
        return 'answered';
      }
    }
    if (!options.auth && request.method === 'POST' && !isJson(request.headers['content-type'])) {
      const got = request.headers['content-type'];
      return {
        status: 415,
        error: new InvalidRequestError({
          field: 'content-type',
          message: `Content-Type must be application/json (got ${got === undefined ? 'none' : `"${got.slice(0, 60)}"`})`,
        }),
      };
    }
    return undefined;
  };
}
