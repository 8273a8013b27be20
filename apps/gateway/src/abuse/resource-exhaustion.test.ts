import { request as httpRequest, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../config/config-schema.js';
import { createGateway, type Gateway } from '../gateway.js';

let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await createFakeUpstream();
});

afterAll(async () => {
  await upstream.close();
});

function baseConfig(overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    server: { port: 0 },
    providers: { main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-abuse-0000' } },
    models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
    retry: false,
    breaker: false,
    log: { level: 'error' },
    ...overrides,
  };
}

async function withGateway<T>(
  config: GatewayConfigInput,
  run: (gateway: Gateway, url: string) => Promise<T>,
): Promise<T> {
  const gateway = await createGateway({ config });
  try {
    return await run(gateway, await gateway.listen());
  } finally {
    await gateway.close({ drainTimeoutMs: 0 });
  }
}

/** Every label value of every sample in a Prometheus text exposition. */
function labelValues(exposition: string): string[] {
  const values: string[] = [];
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    for (const match of line.matchAll(/="((?:[^"\\]|\\.)*)"/g)) values.push(match[1]!);
  }
  return values;
}

/** The value of the sample `name{labels}`, labels given in exposition order; undefined when absent. */
function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(',');
  const prefix = `${name}{${rendered}} `;
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

/** POSTs a chat request; reads the answer with a parser that accepts long headers (a pass-through target is echoed). */
function post(url: string, body: unknown): Promise<number> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${url}/v1/chat/completions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        maxHeaderSize: 8 * 1024 * 1024,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}

describe('metric labels hold only configured names', () => {
  it('keeps /metrics small and answering under huge and many distinct client model names', async () => {
    // Two providers: a bare unknown name is no pass-through target then (404), `main/<name>` is one (200).
    const providers = {
      main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-abuse-0000' },
      spare: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-abuse-0000' },
    };
    await withGateway(baseConfig({ providers }), async (_gateway, url) => {
      expect(await post(url, { model: 'smart', messages: [{ role: 'user', content: 'hi' }] })).toBe(200);
      const baseline = await (await fetch(`${url}/metrics`)).text();

      const statuses = new Set<number>();
      const huge = (index: number): string => `${String(index).padStart(4, '0')}${'m'.repeat(1024 * 1024)}`;
      for (let index = 0; index < 12; index += 1) {
        // Unknown bare names (404), pass-through names the provider answers, and a missing route part.
        const model =
          index % 3 === 0 ? huge(index) : index % 3 === 1 ? `main/${huge(index)}` : `nope/${huge(index)}`;
        statuses.add(await post(url, { model, messages: [{ role: 'user', content: 'x' }] }));
      }
      for (let index = 0; index < 300; index += 1) {
        const model = index % 2 === 0 ? `client-model-${index}` : `main/client-model-${index}`;
        statuses.add(await post(url, { model, messages: [{ role: 'user', content: 'x' }] }));
      }
      // Requests that end in 400 before a model is known count too.
      statuses.add(await post(url, { model: 'smart', messages: 'not a list' }));
      expect([...statuses].some((status) => status === 200)).toBe(true);
      expect([...statuses].some((status) => status >= 400 && status < 500)).toBe(true);

      const scrape = await fetch(`${url}/metrics`);
      expect(scrape.status).toBe(200);
      const exposition = await scrape.text();
      // Only the `other` series (and new status codes) were added: a few kilobytes, whatever the names.
      expect(exposition.length).toBeLessThan(baseline.length + 16 * 1024);
      const longestConfigured = Math.max(
        ...['smart', 'main', 'gpt-4o', 'main/gpt-4o'].map((name) => name.length),
      );
      for (const value of labelValues(exposition)) {
        if (/^\d|^[+-]Inf$|^v\d/.test(value)) continue; // bucket bounds, status codes, version strings
        expect(value.length).toBeLessThanOrEqual(Math.max(longestConfigured, 'other'.length, 24));
      }
      expect(exposition).not.toContain('client-model-');
      expect(
        sample(exposition, 'bulwark_requests_total', { route: 'openai', model: 'other', status: '404' }),
      ).toBeGreaterThan(0);
      expect(
        sample(exposition, 'bulwark_attempts_total', {
          provider: 'main',
          model: 'other',
          outcome: 'success',
        }),
      ).toBeGreaterThan(0);
      expect(
        sample(exposition, 'bulwark_requests_total', { route: 'openai', model: 'smart', status: '200' }),
      ).toBe(1);
    });
  }, 60_000);
});

