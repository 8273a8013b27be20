import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

// `plugin: ai-sdk` is loaded on demand from @bulwark/ai-sdk, which imports `package:` (@ai-sdk/google):
// a third wire format (Gemini) behind the gateway's OpenAI route, on the AI SDK's own provider package.
const geminiKey = 'gemini-test-key-0123456789abcdef';
const openaiKey = 'sk-test-openai-upstream-0123456789';
let gemini: FakeUpstream;
let backup: FakeUpstream;
let gateway: Gateway;
let client: OpenAI;
let anthropic: Anthropic;
const logs = captureLogs();

beforeAll(async () => {
  gemini = await createFakeUpstream({ apiKey: geminiKey });
  backup = await createFakeUpstream({ apiKey: openaiKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        gemini: {
          plugin: 'ai-sdk',
          package: '@ai-sdk/google',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
          options: { apiKey: '${env:TEST_GEMINI_KEY}', baseURL: gemini.googleBaseURL },
          models: ['gemini-2.5-flash'],
        },
        backup: { plugin: 'openai', baseURL: backup.openaiBaseURL, apiKey: openaiKey },
      },
      models: {
        fast: [
          { provider: 'gemini', model: 'gemini-2.5-flash' },
          { provider: 'backup', model: 'gpt-4o-mini' },
        ],
        'gemini-only': [{ provider: 'gemini', model: 'gemini-2.5-flash' }],
      },
      retry: false,
      breaker: false,
    },
    env: { TEST_GEMINI_KEY: geminiKey },
    logger: logs.logger,
  });
  const url = await gateway.listen();
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-without-auth', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: url, apiKey: 'unused-without-auth', maxRetries: 0 });
});

afterEach(() => {
  gemini.reset();
  backup.reset();
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await gemini.close();
  await backup.close();
});

describe('an AI SDK provider package behind the gateway (plugin: ai-sdk, package: @ai-sdk/google)', () => {
  it('serves an OpenAI client from Gemini generateContent, with the key from an env: reference', async () => {
    gemini.enqueue({ kind: 'reply', usage: { inputTokens: 12, outputTokens: 5 } });
    const { data, response } = await client.chat.completions
      .create({
        model: 'gemini-only',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hello gemini' },
        ],
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello gemini');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    expect(response.headers.get('x-bulwark-target')).toBe('gemini/gemini-2.5-flash');
    const upstream = gemini.requests[0];
    expect(upstream?.format).toBe('google');
    expect(upstream?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(upstream?.headers['x-goog-api-key']).toBe(geminiKey);
    expect(JSON.stringify(upstream?.body)).toContain('Be brief.');
  });

  it('streams Gemini SSE to an OpenAI client', async () => {
    const stream = await client.chat.completions.create({
      model: 'gemini-only',
      messages: [{ role: 'user', content: 'stream some words please' }],
      stream: true,
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('echo: stream some words please');
    expect(finish).toBe('stop');
    expect(gemini.requests[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('falls back from a failing Gemini target to an OpenAI-format one', async () => {
    gemini.enqueue({ kind: 'status', status: 503 });
    const { data, response } = await client.chat.completions
      .create({ model: 'fast', messages: [{ role: 'user', content: 'fall back please' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: fall back please');
    expect(response.headers.get('x-bulwark-target')).toBe('backup/gpt-4o-mini');
    expect(gemini.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
  });

  it('maps a Gemini 429 to a rate-limit answer the OpenAI client sees', async () => {
    gemini.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const error = await client.chat.completions
      .create({ model: 'gemini-only', messages: [{ role: 'user', content: 'too many' }] })
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('7');
  });

  it('serves an Anthropic client from Gemini too, streamed', async () => {
    const stream = anthropic.messages.stream({
      model: 'gemini-only',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'anthropic via gemini' }],
    });
    const message = await stream.finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'echo: anthropic via gemini' });
    expect(message.stop_reason).toBe('end_turn');
    expect(gemini.requests[0]?.format).toBe('google');
  });

  it('shows the plugin and its package in describe(), never the key from the environment', () => {
    const described = gateway.plan.describe();
    expect(described.providers.gemini).toMatchObject({ plugin: 'ai-sdk', package: '@bulwark/ai-sdk' });
    expect(JSON.stringify(described)).not.toContain(geminiKey);
  });

  it('runs a tool call through Gemini functionCall parts', async () => {
    gemini.enqueue({ kind: 'reply', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const data = await client.chat.completions.create({
      model: 'gemini-only',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
    });
    const call = data.choices[0]?.message.tool_calls?.[0];
    expect(data.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    const sent = gemini.requests[0]?.body as { tools?: Array<{ functionDeclarations?: unknown[] }> };
    expect(sent.tools?.[0]?.functionDeclarations).toHaveLength(1);
  });
});
