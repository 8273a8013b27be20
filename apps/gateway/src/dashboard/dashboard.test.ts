import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createEventBus, createVirtualClock } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway.js';
import { createDashboardRoutes } from './dashboard-routes.js';
import { createDashboardState, type DashboardSnapshot } from './dashboard-state.js';

const secret = 'sk-dashboard-secret-4242424242';
const metricsKey = 'mk-dashboard-metrics-777777';
const apiKey = 'ak-dashboard-api-888888';
const prompt = 'the-private-prompt-about-llamas';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    })
      .on('error', reject)
      .end();
  });
}

/** Reads the SSE stream until `until` accepts a snapshot (or the stream's text so far), then closes it. */
function readStream(
  url: string,
  until: (snapshot: DashboardSnapshot) => boolean,
  headers: Record<string, string> = {},
): Promise<{ text: string; snapshot: DashboardSnapshot }> {
  return new Promise((resolve, reject) => {
    const client = httpRequest(url, { headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        const frames = text.split('\n\n').filter((frame) => frame.startsWith('event: snapshot'));
        const last = frames.at(-1);
        if (!last) return;
        const snapshot = JSON.parse(last.slice(last.indexOf('data: ') + 6)) as DashboardSnapshot;
        if (until(snapshot)) {
          client.destroy();
          resolve({ text, snapshot });
        }
      });
    });
    client.on('error', reject);
    client.end();
  });
}