describe('a cut stream counts in tokens as it counts in cost', () => {
  it('adds the estimated usage of a stream cut mid-way to bulwark_tokens_total', async () => {
    // One USD per token in and out: the cost then equals the token count it was computed from.
    const usage = { includeDefaultPrices: false, prices: { 'main/gpt-4o': { input: 1e6, output: 1e6 } } };
    await withGateway(baseConfig({ usage }), async (_gateway, url) => {
      upstream.enqueue({ kind: 'cut', afterChunks: 4 });
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'smart',
        stream: true,
        messages: [{ role: 'user', content: 'a fairly long prompt that will be cut after a few chunks' }],
      });
      let text = '';
      const failure = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })().catch((thrown: unknown) => thrown);
      expect(failure).toBeInstanceOf(Error);
      expect(text.length).toBeGreaterThan(0);

      const exposition = await (await fetch(`${url}/metrics`)).text();
      const labels = { provider: 'main', model: 'gpt-4o', tenant: '' };
      const cost = sample(exposition, 'bulwark_cost_usd_total', labels);
      const input = sample(exposition, 'bulwark_tokens_total', { ...labels, type: 'input' });
      const output = sample(exposition, 'bulwark_tokens_total', { ...labels, type: 'output' });
      expect(cost).toBeGreaterThan(0);
      expect(input).toBeGreaterThan(0);
      expect(output).toBeGreaterThan(0);
      expect(input! + output!).toBe(cost);
    });
  });
});

/** What a raw client saw: every byte the gateway sent, and when the gateway closed the connection. */
interface RawExchange {
  socket: Socket;
  /** Resolves with the bytes received once the gateway ends or closes the connection. */
  closed: Promise<{ text: string; afterMs: number }>;
}

/** Opens a TCP connection to the gateway and writes `head` (request line and headers, possibly partial). */
function rawClient(url: string, head: string): RawExchange {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = performance.now();
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  const closed = new Promise<{ text: string; afterMs: number }>((resolve) => {
    const done = (): void =>
      resolve({ text: Buffer.concat(chunks).toString('utf8'), afterMs: performance.now() - started });
    socket.once('end', done);
    socket.once('close', done);
    socket.on('error', () => {});
  });
  if (head !== '') socket.write(head);
  return { socket, closed };
}

