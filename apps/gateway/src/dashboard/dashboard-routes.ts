import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyChecker, KeyIdentity } from '../http/api-keys.js';
import { dashboardPage } from './dashboard-page.js';
import type { DashboardState } from './dashboard-state.js';

export interface DashboardRoutesOptions {
  state: DashboardState;
  /** The gateway's keys; undefined when auth is off (then only loopback clients are served). */
  auth: ApiKeyChecker | undefined;
  /** Least time between two snapshots pushed to a stream (ms). Default 200. */
  pushIntervalMs?: number;
  /** Snapshot sent at least this often even when nothing changed (ms; counts time to the next probe). Default 2000. */
  refreshMs?: number;
  /** What EventSource waits before it reconnects (ms). Default 1000. */
  retryMs?: number;
}

/** Answers a dashboard route; false when `path` is not one. */
export type DashboardRoutes = ((
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
) => boolean) & {
  /** Ends every open event stream (the gateway is stopping). */
  close(): void;
};

export const dashboardPaths: readonly string[] = ['/', '/dashboard', '/dashboard/events'];

/** Name of the cookie a browser gets for a `?key=` it presented once. It holds a random session id, never the key. */
export const sessionCookie = 'bulwark_dashboard';
const sessionLimit = 1000;

function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function cookieValue(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals !== -1 && part.slice(0, equals).trim() === name) return part.slice(equals + 1).trim();
  }
  return undefined;
}

function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
}

/**
 * The live dashboard: `GET /` and `/dashboard` serve the page, `GET /dashboard/events` the SSE stream of
 * snapshots. Without auth only loopback clients are served. With auth a key with the `metrics` role is
 * needed: sent as `Authorization: Bearer <key>` / `x-api-key`, or once as `/dashboard?key=<key>`, which
 * answers with a redirect to `/dashboard` that sets an HttpOnly, SameSite=Strict session cookie (a random
 * id; the key is not kept in it and the redirect drops it from the address bar).
 */
export function createDashboardRoutes(options: DashboardRoutesOptions): DashboardRoutes {
  const { state, auth } = options;
  const pushIntervalMs = options.pushIntervalMs ?? 200;
  const refreshMs = options.refreshMs ?? 2000;
  const retryMs = options.retryMs ?? 1000;
  const sessions = new Map<string, KeyIdentity>();
  const streams = new Set<ServerResponse>();

  const allowed = (request: IncomingMessage): boolean => {
    if (!auth) return isLoopbackAddress(request.socket.remoteAddress);
    const session = cookieValue(request, sessionCookie);
    const identity =
      (session !== undefined ? sessions.get(session) : undefined) ?? auth.identify(request.headers);
    return identity?.roles.has('metrics') ?? false;
  };

  const refuse = (response: ServerResponse): void => {
    if (auth)
      sendText(
        response,
        401,
        'The dashboard needs a key with the "metrics" role: open /dashboard?key=<key> once, or send "Authorization: Bearer <key>".\n',
      );
    else sendText(response, 403, 'Without auth the dashboard is served only to loopback clients.\n');
  };

  /** `?key=` → a session cookie and a redirect that drops the key from the address. */
  const exchangeKey = (url: URL, response: ServerResponse): boolean => {
    const key = url.searchParams.get('key');
    if (key === null || !auth) return false;
    const identity = auth.identify({ authorization: `Bearer ${key}` });
    if (!identity?.roles.has('metrics')) {
      refuse(response);
      return true;
    }
    const session = randomBytes(24).toString('base64url');
    if (sessions.size >= sessionLimit) sessions.delete(sessions.keys().next().value as string);
    sessions.set(session, identity);
    response.writeHead(303, {
      location: '/dashboard',
      'set-cookie': `${sessionCookie}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      'cache-control': 'no-store',
      'content-length': 0,
    });
    response.end();
    return true;
  };

  const openStream = (response: ServerResponse): void => {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    streams.add(response);
    const send = (): void => {
      if (response.destroyed) return;
      response.write(`event: snapshot\ndata: ${JSON.stringify(state.snapshot())}\n\n`);
    };
    response.write(`retry: ${retryMs}\n\n`);
    send();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastPush = Date.now();
    const push = (): void => {
      timer = undefined;
      lastPush = Date.now();
      send();
    };
    const stopListening = state.onChange(() => {
      if (timer !== undefined) return;
      timer = setTimeout(push, Math.max(0, pushIntervalMs - (Date.now() - lastPush)));
      timer.unref();
    });
    const refresh = setInterval(() => {
      if (timer === undefined && Date.now() - lastPush >= refreshMs / 2) push();
    }, refreshMs);
    refresh.unref();
    const stop = (): void => {
      stopListening();
      clearTimeout(timer);
      clearInterval(refresh);
      streams.delete(response);
    };
    response.once('close', stop);
  };

  const routes = ((request: IncomingMessage, response: ServerResponse, path: string): boolean => {
    if (!dashboardPaths.includes(path)) return false;
    request.resume();
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    if (path !== '/dashboard/events' && exchangeKey(url, response)) return true;
    if (!allowed(request)) {
      refuse(response);
      return true;
    }
    if (path === '/dashboard/events') {
      openStream(response);
      return true;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(dashboardPage),
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    response.end(request.method === 'HEAD' ? undefined : dashboardPage);
    return true;
  }) as DashboardRoutes;
  routes.close = () => {
    for (const stream of streams) stream.end();
    streams.clear();
  };
  return routes;
}
