import { type AgentOptions, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContextOptions, connect as tlsConnect } from 'node:tls';
import { ConfigError } from '@bulwark/core';

/** The proxy settings of the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, any case). */
export interface ProxyEnvironment {
  [name: string]: string | undefined;
}

function variable(env: ProxyEnvironment, name: string): string | undefined {
  const value = env[name] ?? env[name.toLowerCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * True when `NO_PROXY` exempts `url`, with the usual semantics: a comma- or space-separated list;
 * `*` exempts everything; `example.com` and `.example.com` exempt the domain and its subdomains; an
 * entry with `:port` only that port; IP addresses match exactly. Loopback is not exempt unless listed.
 */
export function noProxyMatches(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
    if (portMatch && !entry.startsWith('[') && entry.split(':').length === 2) {
      entry = portMatch[1]!;
      entryPort = portMatch[2];
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (
      entry.startsWith('.')
        ? host.endsWith(entry) || host === entry.slice(1)
        : host === entry || host.endsWith(`.${entry}`)
    )
      return true;
  }
  return false;
}

/** The proxy for `url`: the explicit one, else the environment's for its scheme unless `NO_PROXY` exempts it. */
export function proxyFor(url: URL, explicit: string | undefined, env: ProxyEnvironment): string | undefined {
  if (explicit !== undefined) return explicit;
  const proxy = variable(env, url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  if (proxy === undefined || noProxyMatches(url, variable(env, 'NO_PROXY'))) return undefined;
  return proxy;
}

/** Parses a proxy URL (`http://user:pass@host:port`); throws a `ConfigError` at `path` otherwise. */
export function parseProxyUrl(value: string, path = 'proxy'): URL {
  let parsed: URL;
  try {
    parsed = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new ConfigError({
      path,
      message: `Invalid configuration at ${path}: ${JSON.stringify(value)} is not a URL`,
    });
  }
  if (parsed.protocol !== 'http:') {
    throw new ConfigError({
      path,
      message: `Invalid configuration at ${path}: only http:// proxies are supported (CONNECT tunnels carry TLS), got ${parsed.protocol}`,
    });
  }
  return parsed;
}

/** `Proxy-Authorization` for a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

type ConnectCallback = (error: Error | null, socket: Duplex) => void;

/**
 * A keep-alive HTTPS agent whose sockets are TLS over an HTTP `CONNECT` tunnel through `proxy`
 * (one tunnel per pooled socket). TLS is verified against `ca` when given (else Node's roots).
 */
export class TunnelingAgent extends HttpsAgent {
  constructor(
    private readonly proxy: URL,
    options: AgentOptions & SecureContextOptions,
  ) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: ConnectCallback): Duplex | undefined {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    const authorization = proxyAuthorization(this.proxy);
    const connect = httpRequest({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.proxy.port || 80),
      method: 'CONNECT',
      path: `${host.includes(':') ? `[${host}]` : host}:${port}`,
      headers: {
        host: `${host}:${port}`,
        ...(authorization ? { 'proxy-authorization': authorization } : {}),
      },
      agent: false,
    });
    connect.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        callback?.(
          new Error(`the proxy refused the tunnel to ${host}:${port} (status ${response.statusCode})`),
          socket,
        );
        return;
      }
      const secure = tlsConnect({
        ...(options as SecureContextOptions),
        socket,
        host,
        ...(isIP(host) === 0 ? { servername: (options as { servername?: string }).servername ?? host } : {}),
      });
      callback?.(null, secure);
    });
    connect.once('error', (error) => callback?.(error, connect.socket as Duplex));
    connect.end();
    return undefined;
  }
}
