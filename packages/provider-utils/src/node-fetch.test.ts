import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, createGzip, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectionFailure } from './network-errors.js';
import { createNodeFetch } from './node-fetch.js';

let server: Server;
let base: string;
const sockets = new Set<import('node:net').Socket>();
let connections = 0;
const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];

const compressors = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;
type Encoding = keyof typeof compressors;
// Incompressible enough that half the compressed bytes decode to some output but not to the end.
const largeBody = JSON.stringify({
  items: Array.from({ length: 4000 }, (_, index) => `${index}:${(index * 7919) % 10007}`),
});

/** Half of a compressed body, then the socket is destroyed (`/cut/<encoding>/<json|sse>`). */
function cutCompressed(response: ServerResponse, encoding: Encoding, kind: string): void {
  const whole = compressors[encoding](Buffer.from(kind === 'sse' ? `data: ${largeBody}\n\n` : largeBody));
  response.writeHead(200, {
    'content-type': kind === 'sse' ? 'text/event-stream' : 'application/json',
    'content-encoding': encoding,
  });
  response.write(whole.subarray(0, Math.floor(whole.length / 2)));
  setTimeout(() => response.socket?.destroy(), 5);
}

function route(request: IncomingMessage, response: ServerResponse, body: string): void {
  seen.push({ method: request.method, url: request.url, headers: request.headers, body });
  const cut = /^\/cut\/(gzip|deflate|br)\/(json|sse)$/.exec(request.url ?? '');
  if (cut) {
    cutCompressed(response, cut[1] as Encoding, cut[2]!);
    return;
  }
  switch (request.url) {
    case '/json':
      response.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      response.end(JSON.stringify({ echo: body }));
      return;
    case '/gzip':
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify({ zipped: true })));
      return;
    case '/whole/deflate':
    case '/whole/br': {
      const encoding = request.url.slice('/whole/'.length) as Encoding;
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding });
      response.end(compressors[encoding](JSON.stringify({ encoded: encoding })));
      return;
    }
    case '/endless-gzip': {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      const gzip = createGzip();
      gzip.pipe(response);
      gzip.write('data: first\n\n');
      gzip.flush();
      return;
    }
    case '/empty':
      response.writeHead(204);
      response.end();
      return;
    case '/sse': {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        response.write(`data: ${sent}\n\n`);
        sent += 1;
        if (sent === 3) {
          clearInterval(timer);
          response.end('data: [DONE]\n\n');
        }
      }, 5);
      return;
    }
    case '/cut-json':
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"partial":');
      setTimeout(() => response.socket?.destroy(), 5);
      return;
    case '/endless':
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      return;
    default:
      // `/hang`: never answers.
      return;
  }
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => route(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const waitFor = async (condition: () => boolean): Promise<void> => {
  for (let tries = 0; tries < 200 && !condition(); tries += 1)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
};

describe('createNodeFetch', () => {
  it('sends method, headers and body, and answers like fetch', async () => {
    const nodeFetch = createNodeFetch();
    const response = await nodeFetch(`${base}/json`, {
      method: 'POST',
      headers: new Headers({ 'Content-Type': 'application/json', 'X-Custom': 'yes' }),
      body: '{"ä":1}',
    });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(await response.json()).toEqual({ echo: '{"ä":1}' });
    const request = seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.headers['x-custom']).toBe('yes');
    expect(request.headers['content-length']).toBe(String(Buffer.byteLength('{"ä":1}')));
    nodeFetch.close();
  });

  it('reuses one keep-alive socket for sequential calls', async () => {
    const nodeFetch = createNodeFetch();
    const before = connections;
    for (let call = 0; call < 5; call += 1) {
      await (await nodeFetch(`${base}/json`, { method: 'POST', body: 'x' })).text();
    }
    expect(connections - before).toBe(1);
    nodeFetch.close();
  });

  it('decodes gzip bodies and gives 204 a null body', async () => {
    const nodeFetch = createNodeFetch();
    expect(await (await nodeFetch(`${base}/gzip`)).json()).toEqual({ zipped: true });
    const empty = await nodeFetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    nodeFetch.close();
  });

  it('streams a server-sent event body as it arrives', async () => {
    const nodeFetch = createNodeFetch();
    const response = await nodeFetch(`${base}/sse`);
    expect(await response.text()).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: [DONE]\n\n');
    nodeFetch.close();
  });

  it('rejects with AbortError and closes the socket when aborted before the headers', async () => {
    const nodeFetch = createNodeFetch();
    const controller = new AbortController();
    const pending = nodeFetch(`${base}/hang`, { signal: controller.signal });
    pending.catch(() => {});
    await waitFor(() => seen.at(-1)?.url === '/hang');
    const open = [...sockets].filter((socket) => !socket.destroyed).length;
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => [...sockets].filter((socket) => !socket.destroyed).length === open - 1);
    nodeFetch.close();
  });

  it('errors the body stream and closes the socket when aborted mid-body', async () => {
    const nodeFetch = createNodeFetch();
    const controller = new AbortController();
    const before = sockets.size;
    const response = await nodeFetch(`${base}/endless`, { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => sockets.size === before);
    nodeFetch.close();
  });

  it('closes the socket when the consumer cancels the body', async () => {
    const nodeFetch = createNodeFetch();
    const before = sockets.size;
    const response = await nodeFetch(`${base}/endless`);
    await response.body!.cancel();
    await waitFor(() => sockets.size === before);
    nodeFetch.close();
  });

  it('fails like fetch with the connection error when a JSON body is cut', async () => {
    const nodeFetch = createNodeFetch();
    const error = await nodeFetch(`${base}/cut-json`)
      .then((response) => response.text())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect(((error as Error).cause as { code?: string }).code).toBe('ECONNRESET');
    nodeFetch.close();
  });

  describe.each(['gzip', 'deflate', 'br'] as const)('a %s answer cut mid-body', (encoding) => {
    it('rejects the JSON read with the connection error', async () => {
      const nodeFetch = createNodeFetch();
      const started = Date.now();
      const error = await nodeFetch(`${base}/cut/${encoding}/json`)
        .then((response) => response.text())
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe('fetch failed');
      expect(((error as Error).cause as { code?: string }).code).toBe('ECONNRESET');
      expect(isConnectionFailure(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
      nodeFetch.close();
    });

    it('errors the streamed body with the connection error', async () => {
      const nodeFetch = createNodeFetch();
      const response = await nodeFetch(`${base}/cut/${encoding}/sse`);
      const reader = response.body!.getReader();
      let received = 0;
      const error = await (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return undefined;
          received += value.byteLength;
        }
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect((error as { code?: string }).code).toBe('ECONNRESET');
      expect(isConnectionFailure(error)).toBe(true);
      expect(received).toBeLessThan(largeBody.length);
      nodeFetch.close();
    });
  });

  it('decodes whole deflate and br answers', async () => {
    const nodeFetch = createNodeFetch();
    for (const encoding of ['deflate', 'br'] as const) {
      expect(await (await nodeFetch(`${base}/whole/${encoding}`)).json()).toEqual({ encoded: encoding });
    }
    nodeFetch.close();
  });

  it('closes the socket when the consumer cancels a compressed body', async () => {
    const nodeFetch = createNodeFetch();
    const before = sockets.size;
    const response = await nodeFetch(`${base}/endless-gzip`);
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    await reader.cancel();
    await waitFor(() => sockets.size === before);
    nodeFetch.close();
  });

  it('rejects an already aborted signal without connecting', async () => {
    const nodeFetch = createNodeFetch();
    await expect(nodeFetch(`${base}/json`, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    nodeFetch.close();
  });

  it('fails like fetch when nothing listens, keeping the cause', async () => {
    const nodeFetch = createNodeFetch();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await nodeFetch(`http://127.0.0.1:${port}/`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect(((error as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
    nodeFetch.close();
  });

  it('hands bodies it cannot send as bytes to the global fetch', async () => {
    const nodeFetch = createNodeFetch();
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const response = await nodeFetch(`${base}/json`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await response.json()).toEqual({ echo: 'streamed' });
    nodeFetch.close();
  });
});
