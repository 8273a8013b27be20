import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

// `plugin: openai-compatible` needs no `plugins:` entry (its conventional package loads on demand), no API key
// for a local server, and keeps the gateway's own `limits` out of the plugin's strict schema.
let upstream: FakeUpstream;
let gateway: Gateway;
let client: OpenAI;
const logs = captureLogs();

beforeAll(async () => {
  upstream = await createFakeUpstream();
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        local: {
          plugin: 'openai-compatible',
          baseURL: upstream.openaiBaseURL,
          models: ['llama3.2'],
          limits: { rpm: 600 },
        },
      },
      models: { llama: [{ provider: 'local', model: 'llama3.2' }] },
      retry: false,
      breaker: false,
    },
    logger: logs.logger,
  });
  client = new OpenAI({
    baseURL: `${await gateway.listen()}/v1`,
    apiKey: 'unused-without-auth',
    maxRetries: 0,
  });
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

describe('a local OpenAI-compatible server behind the gateway (plugin: openai-compatible)', () => {
  it('answers and streams, sending no authorization upstream', async () => {
    const answer = await client.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'hello local' }],
    });
    expect(answer.choices[0]?.message.content).toBe('echo: hello local');
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'stream local' }],
      stream: true,
    })) {
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBe('echo: stream local');
    expect(
      upstream.requests.map((request) => [
        (request.body as { model?: string }).model,
        request.headers.authorization,
      ]),
    ).toEqual([
      ['llama3.2', undefined],
      ['llama3.2', undefined],
    ]);
  });

  it('names the config path of a missing baseURL', async () => {
    await expect(
      createGateway({
        config: { server: { port: 0 }, providers: { local: { plugin: 'openai-compatible' } }, models: {} },
        logger: logs.logger,
      }),
    ).rejects.toMatchObject({ code: 'configuration', path: 'providers.local.baseURL' });
  });
});
