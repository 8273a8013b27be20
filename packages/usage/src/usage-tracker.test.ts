import {
  type ChatRequest,
  ConnectionError,
  collectStream,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type MiddlewareV1,
  type ProviderV1,
  type StreamEvent,
  type Usage,
} from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { createRetry } from '@bulwark/retry';
import { describe, expect, it } from 'vitest';
import type { UsageRecordedEvent } from './events.js';
import { billFailures, captureLogger, testCache } from './test-helpers/pipeline.js';
import { estimateRequestTokens } from './token-estimate.js';
import { createUsageTracker } from './usage-tracker.js';

const request: ChatRequest = { model: 'smart', messages: [{ role: 'user', content: 'Explain retries.' }] };

// gpt-4o: $2.50 in, $1.25 cached in, $10 out per million tokens.
const openaiUsage: Usage = {
  inputTokens: 1000,
  cachedInputTokens: 200,
  outputTokens: 500,
  totalTokens: 1500,
};
const openaiCost = (800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6; // 0.00725
// claude-sonnet-4: $3 in, $0.30 cache read, $3.75 cache write, $15 out.
const claudeUsage: Usage = {
  inputTokens: 2000,
  cachedInputTokens: 1000,
  cacheWriteTokens: 500,
  outputTokens: 100,
  totalTokens: 2100,
};
const claudeCost = (500 * 3 + 1000 * 0.3 + 500 * 3.75 + 100 * 15) / 1e6; // 0.005175
const failedUsage: Usage = { inputTokens: 400, outputTokens: 50, totalTokens: 450 };
const failedCost = (400 * 2.5 + 50 * 10) / 1e6; // 0.0015

function setup(options: {
  openai?: ProviderV1;
  claude?: ProviderV1;
  middleware?: (tracker: ReturnType<typeof createUsageTracker>) => MiddlewareV1[];
  tracker?: Parameters<typeof createUsageTracker>[0];
}) {
  const clock = createVirtualClock(Date.UTC(2025, 0, 15, 12));
  const events = createEventBus();
  const logger = captureLogger();
  const recorded: UsageRecordedEvent[] = [];
  events.on('usage:recorded', (event) => recorded.push(event));
  const openai =
    options.openai ?? createMockProvider({ name: 'openai', clock, respond: () => ({ usage: openaiUsage }) });
  const claude =
    options.claude ?? createMockProvider({ name: 'claude', clock, respond: () => ({ usage: claudeUsage }) });
  const tracker = createUsageTracker(options.tracker);
  const bulwark = createBulwark({
    providers: [openai, claude],
    models: {
      smart: [
        { provider: 'openai', model: 'gpt-4o' },
        { provider: 'claude', model: 'claude-sonnet-4-20250514' },
      ],
      solo: [{ provider: 'openai', model: 'gpt-4o' }],
      custom: [{ provider: 'openai', model: 'in-house-model' }],
    },
    middleware: options.middleware ? options.middleware(tracker) : [tracker],
    clock,
    events,
    logger,
  });
  return { bulwark, clock, events, recorded, tracker, logger };
}

describe('createUsageTracker', () => {
  it('prices a plain call from the provider usage, with cached tokens at their discount', async () => {
    const { bulwark, recorded, tracker } = setup({});
    const response = await bulwark.chat(request, { metadata: { tenant: 'acme' } });
    expect(response.costUsd).toBeCloseTo(openaiCost, 12);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      tenant: 'acme',
      model: 'smart',
      stream: false,
      estimated: false,
      unpriced: [],
      usage: { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 500, totalTokens: 1500 },
    });
    expect(recorded[0]!.costUsd).toBeCloseTo(openaiCost, 12);
    expect(tracker.snapshot()).toEqual([
      expect.objectContaining({
        tenant: 'acme',
        provider: 'openai',
        model: 'gpt-4o',
        attempts: 1,
        failedAttempts: 0,
        inputTokens: 1000,
        cachedInputTokens: 200,
        outputTokens: 500,
        costUsd: openaiCost,
      }),
    ]);
  });

  it('prices a streamed call from the final usage chunk', async () => {
    const { bulwark, recorded } = setup({});
    const events: StreamEvent[] = [];
    for await (const event of bulwark.stream(request)) events.push(event);
    expect(events.at(-2)).toEqual({ type: 'usage', usage: openaiUsage });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.stream).toBe(true);
    expect(recorded[0]!.estimated).toBe(false);
    expect(recorded[0]!.costUsd).toBeCloseTo(openaiCost, 12);
    expect(recorded[0]!.attempts).toHaveLength(1);
  });

  it('counts a failed attempt that billed exactly once, and one that did not bill not at all', async () => {
    const clock = createVirtualClock(Date.UTC(2025, 0, 15));
    const mock = createMockProvider({
      name: 'openai',
      clock,
      script: ['server_error', 'server_error', 'ok'],
      respond: () => ({ usage: openaiUsage }),
    });
    // The first failure billed tokens (as a provider does for output cut by a 500); the second did not.
    const openai = billFailures(mock, (index) => (index === 0 ? failedUsage : undefined));
    const {
      bulwark,
      recorded,
      clock: callClock,
      tracker,
    } = setup({
      openai,
      middleware: (tracker) => [
        tracker,
        createRetry({ maxAttempts: 3, baseDelayMs: 100, budget: false, random: () => 0.5 }),
      ],
    });
    const response = await callClock.run(bulwark.chat(request, { metadata: { tenant: 'acme' } }));
    expect(response.attempts.map((attempt) => attempt.error ?? 'ok')).toEqual([
      'server_error',
      'server_error',
      'ok',
    ]);
    expect(response.costUsd).toBeCloseTo(failedCost + openaiCost, 12);
    expect(
      recorded[0]!.attempts.map((attempt) => [attempt.attempt, attempt.failed, attempt.costUsd]),
    ).toEqual([
      [1, true, failedCost],
      [3, false, openaiCost],
    ]);
    expect(recorded[0]!.usage.inputTokens).toBe(1400);
    const [sample] = tracker.snapshot();
    expect(sample).toMatchObject({ attempts: 2, failedAttempts: 1, inputTokens: 1400, outputTokens: 550 });
    expect(sample!.costUsd).toBeCloseTo(failedCost + openaiCost, 12);
  });

  it('counts a streamed retry once per billed attempt', async () => {
    const clock = createVirtualClock(Date.UTC(2025, 0, 15));
    const mock = createMockProvider({
      name: 'openai',
      clock,
      script: ['overloaded', 'ok'],
      respond: () => ({ usage: openaiUsage }),
    });
    const openai = billFailures(mock, (index) => (index === 0 ? failedUsage : undefined));
    const {
      bulwark,
      recorded,
      clock: callClock,
    } = setup({
      openai,
      middleware: (tracker) => [
        tracker,
        createRetry({ maxAttempts: 2, baseDelayMs: 100, budget: false, random: () => 0.5 }),
      ],
    });
    const response = await callClock.run(collectStream(bulwark.stream(request)));
    expect(response.usage).toEqual(openaiUsage);
    expect(recorded[0]!.costUsd).toBeCloseTo(failedCost + openaiCost, 12);
    expect(recorded[0]!.attempts).toHaveLength(2);
  });

  it('prices a fallback call at each target’s own price', async () => {
    const clock = createVirtualClock(Date.UTC(2025, 0, 15));
    const mock = createMockProvider({ name: 'openai', clock, script: ['server_error'] });
    const openai = billFailures(mock, () => failedUsage);
    const { bulwark, recorded } = setup({ openai });
    const response = await bulwark.chat(request);
    expect(response.provider).toBe('claude');
    expect(response.costUsd).toBeCloseTo(failedCost + claudeCost, 12);
    expect(recorded[0]!.attempts.map((attempt) => `${attempt.provider}/${attempt.model}`)).toEqual([
      'openai/gpt-4o',
      'claude/claude-sonnet-4-20250514',
    ]);
  });

  it('charges nothing for a cache hit and records the saving', async () => {
    const { bulwark, recorded, tracker } = setup({ middleware: (tracker) => [tracker, testCache()] });
    const first = await bulwark.chat(request, { metadata: { tenant: 'acme' } });
    const second = await bulwark.chat(request, { metadata: { tenant: 'acme' } });
    expect(first.costUsd).toBeCloseTo(openaiCost, 12);
    expect(second.cache).toBe('hit');
    expect(second.costUsd).toBe(0);
    expect(recorded[1]).toMatchObject({ cache: 'hit', costUsd: 0, attempts: [] });
    expect(recorded[1]!.savedUsd).toBeCloseTo(openaiCost, 12);
    const [sample] = tracker.snapshot();
    expect(sample).toMatchObject({ attempts: 1, cacheHits: 1 });
    expect(sample!.savedUsd).toBeCloseTo(openaiCost, 12);
    expect(sample!.costUsd).toBeCloseTo(openaiCost, 12);
  });

  it('charges nothing for a streamed cache hit', async () => {
    const { bulwark, recorded } = setup({ middleware: (tracker) => [tracker, testCache()] });
    await collectStream(bulwark.stream(request));
    await collectStream(bulwark.stream(request));
    expect(recorded[1]).toMatchObject({ cache: 'hit', costUsd: 0, attempts: [] });
    expect(recorded[1]!.savedUsd).toBeCloseTo(openaiCost, 12);
  });

  it('estimates a stream the consumer stopped early, flagged as estimated', async () => {
    const text = 'x'.repeat(160);
    const { bulwark, recorded } = setup({
      openai: createMockProvider({ name: 'openai', chunkSize: 16, respond: () => ({ text }) }),
    });
    let chunks = 0;
    for await (const event of bulwark.stream(request)) {
      if (event.type === 'text-delta') chunks += 1;
      if (chunks === 3) break;
    }
    expect(recorded).toHaveLength(1);
    const inputTokens = estimateRequestTokens({ ...request, model: 'gpt-4o' });
    // 3 chunks of 16 characters were delivered: 48 / 4.3 → 12 output tokens.
    expect(recorded[0]!.usage).toEqual({
      inputTokens,
      outputTokens: 12,
      totalTokens: inputTokens + 12,
      estimated: true,
    });
    expect(recorded[0]!.estimated).toBe(true);
    expect(recorded[0]!.costUsd).toBeCloseTo((inputTokens * 2.5 + 12 * 10) / 1e6, 12);
  });

  it('estimates a stream cut after output was sent', async () => {
    const text = 'y'.repeat(64);
    const { bulwark, recorded } = setup({
      openai: createMockProvider({
        name: 'openai',
        chunkSize: 16,
        script: [{ streamCutAfter: 2 }],
        respond: () => ({ text }),
      }),
    });
    await expect(collectStream(bulwark.stream(request))).rejects.toMatchObject({
      code: 'stream_interrupted',
    });
    expect(recorded[0]!.error).toBe('stream_interrupted');
    expect(recorded[0]!.usage.outputTokens).toBe(8);
    expect(recorded[0]!.usage.estimated).toBe(true);
    expect(recorded[0]!.attempts).toHaveLength(1);
  });

  it('estimates a cut passthrough stream from the text of its wire frames, as it does text deltas', async () => {
    const text = 'w'.repeat(48);
    const cutProvider = (frames: 'wire' | 'text'): ProviderV1 => ({
      specificationVersion: 'v1',
      name: 'openai',
      system: 'openai',
      capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
      complete: () => Promise.reject(new Error('streams only')),
      async *stream(streamed): AsyncGenerator<StreamEvent> {
        yield { type: 'start', id: 'cut-1', provider: 'openai', model: streamed.model };
        for (let index = 0; index < text.length; index += 16) {
          const piece = text.slice(index, index + 16);
          if (frames === 'wire')
            yield {
              type: 'wire',
              data: `data: ${JSON.stringify({ piece })}\n\n`,
              content: true,
              text: piece,
            };
          else yield { type: 'text-delta', text: piece };
        }
        throw new ConnectionError({ provider: 'openai', message: 'socket closed mid-stream' });
      },
    });
    const outputs: number[] = [];
    for (const frames of ['wire', 'text'] as const) {
      const { bulwark, recorded } = setup({ openai: cutProvider(frames) });
      await expect(collectStream(bulwark.stream({ ...request, model: 'solo' }))).rejects.toThrow();
      expect(recorded[0]!.usage.estimated).toBe(true);
      outputs.push(recorded[0]!.usage.outputTokens);
    }
    expect(outputs[0]).toBeGreaterThan(0);
    expect(outputs[0]).toBe(outputs[1]);
  });

  it('estimates a plain answer that came without usage instead of counting it free', async () => {
    const text = 'z'.repeat(40);
    const noUsage: ProviderV1 = {
      specificationVersion: 'v1',
      name: 'openai',
      system: 'openai',
      capabilities: { streaming: true, tools: true, vision: true, jsonMode: true },
      async complete(request) {
        return {
          id: 'r1',
          provider: 'openai',
          model: request.model,
          text,
          toolCalls: [],
          finishReason: 'stop',
          attempts: [],
        };
      },
      async *stream() {
        yield { type: 'finish', finishReason: 'stop' };
      },
    };
    const { bulwark, recorded } = setup({ openai: noUsage });
    const response = await bulwark.chat(request);
    const inputTokens = estimateRequestTokens({ ...request, model: 'gpt-4o' });
    expect(recorded[0]!.usage).toEqual({
      inputTokens,
      outputTokens: 10,
      totalTokens: inputTokens + 10,
      estimated: true,
    });
    expect(response.costUsd).toBeCloseTo((inputTokens * 2.5 + 10 * 10) / 1e6, 12);
  });

  it('says explicitly when a model has no price, never $0', async () => {
    const { bulwark, recorded, logger, tracker } = setup({});
    const response = await bulwark.chat({ ...request, model: 'custom' });
    expect(response.costUsd).toBeUndefined();
    expect(recorded[0]!.costUsd).toBeUndefined();
    expect(recorded[0]!.unpriced).toEqual(['openai/in-house-model']);
    await bulwark.chat({ ...request, model: 'custom' });
    expect(logger.lines.filter((line) => line.message.startsWith('no price'))).toEqual([
      {
        level: 'warn',
        message: 'no price for model: its cost is unknown and not counted',
        fields: { model: 'openai/in-house-model' },
      },
    ]);
    expect(tracker.snapshot()[0]).toMatchObject({ attempts: 2, unpricedAttempts: 2, costUsd: 0 });
  });

  it('prices a custom model from the configured prices', async () => {
    const { bulwark } = setup({
      tracker: { prices: { prices: { 'in-house-model': { input: 1, output: 2 } } } },
    });
    const response = await bulwark.chat({ ...request, model: 'custom' });
    expect(response.costUsd).toBeCloseTo((1000 * 1 + 500 * 2) / 1e6, 12);
  });

  it('accounts for a failed call that billed', async () => {
    const mock = createMockProvider({ name: 'openai', script: ['invalid_request'] });
    const { bulwark, recorded } = setup({ openai: billFailures(mock, () => failedUsage) });
    await expect(bulwark.chat({ ...request, model: 'solo' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(recorded[0]!.error).toBe('invalid_request');
    expect(recorded[0]!.costUsd).toBeCloseTo(failedCost, 12);
  });

  it('bounds label cardinality: tenants past maxTenants are summed as other', async () => {
    const { bulwark, tracker } = setup({ tracker: { maxTenants: 2 } });
    for (const tenant of ['a', 'b', 'c', 'd']) await bulwark.chat(request, { metadata: { tenant } });
    await bulwark.chat(request);
    const byTenant = Object.fromEntries(tracker.snapshot().map((sample) => [sample.tenant, sample.attempts]));
    expect(byTenant).toEqual({ a: 1, b: 1, other: 2, none: 1 });
  });
});

describe('embeddings', () => {
  it('prices embedding calls by their input tokens', async () => {
    const tracker = createUsageTracker();
    const bulwark = createBulwark({
      providers: [createMockProvider({ name: 'openai' })],
      models: { vectors: [{ provider: 'openai', model: 'text-embedding-3-small' }] },
      middleware: [tracker],
    });
    const result = await bulwark.embed({ model: 'vectors', input: ['alpha beta', 'gamma'] });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.costUsd).toBeCloseTo((result.usage.inputTokens * 0.02) / 1e6, 12);
  });
});