describe('dashboard state', () => {
  it('aggregates breaker, latency, errors, retries, fallbacks, cache and spend from the event bus', async () => {
    const clock = createVirtualClock(1_000_000);
    const events = createEventBus();
    const state = createDashboardState({
      events,
      clock,
      breakerCooldownMs: 5000,
      bucketMs: 1000,
      buckets: 10,
    });
    const base = { callId: 'c1' };
    events.emit('attempt:failure', {
      ...base,
      provider: 'p',
      model: 'm',
      attempt: 1,
      durationMs: 30,
      error: 'server_error',
      status: 503,
    });
    events.emit('retry:scheduled', {
      ...base,
      provider: 'p',
      model: 'm',
      attempt: 1,
      delayMs: 120,
      error: 'server_error',
    });
    events.emit('breaker:state', { provider: 'p', model: 'm', from: 'closed', to: 'open' });
    events.emit('fallback:taken', {
      ...base,
      from: { provider: 'p', model: 'm' },
      to: { provider: 'f', model: 'm' },
      error: 'server_error',
    });
    events.emit('attempt:success', { ...base, provider: 'f', model: 'm', attempt: 1, durationMs: 10 });
    events.emit('limiter:wait', { ...base, provider: 'f', model: 'm', waitedMs: 40, queueLength: 3 });
    events.emit('cache:lookup', { callId: 'c2', status: 'hit', key: 'secret-key-hash' });
    events.emit('cache:lookup', { callId: 'c1', status: 'miss' });
    events.emit('usage:recorded', {
      callId: 'c2',
      model: 'alias',
      stream: false,
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      attempts: [],
      unpriced: [],
      cache: 'hit',
      savedUsd: 0.25,
      estimated: false,
    });
    events.emit('usage:recorded', {
      callId: 'c1',
      model: 'alias',
      stream: false,
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      costUsd: 0.5,
      attempts: [
        {
          provider: 'f',
          model: 'm',
          attempt: 1,
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          costUsd: 0.5,
          failed: false,
        },
      ],
      unpriced: [],
      estimated: false,
    });
    events.emit('call:end', {
      ...base,
      model: 'alias',
      stream: false,
      durationMs: 200,
      target: { provider: 'f', model: 'm' },
      attempts: [
        {
          provider: 'p',
          model: 'm',
          attempt: 1,
          startedAt: 0,
          durationMs: 30,
          error: 'server_error',
          status: 503,
        },
        { provider: 'f', model: 'm', attempt: 1, startedAt: 0, durationMs: 10 },
      ],
    });
    await clock.advance(2000);
    events.emit('call:end', {
      callId: 'c3',
      model: 'alias',
      stream: false,
      durationMs: 5,
      error: 'overloaded',
      attempts: [],
    });

    const snapshot = state.snapshot();
    const primary = snapshot.targets.find((target) => target.target === 'p/m')!;
    const fallback = snapshot.targets.find((target) => target.target === 'f/m')!;
    expect(primary).toMatchObject({ breaker: 'open', openings: 1, failures: 1, errors: { server_error: 1 } });
    expect(primary.nextProbeAt).toBe(1_000_000 + 5000);
    expect(fallback).toMatchObject({ breaker: 'closed', p50Ms: 10, queueLength: 3, spendUsd: 0.5 });
    expect(snapshot.totals).toMatchObject({
      calls: 2,
      failedCalls: 1,
      retries: 1,
      fallbacks: 1,
      breakerOpenings: 1,
    });
    expect(snapshot.cache).toEqual({ hits: 1, misses: 1, hitRatio: 0.5, savedUsd: 0.25 });
    const [newest, older] = snapshot.recent;
    expect(newest).toMatchObject({ error: 'overloaded' });
    expect(older).toMatchObject({ answeredBy: 'f/m', fallback: true, queuedMs: 40 });
    expect(older!.attempts[0]).toEqual({
      target: 'p/m',
      error: 'server_error',
      status: 503,
      durationMs: 30,
      waitMs: 120,
    });
    expect(snapshot.series.requests.slice(-3)).toEqual([1, 0, 1]);
    expect(snapshot.series.errors.slice(-3)).toEqual([0, 0, 1]);
    expect(JSON.stringify(snapshot)).not.toContain('secret-key-hash');
    await clock.advance(5000);
    expect(state.snapshot().targets.find((target) => target.target === 'f/m')!.queueLength).toBe(0);
    state.close();
  });

  it('grows the time to the next probe after each failed probe, up to the cap, and resets it on close', () => {
    const clock = createVirtualClock(0);
    const events = createEventBus();
    const state = createDashboardState({
      events,
      clock,
      breakerCooldownMs: 1000,
      breakerMaxCooldownMs: 3000,
      breakerCooldownMultiplier: 2,
    });
    const target = { provider: 'p', model: 'm' };
    const nextProbe = (): number | undefined => state.snapshot().targets[0]!.nextProbeAt;
    events.emit('breaker:state', { ...target, from: 'closed', to: 'open' });
    expect(nextProbe()).toBe(1000);
    events.emit('breaker:state', { ...target, from: 'open', to: 'half-open' });
    expect(nextProbe()).toBeUndefined();
    events.emit('breaker:state', { ...target, from: 'half-open', to: 'open' });
    expect(nextProbe()).toBe(2000);
    events.emit('breaker:state', { ...target, from: 'open', to: 'half-open' });
    events.emit('breaker:state', { ...target, from: 'half-open', to: 'open' });
    expect(nextProbe()).toBe(3000);
    events.emit('breaker:state', { ...target, from: 'open', to: 'half-open' });
    events.emit('breaker:state', { ...target, from: 'half-open', to: 'closed' });
    events.emit('breaker:state', { ...target, from: 'closed', to: 'open' });
    expect(nextProbe()).toBe(1000);
    state.close();
  });
});

describe('dashboard without auth', () => {
  it('refuses a client that is not on loopback', () => {
    const state = createDashboardState({ events: createEventBus(), clock: createVirtualClock(0) });
    const routes = createDashboardRoutes({ state, auth: undefined });
    const answered: { status?: number; body?: string } = {};
    const request = {
      url: '/dashboard',
      method: 'GET',
      headers: { host: 'gateway.example' },
      socket: { remoteAddress: '192.0.2.7' },
      resume() {},
    } as unknown as IncomingMessage;
    const response = {
      writeHead(status: number) {
        answered.status = status;
      },
      end(body: string) {
        answered.body = body;
      },
    } as unknown as ServerResponse;
    expect(routes(request, response, '/dashboard')).toBe(true);
    expect(answered.status).toBe(403);
    expect(answered.body).toContain('loopback');
    expect(routes(request, response, '/v1/models')).toBe(false);
    state.close();
  });
});

