import { createOpenAI } from '@ai-sdk/openai';
import { createCache } from '@bulwark/cache';
import { createMemoryCache } from '@bulwark/cache-memory';
import { type Bulwark, createBulwark } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAISDKProvider } from './aisdk-provider.js';
import { type BulwarkProviderMetadata, bulwarkModel } from './bulwark-model.js';

const apiKey = 'sk-test-bulwark-model-0123456789';
let primary: FakeUpstream;
let secondary: FakeUpstream;
let bulwark: Bulwark;
let cache: ReturnType<typeof createCache>;

const openaiAt = (upstream: FakeUpstream) => (id: string) =>
  createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey }).chat(id);

const trail = (metadata: unknown): BulwarkProviderMetadata =>
  (metadata as { bulwark: BulwarkProviderMetadata }).bulwark;

beforeEach(async () => {
  primary = await createFakeUpstream();
  secondary = await createFakeUpstream();
  cache = createCache({ backend: createMemoryCache({ maxBytes: 1024 * 1024 }), ttlSeconds: 60 });
  bulwark = createBulwark({
    providers: [
      createAISDKProvider({ name: 'primary', model: openaiAt(primary) }),
      createAISDKProvider({ name: 'secondary', model: openaiAt(secondary) }),
    ],
    models: {
      smart: [
        { provider: 'primary', model: 'gpt-4o' },
        { provider: 'secondary', model: 'gpt-4o-mini' },
      ],
    },
    middleware: [cache],
  });
});

afterEach(async () => {
  await bulwark.close();
  await primary.close();
  await secondary.close();
});