function chatHead(path: string, contentLength: number, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra}\r\n`;
}

function parseRawResponse(text: string): { status: number; headers: string; body: string } {
  const split = text.indexOf('\r\n\r\n');
  const headers = text.slice(0, split);
  return {
    status: Number(headers.split(' ')[1]),
    headers: headers.toLowerCase(),
    body: text.slice(split + 4),
  };
}

describe('request timeouts', () => {
  it('answers 408 in the caller format and closes the connection when the body never comes', async () => {
    const server = { port: 0, bodyIdleTimeoutMs: 300, requestTimeoutMs: 20_000 };
    await withGateway(baseConfig({ server }), async (_gateway, url) => {
      const openai = rawClient(url, chatHead('/v1/chat/completions', 200));
      const anthropic = rawClient(url, chatHead('/v1/messages', 200));
      anthropic.socket.write('{"model":'); // one byte-run, then silence

      const first = await openai.closed;
      const openaiAnswer = parseRawResponse(first.text);
      expect(openaiAnswer.status).toBe(408);
      expect(openaiAnswer.headers).toContain('connection: close');
      const openaiBody = JSON.parse(openaiAnswer.body) as {
        error: { type: string; param: string; message: string };
      };
      expect(openaiBody.error.type).toBe('invalid_request_error');
      expect(openaiBody.error.param).toBe('body');
      expect(openaiBody.error.message).toContain('300 ms');
      expect(first.afterMs).toBeGreaterThanOrEqual(280);
      expect(first.afterMs).toBeLessThan(10_000);

      const anthropicAnswer = parseRawResponse((await anthropic.closed).text);
      expect(anthropicAnswer.status).toBe(408);
      const anthropicBody = JSON.parse(anthropicAnswer.body) as { type: string; error: { type: string } };
      expect(anthropicBody.type).toBe('error');
      expect(anthropicBody.error.type).toBe('invalid_request_error');

      // The in-flight slots are free again.
      const exposition = await (await fetch(`${url}/metrics`)).text();
      expect(exposition).toMatch(/^bulwark_inflight_requests 0$/m);
      expect(
        sample(exposition, 'bulwark_requests_total', { route: 'openai', model: 'other', status: '408' }),
      ).toBe(1);
    });
  });

  it('answers 408 to a body that keeps dripping past the whole-request bound', async () => {
    const server = { port: 0, bodyIdleTimeoutMs: 20_000, requestTimeoutMs: 600 };
    await withGateway(baseConfig({ server }), async (_gateway, url) => {
      const client = rawClient(url, chatHead('/v1/chat/completions', 100_000));
      const drip = setInterval(() => client.socket.write(' '), 50);
      try {
        const { text, afterMs } = await client.closed;
        const answer = parseRawResponse(text);
        expect(answer.status).toBe(408);
        expect((JSON.parse(answer.body) as { error: { message: string } }).error.message).toContain(
          'not received within 600 ms',
        );
        expect(afterMs).toBeGreaterThanOrEqual(580);
        expect(afterMs).toBeLessThan(15_000);
      } finally {
        clearInterval(drip);
      }
    });
  });

  it('closes a connection that sends no complete headers within the header timeout', async () => {
    const server = { port: 0, headersTimeoutMs: 300 };
    await withGateway(baseConfig({ server }), async (_gateway, url) => {
      const silent = rawClient(url, '');
      const partial = rawClient(url, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      for (const client of [silent, partial]) {
        const { afterMs } = await client.closed;
        expect(afterMs).toBeGreaterThanOrEqual(280);
        expect(afterMs).toBeLessThan(10_000);
      }
      expect(parseRawResponse((await partial.closed).text).status).toBe(408);
    });
  });

  it('does not hold shutdown for a client that never sends its body', async () => {
    const server = { port: 0, bodyIdleTimeoutMs: 300, drainTimeoutMs: 30_000 };
    const gateway = await createGateway({ config: baseConfig({ server }) });
    const url = await gateway.listen();
    const client = rawClient(url, chatHead('/v1/chat/completions', 50));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await gateway.close();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(parseRawResponse((await client.closed).text).status).toBe(408);
  });
});

describe('a client that stops reading a stream', () => {
  // 32 MB of answer: far more than the socket buffers between upstream, gateway and client hold.
  const word = `${'w'.repeat(1999)} `;
  const answer = word.repeat(16_000);

  it.each([
    ['with the default (coalescing) cache', {}],
    ['without a cache', { cache: false as const }],
  ])(
    'stalls the upstream instead of buffering the answer, %s',
    async (_name, sections) => {
      const longUpstream = await createFakeUpstream({ defaultBehavior: { kind: 'reply', text: answer } });
      const providers = {
        main: { plugin: 'openai', baseURL: longUpstream.openaiBaseURL, apiKey: 'sk-test-abuse-0000' },
      };
      try {
        await withGateway(baseConfig({ providers, ...sections }), async (gateway, url) => {
          const responses: ServerResponse[] = [];
          gateway.server.on('request', (_request, response: ServerResponse) => responses.push(response));
          const body = JSON.stringify({
            model: 'smart',
            stream: true,
            messages: [{ role: 'user', content: 'go' }],
          });
          const client = rawClient(
            url,
            `${chatHead('/v1/chat/completions', Buffer.byteLength(body), 'Connection: close\r\n')}${body}`,
          );
          let received = 0;
          const onData = (chunk: Buffer): void => {
            received += chunk.length;
          };
          client.socket.on('data', onData);
          await until(() => received > 0);
          client.socket.pause();

          // Held bytes: what the response queued in user space once the socket's kernel buffer is full.
          const held = (): number => {
            const response = responses[0]!;
            return response.writableLength + (response.socket?.writableLength ?? 0);
          };
          let most = 0;
          const deadline = performance.now() + 2000;
          while (performance.now() < deadline) {
            most = Math.max(most, held());
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          // The gateway stopped reading the upstream: its answer has not ended, 32 MB later.
          expect(longUpstream.activeRequests()).toBe(1);
          expect(most).toBeLessThan(256 * 1024);

          // Reading again resumes the flow to the end: nothing was lost on the way.
          const finished = new Promise<void>((resolve) => client.socket.once('end', () => resolve()));
          client.socket.resume();
          await finished;
          expect(received).toBeGreaterThan(answer.length);
          expect(longUpstream.activeRequests()).toBe(0);
        });
      } finally {
        await longUpstream.close();
      }
    },
    60_000,
  );
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('streams cut by the drain deadline', () => {
  it('end like any cut stream: an error event in the caller format and no terminator', async () => {
    const slowUpstream = await createFakeUpstream({
      defaultBehavior: { kind: 'reply', text: 'slow '.repeat(400), chunkDelayMs: 25 },
    });
    const providers = {
      main: { plugin: 'openai', baseURL: slowUpstream.openaiBaseURL, apiKey: 'sk-test-abuse-0000' },
    };
    const gateway = await createGateway({ config: baseConfig({ providers, cache: false }) });
    try {
      const url = await gateway.listen();
      const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
      const anthropic = new Anthropic({ baseURL: url, apiKey: 'none', maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: 'take your time' }];

      const openaiStream = await openai.chat.completions.create({ model: 'smart', stream: true, messages });
      const anthropicStream = await anthropic.messages.create({
        model: 'smart',
        max_tokens: 4000,
        stream: true,
        messages,
      });
      const rawOpenAI = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'smart', stream: true, messages }),
      });
      const rawAnthropic = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'smart', max_tokens: 4000, stream: true, messages }),
      });
      const openaiIterator = openaiStream[Symbol.asyncIterator]();
      const anthropicIterator = anthropicStream[Symbol.asyncIterator]();
      await openaiIterator.next();
      await anthropicIterator.next();

      const closed = gateway.close({ drainTimeoutMs: 300 });
      const drain = async (iterator: AsyncIterator<unknown>): Promise<unknown> => {
        try {
          while (!(await iterator.next()).done) {}
          return undefined;
        } catch (error) {
          return error;
        }
      };
      const [openaiError, anthropicError, openaiText, anthropicText] = await Promise.all([
        drain(openaiIterator),
        drain(anthropicIterator),
        rawOpenAI.text(),
        rawAnthropic.text(),
      ]);
      await closed;

      expect(openaiError).toBeInstanceOf(OpenAI.APIError);
      expect((openaiError as Error).message).toContain('shutting down');
      expect(anthropicError).toBeInstanceOf(Anthropic.APIError);
      expect((anthropicError as Error).message).toContain('shutting down');

      expect(openaiText).toContain('slow');
      expect(openaiText).toMatch(/^data: \{"error":\{.*"type":"service_unavailable"/m);
      expect(openaiText).not.toContain('[DONE]');
      expect(anthropicText).toContain('slow');
      expect(anthropicText).toMatch(
        /^event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error"/m,
      );
      expect(anthropicText).not.toContain('message_stop');
    } finally {
      await gateway.close({ drainTimeoutMs: 0 });
      await slowUpstream.close();
    }
  }, 30_000);
});
