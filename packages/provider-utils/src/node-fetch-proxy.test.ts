import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeFetch } from './node-fetch.js';
import { noProxyMatches } from './proxy-agent.js';
import { loopbackCertificate, loopbackKey } from './test-fixtures/loopback-tls.js';

/** A CONNECT and forwarding proxy on loopback that counts what it carries. */
async function startProxy(options: { requireAuth?: string } = {}) {
  const seen = { forwarded: [] as string[], tunnels: [] as string[], bytes: 0 };
  const server = createHttpServer((request, response) => {
    if (options.requireAuth && request.headers['proxy-authorization'] !== options.requireAuth) {
      response.writeHead(407).end();
      return;
    }
    seen.forwarded.push(String(request.url));
    const target = new URL(String(request.url));
    const { 'proxy-authorization': _credentials, ...headers } = request.headers;
    const upstream = httpRequest(target, { method: request.method, headers }, (answer: IncomingMessage) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        seen.bytes += chunk.length;
      });
      answer.pipe(response);
    });
    request.pipe(upstream);
  });
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    if (options.requireAuth && request.headers['proxy-authorization'] !== options.requireAuth) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    seen.tunnels.push(String(request.url));
    const [host, port] = String(request.url).split(':');
    const upstream = netConnect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.on('data', (chunk: Buffer) => {
        seen.bytes += chunk.length;
      });
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return String((server.address() as AddressInfo).port);
}

const servers: Server[] = [];
const fetches: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const fetch of fetches.splice(0)) fetch.close();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
});

async function upstreams() {
  const answer = (_request: IncomingMessage, response: import('node:http').ServerResponse) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"ok":true}');
  };
  const plain = createHttpServer(answer);
  const secure = createHttpsServer({ cert: loopbackCertificate, key: loopbackKey }, answer);
  servers.push(plain, secure);
  return {
    http: `http://127.0.0.1:${await listen(plain)}/v1/x`,
    https: `https://127.0.0.1:${await listen(secure)}/v1/x`,
  };
}

function tracked(options: Parameters<typeof createNodeFetch>[0]) {
  const fetch = createNodeFetch(options);
  fetches.push(fetch);
  return fetch;
}

describe('createNodeFetch behind a proxy', () => {
  it('sends HTTP through HTTP_PROXY and HTTPS through a CONNECT tunnel to HTTPS_PROXY, loopback included', async () => {
    const proxy = await startProxy();
    servers.push(proxy.server);
    const target = await upstreams();
    const fetch = tracked({
      env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
      ca: loopbackCertificate,
    });
    expect(await (await fetch(target.http, { method: 'POST', body: '{}' })).json()).toEqual({ ok: true });
    expect(await (await fetch(target.https, { method: 'POST', body: '{}' })).json()).toEqual({ ok: true });
    expect(proxy.seen.forwarded).toEqual([target.http]);
    expect(proxy.seen.tunnels).toEqual([new URL(target.https).host]);
    expect(proxy.seen.bytes).toBeGreaterThan(0);
  });

  it('goes direct for hosts NO_PROXY lists, and without proxy variables', async () => {
    const proxy = await startProxy();
    servers.push(proxy.server);
    const target = await upstreams();
    const exempt = tracked({ env: { http_proxy: proxy.url, no_proxy: 'example.com, 127.0.0.1' } });
    expect((await exempt(target.http, { method: 'POST', body: '{}' })).status).toBe(200);
    const plain = tracked({ env: {} });
    expect((await plain(target.http, { method: 'POST', body: '{}' })).status).toBe(200);
    expect(proxy.seen.forwarded).toEqual([]);
  });

  it('uses an explicit proxy with credentials over the environment, and checks TLS against ca', async () => {
    const proxy = await startProxy({ requireAuth: `Basic ${Buffer.from('me:s3cret').toString('base64')}` });
    servers.push(proxy.server);
    const target = await upstreams();
    const withAuth = proxy.url.replace('http://', 'http://me:s3cret@');
    const fetch = tracked({ proxy: withAuth, env: { NO_PROXY: '*' }, ca: loopbackCertificate });
    expect((await fetch(target.https, { method: 'POST', body: '{}' })).status).toBe(200);
    expect((await fetch(target.http, { method: 'POST', body: '{}' })).status).toBe(200);
    expect(proxy.seen.tunnels).toHaveLength(1);
    expect(proxy.seen.forwarded).toHaveLength(1);
    const untrusted = tracked({ proxy: withAuth });
    await expect(untrusted(target.https, { method: 'POST', body: '{}' })).rejects.toThrow(/fetch failed/);
  });

  it('rejects a proxy URL that is not http://, naming the option', () => {
    expect(() => createNodeFetch({ proxy: 'socks5://127.0.0.1:1080' })).toThrow(
      /proxy: only http:\/\/ proxies/,
    );
  });
});

describe('noProxyMatches', () => {
  it('follows the usual NO_PROXY rules', () => {
    const url = (text: string) => new URL(text);
    expect(noProxyMatches(url('https://api.example.com'), 'example.com')).toBe(true);
    expect(noProxyMatches(url('https://api.example.com'), '.example.com')).toBe(true);
    expect(noProxyMatches(url('https://example.com'), '.example.com')).toBe(true);
    expect(noProxyMatches(url('https://notexample.com'), 'example.com')).toBe(false);
    expect(noProxyMatches(url('http://127.0.0.1:8080'), '127.0.0.1:9090')).toBe(false);
    expect(noProxyMatches(url('http://127.0.0.1:8080'), '127.0.0.1:8080')).toBe(true);
    expect(noProxyMatches(url('http://localhost'), 'example.com')).toBe(false);
    expect(noProxyMatches(url('http://anything'), '*')).toBe(true);
    expect(noProxyMatches(url('http://[::1]:80'), '::1')).toBe(true);
  });
});

describe('SDK providers behind a proxy', () => {
  it('build their default transport with the proxy and ca options', async () => {
    const { createSdkClient } = await import('./provider-options.js');
    const proxy = await startProxy();
    servers.push(proxy.server);
    const target = await upstreams();
    const { client, close } = createSdkClient({
      apiKey: 'sk-test',
      apiKeyEnv: 'UNUSED_KEY',
      baseURLExample: 'https://api.example.com',
      timeoutMs: 5000,
      proxy: proxy.url,
      ca: loopbackCertificate,
      create: (settings) => settings,
    });
    fetches.push({ close });
    expect((await client.fetch(target.https, { method: 'POST', body: '{}' })).status).toBe(200);
    expect(proxy.seen.tunnels).toEqual([new URL(target.https).host]);
  });
});