describe('bulwarkModel', () => {
  it('is a v4 language model by default and v3 on request', () => {
    expect(bulwarkModel(bulwark, 'smart').specificationVersion).toBe('v4');
    expect(bulwarkModel(bulwark, 'smart', { specificationVersion: 'v3' }).specificationVersion).toBe('v3');
  });

  it('generateText answers through Bulwark; the second identical call is a cache hit', async () => {
    const model = bulwarkModel(bulwark, 'smart');
    const first = await generateText({ model, prompt: 'what is a bulwark?', maxRetries: 0, temperature: 0 });
    expect(first.text).toBe('echo: what is a bulwark?');
    expect(first.finishReason).toBe('stop');
    expect(first.usage.inputTokens).toBeGreaterThan(0);
    const firstMeta = trail(first.providerMetadata);
    expect(firstMeta.cache).toBe('miss');
    expect(firstMeta.provider).toBe('primary');
    expect(firstMeta.attempts).toHaveLength(1);
    await cache.flush();
    const second = await generateText({ model, prompt: 'what is a bulwark?', maxRetries: 0, temperature: 0 });
    expect(second.text).toBe(first.text);
    expect(trail(second.providerMetadata).cache).toBe('hit');
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(0);
  });

  it('generateText falls back to the next target when the first answers 503', async () => {
    primary.enqueue({ kind: 'status', status: 503 });
    const result = await generateText({
      model: bulwarkModel(bulwark, 'smart'),
      prompt: 'fall back',
      maxRetries: 0,
    });
    expect(result.text).toBe('echo: fall back');
    const meta = trail(result.providerMetadata);
    expect(meta.provider).toBe('secondary');
    expect(meta.attempts.map((attempt) => [attempt.provider, attempt.error ?? 'ok'])).toEqual([
      ['primary', 'server_error'],
      ['secondary', 'ok'],
    ]);
    expect(primary.requests).toHaveLength(1);
  });

  it('streamText: a 503 before any output falls back invisibly', async () => {
    primary.enqueue({ kind: 'status', status: 503 });
    const result = streamText({ model: bulwarkModel(bulwark, 'smart'), prompt: 'stream me', maxRetries: 0 });
    const kinds: string[] = [];
    for await (const part of result.fullStream) kinds.push(part.type);
    expect(kinds).not.toContain('error');
    expect(await result.text).toBe('echo: stream me');
    expect(await result.finishReason).toBe('stop');
    const meta = trail(await result.providerMetadata);
    expect(meta.provider).toBe('secondary');
    expect(meta.attempts.map((attempt) => attempt.error ?? 'ok')).toEqual(['server_error', 'ok']);
    expect(secondary.requests).toHaveLength(1);
  });

  it('streamText: a cut after output surfaces as an error part, not a clean finish', async () => {
    primary.enqueue({ kind: 'cut', afterChunks: 4 });
    const errors: unknown[] = [];
    const result = streamText({
      model: bulwarkModel(bulwark, 'smart'),
      prompt: 'one two three four five six',
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    const parts: Array<{ type: string; error?: unknown }> = [];
    for await (const part of result.fullStream) parts.push(part);
    const text = parts
      .filter((part) => part.type === 'text-delta')
      .map((part) => (part as unknown as { text: string }).text)
      .join('');
    expect(text.length).toBeGreaterThan(0);
    const errorPart = parts.find((part) => part.type === 'error');
    expect(errorPart, 'an error part').toBeDefined();
    expect((errorPart?.error as { code?: string } | undefined)?.code).toMatch(
      /connection_error|stream_interrupted/,
    );
    expect(errors).toHaveLength(1);
    expect(
      parts.some(
        (part) => part.type === 'finish' && (part as { finishReason?: string }).finishReason === 'stop',
      ),
    ).toBe(false);
    // The stream commit rule: output was shown, so no fallback replays it on the other target.
    expect(secondary.requests).toHaveLength(0);
  });

  it('generateObject gets a schema-checked object', async () => {
    primary.enqueue({ kind: 'reply', text: '{"city":"Paris","temperature":21}' });
    const result = await generateObject({
      model: bulwarkModel(bulwark, 'smart'),
      schema: z.object({ city: z.string(), temperature: z.number() }),
      prompt: 'weather in Paris as JSON',
      maxRetries: 0,
    });
    expect(result.object).toEqual({ city: 'Paris', temperature: 21 });
    const body = primary.requests[0]?.body as { response_format?: { type?: string; json_schema?: unknown } };
    expect(body.response_format?.type).toBe('json_schema');
  });

  it('runs a two-step tool loop', async () => {
    primary.enqueue({
      kind: 'reply',
      toolCalls: [{ id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const cities: string[] = [];
    const result = await generateText({
      model: bulwarkModel(bulwark, 'smart'),
      prompt: 'weather in Paris?',
      maxRetries: 0,
      stopWhen: stepCountIs(2),
      tools: {
        get_weather: tool({
          description: 'Current weather for a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            cities.push(city);
            return `sunny in ${city}`;
          },
        }),
      },
    });
    expect(cities).toEqual(['Paris']);
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.finishReason).toBe('tool-calls');
    expect(result.text).toContain('sunny in Paris');
    const second = JSON.stringify(primary.requests[1]?.body);
    expect(second).toContain('call_weather_1');
    expect(second).toContain('get_weather');
  });

  it('streams a tool call the AI SDK executes', async () => {
    primary.enqueue({
      kind: 'reply',
      toolCalls: [{ id: 'call_stream_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
    });
    const result = streamText({
      model: bulwarkModel(bulwark, 'smart'),
      prompt: 'weather in Oslo?',
      maxRetries: 0,
      stopWhen: stepCountIs(2),
      tools: {
        get_weather: tool({
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `rainy in ${city}`,
        }),
      },
    });
    expect(await result.text).toContain('rainy in Oslo');
    expect((await result.steps).length).toBe(2);
  });

  it('passes the abort signal to the Bulwark call', async () => {
    primary.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const call = generateText({
      model: bulwarkModel(bulwark, 'smart'),
      prompt: 'never answered',
      maxRetries: 0,
      abortSignal: controller.signal,
    });
    while (primary.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'aborted' });
    await primary.waitForConnections(0, 2000);
    expect(secondary.requests).toHaveLength(0);
  });
  it('streamText: an abort mid-stream closes the upstream socket', async () => {
    primary.enqueue({ kind: 'stall', afterChunks: 4 });
    const controller = new AbortController();
    const result = streamText({
      model: bulwarkModel(bulwark, 'smart'),
      prompt: 'keep streaming until the caller aborts',
      maxRetries: 0,
      abortSignal: controller.signal,
    });
    const seen: string[] = [];
    for await (const part of result.fullStream) {
      seen.push(part.type);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(seen).toContain('text-delta');
    expect(seen).not.toContain('finish-step');
    await primary.waitForConnections(0, 2000);
    expect(secondary.requests).toHaveLength(0);
  });
  it('the AI SDK does not retry what Bulwark already tried (default maxRetries)', async () => {
    primary.enqueue({ kind: 'status', status: 500 });
    secondary.enqueue({ kind: 'status', status: 500 });
    const outcome = await generateText({ model: bulwarkModel(bulwark, 'smart'), prompt: 'both down' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((outcome as { code?: string } | undefined)?.code).toBe('server_error');
    // One request per target: generateText's own retries (maxRetries 2) fire only for APICallErrors.
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(1);
  });
});
