import { createOpenAI } from '@ai-sdk/openai';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { embed, generateText, streamText } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

const upstreamKey = 'sk-test-upstream-ai-sdk-0123456789';
let upstream: FakeUpstream;
let gateway: Gateway;
let openai: ReturnType<typeof createOpenAI>;
const logs = captureLogs();

beforeAll(async () => {
  upstream = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        // A Chat-Completions-only upstream: the Responses calls of the AI SDK are translated.
        main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: upstreamKey },
      },
      models: {
        smart: [{ provider: 'main', model: 'gpt-4o' }],
        vectors: [{ provider: 'main', model: 'text-embedding-3-small' }],
      },
      retry: false,
      breaker: false,
      log: { level: 'error' },
    },
    logger: logs.logger,
  });
  openai = createOpenAI({ baseURL: `${await gateway.listen()}/v1`, apiKey: 'unused' });
});

afterEach(() => upstream.reset());

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

describe("the Vercel AI SDK's default openai('…') (the Responses API) through the gateway", () => {
  it('generateText', async () => {
    const result = await generateText({ model: openai('smart'), prompt: 'ping', maxRetries: 0 });
    expect(result.text).toBe('echo: ping');
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(upstream.requests[0]!.path).toBe('/v1/chat/completions');
  });

  it('streamText', async () => {
    const result = streamText({ model: openai('smart'), prompt: 'stream please', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('echo: stream please');
    expect(await result.finishReason).toBe('stop');
  });

  it('embed', async () => {
    const { embedding } = await embed({
      model: openai.embedding('vectors'),
      value: 'alpha beta',
      maxRetries: 0,
    });
    expect(embedding.length).toBeGreaterThan(0);
    expect(upstream.requests[0]!.path).toBe('/v1/embeddings');
  });
});
