import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEventBus } from '@bulwark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHeaderCount } from './headers.js';
import { postJson, readText, sseData } from './post-json.js';

let server: Server;
let base: string;
const bodies: unknown[] = [];

function route(request: IncomingMessage, response: ServerResponse, body: string): void {
  bodies.push(JSON.parse(body || 'null'));
  switch (request.url) {
    case '/ok':
      response.writeHead(200, {
        'content-type': 'application/json',
        'x-request-id': 'req_ok',
        'x-remaining': '4',
      });
      response.end('{"answer":42}');
      return;
    case '/limited':
      response.writeHead(429, {
        'content-type': 'application/json',
        'retry-after': '3',
        'x-request-id': 'req_429',
      });
      response.end(JSON.stringify({ error: { message: 'Slow down', type: 'rate_limit_error', code: null } }));
      return;
    case '/broken':
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>bad gateway</html>');
      return;
    case '/sse':
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      // Frames split mid-line and a CRLF split across two writes.
      response.write('data: {"n":1}\n\nda');
      setTimeout(() => response.write('ta: {"n":2}\r'), 5);
      setTimeout(() => response.end('\n\r\n: comment\n\ndata: [DONE]\n\n'), 10);
      return;
    case '/cut':
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"n":1}\n\n');
      setTimeout(() => response.socket?.destroy(), 5);
      return;
    default:
      response.writeHead(404);
      response.end();
  }
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => route(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = () => {
  const events = createEventBus();
  const reported: unknown[] = [];
  events.on('ratelimit:headers', (event) => reported.push(event));
  return { signal: new AbortController().signal, events, reported };
};

const options = (path: string) => ({
  url: `${base}${path}`,
  body: { model: 'm', input: 'hi' },
  headers: { authorization: 'Bearer k' },
  provider: 'p',
  model: 'm',
  parseRateLimit: (headers: Parameters<typeof parseHeaderCount>[0]) => {
    const remaining = parseHeaderCount(headers, 'x-remaining');
    return remaining === undefined ? undefined : { remainingRequests: remaining };
  },
});

describe('postJson', () => {
  it('sends the JSON body and returns the answer with its rate limit and request id, reported', async () => {
    const context = call();
    const { response, meta } = await postJson(options('/ok'), context);
    expect(await readText(response, context.signal, meta)).toBe('{"answer":42}');
    expect(meta).toEqual({
      provider: 'p',
      model: 'm',
      status: 200,
      rateLimit: { remainingRequests: 4 },
      requestId: 'req_ok',
    });
    expect(context.reported).toEqual([{ provider: 'p', model: 'm', rateLimit: { remainingRequests: 4 } }]);
    expect(bodies.at(-1)).toEqual({ model: 'm', input: 'hi' });
  });

  it('maps an error answer with its message, type, retry-after and request id', async () => {
    const error = await postJson(options('/limited'), call()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterMs: 3000,
      requestId: 'req_429',
      provider: 'p',
      message: 'p answered 429: Slow down',
    });
  });

  it('keeps a body that is not JSON as the message', async () => {
    const error = await postJson(options('/broken'), call()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'server_error', status: 502, rawBody: '<html>bad gateway</html>' });
  });

  it('fails as a connection error when nothing listens, and as the abort when aborted', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await postJson({ ...options('/ok'), url: `http://127.0.0.1:${port}/` }, call()).catch(
      (caught: unknown) => caught,
    );
    expect(refused).toMatchObject({ code: 'connection_error' });
    const aborted = await postJson(options('/ok'), { ...call(), signal: AbortSignal.abort() }).catch(
      (caught: unknown) => caught,
    );
    expect(aborted).toMatchObject({ code: 'aborted' });
  });
});

describe('sseData', () => {
  it('yields one data payload per event, across chunk boundaries and CRLF line ends', async () => {
    const context = call();
    const { response, meta } = await postJson(options('/sse'), context);
    const payloads: string[] = [];
    for await (const data of sseData(response.body!, context.signal, meta)) payloads.push(data);
    expect(payloads).toEqual(['{"n":1}', '{"n":2}', '[DONE]']);
  });

  it('fails as a connection error when the stream is cut', async () => {
    const context = call();
    const { response, meta } = await postJson(options('/cut'), context);
    const payloads: string[] = [];
    const error = await (async () => {
      for await (const data of sseData(response.body!, context.signal, meta)) payloads.push(data);
    })().catch((caught: unknown) => caught);
    expect(payloads).toEqual(['{"n":1}']);
    expect(error).toMatchObject({ code: 'connection_error', provider: 'p' });
  });
});