describe('dashboard routes', () => {
  let upstream: FakeUpstream;
  let gateway: Gateway;
  let url: string;

  beforeAll(async () => {
    upstream = await createFakeUpstream();
    gateway = await createGateway({
      config: {
        server: { port: 0 },
        providers: { main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: secret } },
        models: { chat: [{ provider: 'main', model: 'gpt-4o' }] },
        log: { level: 'error' },
      },
    });
    url = await gateway.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await gateway.close({ drainTimeoutMs: 0 });
    await upstream.close();
  });

  it('serves the page on / and /dashboard to a loopback client, with no secret in it', async () => {
    for (const path of ['/', '/dashboard']) {
      const page = await get(`${url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain("new EventSource('/dashboard/events')");
      expect(page.body).not.toContain(secret);
    }
  });

  it('streams a snapshot on connect and a new one after a call, without the prompt or the key', async () => {
    const first = await readStream(`${url}/dashboard/events`, () => true);
    expect(first.text.startsWith('retry: 1000\n\n')).toBe(true);
    const before = first.snapshot.totals.calls;
    const updated = readStream(`${url}/dashboard/events`, (snapshot) => snapshot.totals.calls > before);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: prompt }] });
    const { text, snapshot } = await updated;
    expect(snapshot.recent[0]).toMatchObject({ model: 'chat', answeredBy: 'main/gpt-4o', fallback: false });
    expect(snapshot.targets[0]).toMatchObject({ target: 'main/gpt-4o', breaker: 'closed' });
    expect(text).not.toContain(prompt);
    expect(text).not.toContain(secret);
    expect(JSON.stringify(gateway.dashboard.snapshot())).not.toContain(prompt);
  });
});

describe('dashboard with auth', () => {
  let upstream: FakeUpstream;
  let gateway: Gateway;
  let url: string;

  beforeAll(async () => {
    upstream = await createFakeUpstream();
    gateway = await createGateway({
      config: {
        server: { port: 0 },
        auth: {
          keys: [
            { key: apiKey, name: 'app' },
            { key: metricsKey, name: 'ops', roles: ['metrics'] },
          ],
        },
        providers: { main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: secret } },
        log: { level: 'error' },
      },
    });
    url = await gateway.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await gateway.close({ drainTimeoutMs: 0 });
    await upstream.close();
  });

  it('needs a metrics key: a header, or ?key= exchanged for an HttpOnly session cookie', async () => {
    expect((await get(`${url}/dashboard`)).status).toBe(401);
    expect((await get(`${url}/dashboard/events`)).status).toBe(401);
    expect((await get(`${url}/dashboard`, { authorization: `Bearer ${apiKey}` })).status).toBe(401);
    expect((await get(`${url}/dashboard?key=${apiKey}`)).status).toBe(401);
    expect((await get(`${url}/dashboard`, { authorization: `Bearer ${metricsKey}` })).status).toBe(200);

    const exchanged = await get(`${url}/dashboard?key=${metricsKey}`);
    expect(exchanged.status).toBe(303);
    expect(exchanged.headers.location).toBe('/dashboard');
    const cookie = String(exchanged.headers['set-cookie']);
    expect(cookie).toMatch(/^bulwark_dashboard=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(metricsKey);
    const session = cookie.split(';')[0]!;
    const page = await get(`${url}/dashboard`, { cookie: session });
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(metricsKey);
    const stream = await readStream(`${url}/dashboard/events`, () => true, { cookie: session });
    expect(stream.text.startsWith('retry: ')).toBe(true);
    expect((await get(`${url}/dashboard`, { cookie: 'bulwark_dashboard=forged' })).status).toBe(401);
  });
});
