import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway.js';

// gpt-4o costs $2.50 in and $10 out per million tokens: 1,000 in and 200 out cost $0.0045.
const usage = { inputTokens: 1000, outputTokens: 200 };
const teamKey = 'sk-team-a-secret-0001';
const upstreamKey = 'sk-upstream-secret-0002';
const prompt = 'the-prompt-text-that-must-not-be-logged';

let upstream: FakeUpstream;
let gateway: Gateway;
let directory: string;
let file: string;
let url: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'bulwark-request-log-'));
  file = join(directory, 'requests.log');
  upstream = await createFakeUpstream({ defaultBehavior: { kind: 'reply', usage } });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      auth: { keys: [{ key: teamKey, name: 'team-a' }] },
      providers: {
        main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: upstreamKey },
        backup: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: upstreamKey },
      },
      models: {
        smart: [
          { provider: 'main', model: 'gpt-4o' },
          { provider: 'backup', model: 'gpt-4o' },
        ],
      },
      retry: false,
      cache: false,
      log: { level: 'info', file },
    },
  });
  url = await gateway.listen();
});

afterAll(async () => {
  await gateway?.close({ drainTimeoutMs: 0 });
  await upstream?.close();
  rmSync(directory, { recursive: true, force: true });
});

const lines = (): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the request log', () => {
  it('writes one JSON line per request with its tenant, attempts, tokens, cost and latency — never the prompt or a key', async () => {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: teamKey, maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: url, apiKey: teamKey, maxRetries: 0 });

    // 1. A plain call: its cost and tokens come back as headers.
    const { data, response } = await openai.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe(`echo: ${prompt}`);
    expect(response.headers.get('x-bulwark-cost-usd')).toBe('0.0045');
    expect(response.headers.get('x-bulwark-tokens')).toBe('input=1000, output=200');

    // 2. The first target fails: the line names both attempts.
    upstream.enqueue({ kind: 'status', status: 500 });
    await openai.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: prompt }] });

    // 3. A stream: time to first token, cost in the log.
    const stream = await openai.chat.completions.create({
      model: 'smart',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: prompt }],
    });
    for await (const _chunk of stream);

    // 4. The Anthropic format, translated to the OpenAI targets; cost headers there too.
    const message = await anthropic.messages
      .create({ model: 'smart', max_tokens: 300, messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    expect(message.response.headers.get('x-bulwark-cost-usd')).toBe('0.0045');

    // 5. A wrong key.
    const stranger = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-wrong-key-0003', maxRetries: 0 });
    await expect(
      stranger.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: prompt }] }),
    ).rejects.toMatchObject({ status: 401 });

    const logged = lines();
    expect(logged).toHaveLength(5);
    for (const line of logged) {
      expect(typeof line.time).toBe('string');
      expect(line.requestId).toMatch(/^req_[0-9a-f]{32}$/);
      expect(line.msg).toBe('request');
      expect(line.level).toBe('info');
      expect(typeof line.latencyMs).toBe('number');
    }
    expect(new Set(logged.map((line) => line.requestId)).size).toBe(5);
    const [plain, fallback, streamed, translated, refused] = logged;
    expect(plain).toMatchObject({
      tenant: 'team-a',
      route: '/v1/chat/completions',
      format: 'openai',
      alias: 'smart',
      stream: false,
      status: 200,
      target: 'main/gpt-4o',
      attempts: [{ target: 'main/gpt-4o' }],
      cache: 'bypass',
      tokensIn: 1000,
      tokensOut: 200,
      costUsd: 0.0045,
      mode: 'passthrough',
    });
    expect(fallback).toMatchObject({
      status: 200,
      target: 'backup/gpt-4o',
      attempts: [{ target: 'main/gpt-4o', status: 500, error: 'server_error' }, { target: 'backup/gpt-4o' }],
    });
    expect(streamed).toMatchObject({
      stream: true,
      status: 200,
      target: 'main/gpt-4o',
      tokensIn: 1000,
      tokensOut: 200,
      costUsd: 0.0045,
      attempts: [{ target: 'main/gpt-4o' }],
    });
    expect(streamed!.firstTokenMs).toBeGreaterThan(0);
    expect(streamed!.firstTokenMs as number).toBeLessThanOrEqual(streamed!.latencyMs as number);
    expect(translated).toMatchObject({
      route: '/v1/messages',
      format: 'anthropic',
      status: 200,
      mode: 'translated',
      costUsd: 0.0045,
    });
    expect(refused).toMatchObject({
      status: 401,
      error: { class: 'authentication', name: 'AuthenticationError' },
    });
    expect(refused!.tenant).toBeUndefined();

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(prompt);
    expect(text).not.toContain(teamKey);
    expect(text).not.toContain(upstreamKey);
    expect(text).not.toContain('sk-wrong-key');
    expect(text).not.toContain('echo:');
  });
});

describe('request log sampling', () => {
  it('writes the sampled share of requests and forgets the costs of the others', async () => {
    const { createEventBus } = await import('@bulwark/core');
    const { createRequestLog } = await import('./request-log.js');
    const { PassThrough } = await import('node:stream');
    const destination = new PassThrough();
    let text = '';
    destination.on('data', (chunk) => (text += chunk));
    const draws = [0.1, 0.9, 0.2, 0.7];
    const log = createRequestLog({
      events: createEventBus(),
      sample: 0.5,
      destination,
      random: () => draws.shift()!,
    });
    for (let request = 0; request < 4; request += 1) log.begin('/v1/chat/completions', 'openai').end(200);
    log.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(text.trim().split('\n')).toHaveLength(2);
  });
});

describe('the request log on the JSON routes', () => {
  it('writes a line for an embeddings request with its tenant, tokens and no input text', async () => {
    const before = lines().length;
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: teamKey, maxRetries: 0 });
    await openai.embeddings.create({ model: 'main/text-embedding-3-small', input: prompt });
    const added = lines().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      tenant: 'team-a',
      route: '/v1/embeddings',
      format: 'openai',
      alias: 'main/text-embedding-3-small',
      status: 200,
    });
    expect(readFileSync(file, 'utf8')).not.toContain(prompt);
  });
});
