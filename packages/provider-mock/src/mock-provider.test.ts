import {
  type ChatRequest,
  collectStream,
  createBulwark,
  createPluginRegistry,
  createVirtualClock,
  StreamAccumulator,
  type StreamEvent,
  TimeoutError,
} from '@bulwark/core';
import { createTestCallContext } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { estimateTokens, promptText } from './mock-answer.js';
import { mockErrorCodes } from './mock-errors.js';
import { createMockProvider, type MockProvider } from './mock-provider.js';
import { plugin } from './plugin.js';

const hello: ChatRequest = { model: 'mock-1', messages: [{ role: 'user', content: 'Hello there, mock' }] };

async function drain(
  events: AsyncIterable<StreamEvent>,
): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const seen: StreamEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
    return { events: seen };
  } catch (error) {
    return { events: seen, error };
  }
}

describe('createMockProvider answers', () => {
  it('derives a deterministic text answer with chars/4 usage', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    const first = await mock.complete(hello, createTestCallContext({ clock }));
    const second = await mock.complete(hello, createTestCallContext({ clock }));
    expect(first.text).toBe('Mock answer from mock-1: Hello there, mock');
    expect(second.text).toBe(first.text);
    expect(first.finishReason).toBe('stop');
    expect(first.usage).toEqual({
      inputTokens: Math.ceil('Hello there, mock'.length / 4),
      outputTokens: Math.ceil(first.text.length / 4),
      totalTokens: Math.ceil('Hello there, mock'.length / 4) + Math.ceil(first.text.length / 4),
    });
    expect(mock.calls).toHaveLength(2);
    expect(mock.calls[0]).toMatchObject({
      operation: 'complete',
      outcome: 'success',
      source: 'default',
      model: 'mock-1',
    });
  });

  it('calls a tool with arguments that fit its schema, and answers in text after the tool result', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    const request: ChatRequest = {
      model: 'mock-1',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          name: 'get_weather',
          parameters: {
            type: 'object',
            properties: {
              city: { type: 'string' },
              days: { type: 'integer', minimum: 1 },
              unit: { enum: ['c', 'f'] },
            },
            required: ['city'],
          },
        },
      ],
    };
    const response = await mock.complete(request, createTestCallContext({ clock }));
    expect(response.finishReason).toBe('tool_calls');
    expect(response.toolCalls).toHaveLength(1);
    const call = response.toolCalls[0]!;
    expect(call.name).toBe('get_weather');
    const parsed = JSON.parse(call.arguments) as Record<string, unknown>;
    expect(typeof parsed.city).toBe('string');
    expect(Number.isInteger(parsed.days) && (parsed.days as number) >= 1).toBe(true);
    expect(parsed.unit).toBe('c');

    const followUp: ChatRequest = {
      ...request,
      messages: [
        ...request.messages,
        { role: 'assistant', content: null, toolCalls: [call] },
        { role: 'tool', toolCallId: call.id, content: '21 degrees' },
      ],
    };
    const final = await mock.complete(followUp, createTestCallContext({ clock }));
    expect(final.toolCalls).toEqual([]);
    expect(final.finishReason).toBe('stop');
  });

  it('streams the same answer in chunks, tool calls assembled by index', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, chunkSize: 5 });
    const streamed = await collectStream(mock.stream(hello, createTestCallContext({ clock })));
    const completed = await mock.complete(hello, createTestCallContext({ clock }));
    expect(streamed.text).toBe(completed.text);
    expect(streamed.usage).toEqual(completed.usage);
    expect(mock.calls[0]!.chunks).toBe(Math.ceil(completed.text.length / 5));
    const toolRequest: ChatRequest = {
      ...hello,
      tools: [{ name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
    };
    const streamedTool = await collectStream(mock.stream(toolRequest, createTestCallContext({ clock })));
    const completedTool = await mock.complete(toolRequest, createTestCallContext({ clock }));
    expect(streamedTool.toolCalls).toEqual(completedTool.toolCalls);
    expect(streamedTool.finishReason).toBe('tool_calls');
  });

  it('satisfies JSON schema response formats, maxTokens and stop sequences', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    const json = await mock.complete(
      {
        ...hello,
        responseFormat: {
          type: 'json_schema',
          name: 'person',
          schema: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              age: { type: 'integer' },
              tags: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
      createTestCallContext({ clock }),
    );
    const parsed = JSON.parse(json.text) as { name: string; age: number; tags: string[] };
    expect(typeof parsed.name).toBe('string');
    expect(Number.isInteger(parsed.age)).toBe(true);
    expect(parsed.tags.length).toBeGreaterThan(0);
    const short = await mock.complete({ ...hello, maxTokens: 2 }, createTestCallContext({ clock }));
    expect(short.text).toHaveLength(8);
    expect(short.finishReason).toBe('length');
    const stopped = await mock.complete({ ...hello, stop: [':'] }, createTestCallContext({ clock }));
    expect(stopped.text).toBe('Mock answer from mock-1');
  });

  it('embeds deterministically with unit vectors', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, embeddingDimensions: 4 });
    const result = await mock.embed!(
      { model: 'embed-1', input: ['a', 'b', 'a'] },
      createTestCallContext({ clock }),
    );
    expect(result.embeddings).toHaveLength(3);
    expect(result.embeddings[0]).toEqual(result.embeddings[2]);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(Math.hypot(...result.embeddings[1]!)).toBeCloseTo(1, 10);
    expect(result.usage).toEqual({ inputTokens: 3 });
  });

  it('refuses unknown models with 404 and long prompts with a context-length error', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, models: ['mock-1'], maxContextTokens: 4 });
    await expect(
      mock.complete({ ...hello, model: 'other' }, createTestCallContext({ clock })),
    ).rejects.toMatchObject({
      code: 'not_found',
      status: 404,
    });
    await expect(mock.complete(hello, createTestCallContext({ clock }))).rejects.toMatchObject({
      code: 'context_length_exceeded',
      fallbackable: true,
      retryable: false,
    });
    expect(mock.calls.map((call) => call.error)).toEqual(['not_found', 'context_length_exceeded']);
  });
});

describe('createMockProvider faults', () => {
  it('runs a per-call script: rate limit with retry-after, latency, then ok', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      script: [{ error: 'rate_limited', retryAfterMs: 2000 }, { latencyMs: 300 }, 'ok', 'server_error'],
    });
    const context = createTestCallContext({ clock });
    await expect(mock.complete(hello, context)).rejects.toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterMs: 2000,
      retryable: true,
    });
    const slow = clock.run(mock.complete(hello, context));
    await expect(slow).resolves.toMatchObject({ provider: 'mock' });
    expect(clock.now()).toBe(300);
    await mock.complete(hello, context);
    await expect(mock.complete(hello, context)).rejects.toMatchObject({ code: 'server_error', status: 500 });
    await expect(mock.complete(hello, context)).resolves.toMatchObject({ finishReason: 'stop' });
    expect(mock.calls.map((call) => call.source)).toEqual([
      'script',
      'script',
      'script',
      'script',
      'default',
    ]);
  });

  it('raises every error code with the flags a real provider plugin gives it', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, script: [...mockErrorCodes] });
    const expected: Record<
      string,
      { code: string; retryable: boolean; fallbackable: boolean; status?: number }
    > = {
      rate_limited: { code: 'rate_limited', retryable: true, fallbackable: true, status: 429 },
      quota: { code: 'rate_limited', retryable: false, fallbackable: true, status: 429 },
      overloaded: { code: 'overloaded', retryable: true, fallbackable: true, status: 529 },
      server_error: { code: 'server_error', retryable: true, fallbackable: true, status: 500 },
      timeout: { code: 'timeout', retryable: true, fallbackable: true },
      connection_error: { code: 'connection_error', retryable: true, fallbackable: true },
      authentication: { code: 'authentication', retryable: false, fallbackable: true, status: 401 },
      permission: { code: 'permission', retryable: false, fallbackable: true, status: 403 },
      invalid_request: { code: 'invalid_request', retryable: false, fallbackable: false, status: 400 },
      context_length_exceeded: {
        code: 'context_length_exceeded',
        retryable: false,
        fallbackable: true,
        status: 400,
      },
      content_filtered: { code: 'content_filtered', retryable: false, fallbackable: true, status: 400 },
      not_found: { code: 'not_found', retryable: false, fallbackable: true, status: 404 },
      invalid_response: { code: 'invalid_response', retryable: true, fallbackable: true, status: 200 },
    };
    for (const code of mockErrorCodes) {
      const error = await mock.complete(hello, createTestCallContext({ clock })).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, code).toMatchObject({ ...expected[code], provider: 'mock', model: 'mock-1' });
    }
  });

  it('overrides the status and parses a retry-after header in seconds', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      script: [{ error: 'server_error', status: 503, retryAfter: '3' }],
    });
    await expect(mock.complete(hello, createTestCallContext({ clock }))).rejects.toMatchObject({
      code: 'server_error',
      status: 503,
      retryAfterMs: 3000,
    });
  });

  it('hangs until the signal aborts, leaving no timer', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, script: [{ hang: true }] });
    const controller = new AbortController();
    const pending = mock.complete(hello, createTestCallContext({ clock, signal: controller.signal }));
    await clock.advance(60_000);
    expect(mock.inFlight).toBe(1);
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
    expect(clock.pending()).toBe(0);
    expect(mock.calls[0]).toMatchObject({ outcome: 'aborted', endedAt: 60_000 });
  });

  it('throws the abort reason when a Bulwark layer aborted with its own error (as real providers do)', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, latencyMs: 1000 });
    const controller = new AbortController();
    const pending = mock.complete(hello, createTestCallContext({ clock, signal: controller.signal }));
    await clock.advance(10);
    const reason = new TimeoutError({ phase: 'first-token', timeoutMs: 10 });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(mock.calls[0]).toMatchObject({ outcome: 'aborted', error: 'timeout' });
  });

  it('aborts during latency at once and clears the latency timer', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, latencyMs: 10_000 });
    const controller = new AbortController();
    const pending = mock.complete(hello, createTestCallContext({ clock, signal: controller.signal }));
    await clock.advance(20);
    expect(clock.pending()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
    expect(clock.pending()).toBe(0);
    expect(clock.now()).toBe(20);
  });

  it('cuts a stream after N chunks with a connection error', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, chunkSize: 4, script: [{ streamCutAfter: 2 }] });
    const { events, error } = await drain(mock.stream(hello, createTestCallContext({ clock })));
    expect(events.map((event) => event.type)).toEqual(['start', 'text-delta', 'text-delta']);
    expect(error).toMatchObject({ code: 'connection_error', retryable: true });
    expect(mock.calls[0]).toMatchObject({ chunks: 2, outcome: 'error', error: 'connection_error' });
  });

  it('sends an in-stream error before any content (pre-commit) and after content', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      script: [{ streamErrorAfter: 0 }, { streamErrorAfter: 1, error: 'server_error' }],
    });
    const early = await drain(mock.stream(hello, createTestCallContext({ clock })));
    expect(early.events.map((event) => event.type)).toEqual(['start']);
    expect(early.error).toMatchObject({ code: 'overloaded' });
    const late = await drain(mock.stream(hello, createTestCallContext({ clock })));
    expect(late.events.map((event) => event.type)).toEqual(['start', 'text-delta']);
    expect(late.error).toMatchObject({ code: 'server_error' });
  });

  it('stalls a stream after N chunks until aborted, with chunk delays on the clock', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      chunkSize: 4,
      chunkDelayMs: 100,
      script: [{ streamStallAfter: 3 }],
    });
    const controller = new AbortController();
    const accumulator = new StreamAccumulator();
    const consuming = (async () => {
      for await (const event of mock.stream(
        hello,
        createTestCallContext({ clock, signal: controller.signal }),
      ))
        accumulator.add(event);
    })();
    await clock.advance(10_000);
    expect(accumulator.text).toBe('Mock answer ');
    expect(clock.now()).toBe(10_000);
    expect(clock.pending()).toBe(0);
    controller.abort();
    await expect(consuming).rejects.toMatchObject({ code: 'aborted' });
    expect(mock.calls[0]).toMatchObject({ chunks: 3, outcome: 'aborted' });
  });

  it('records a consumer that stops reading as aborted', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock, chunkSize: 2 });
    for await (const event of mock.stream(hello, createTestCallContext({ clock }))) {
      if (event.type === 'text-delta') break;
    }
    expect(mock.calls[0]).toMatchObject({ outcome: 'aborted', chunks: 1 });
    expect(mock.inFlight).toBe(0);
  });

  it('fails a seeded share of calls, the same way for the same seed', async () => {
    const run = async (seed: number) => {
      const clock = createVirtualClock();
      const mock = createMockProvider({ clock, failureRate: 0.3, seed, recordCalls: true });
      const outcomes: string[] = [];
      for (let index = 0; index < 2000; index += 1) {
        outcomes.push(
          await mock.complete(hello, createTestCallContext({ clock })).then(
            () => 'ok',
            (error: { code: string }) => error.code,
          ),
        );
      }
      return outcomes;
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    const failures = first.filter((outcome) => outcome === 'server_error').length;
    expect(failures).toBeGreaterThan(520);
    expect(failures).toBeLessThan(680);
  });

  it('applies time windows: an outage, then a brownout, then healthy', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      latencyMs: 100,
      windows: [
        { fromMs: 1000, toMs: 2000, error: 'server_error', status: 503, latencyMs: 5, name: 'outage' },
        { fromMs: 2000, toMs: 3000, latencyMs: 900, name: 'brownout' },
      ],
    });
    const observe = async () => {
      const started = clock.now();
      const outcome = await clock.run(
        mock.complete(hello, createTestCallContext({ clock })).then(
          () => 'ok',
          (error: { code: string; status: number }) => `${error.code}:${error.status}`,
        ),
      );
      return { outcome, took: clock.now() - started };
    };
    expect(await observe()).toEqual({ outcome: 'ok', took: 100 });
    await clock.advance(1000 - clock.now());
    expect(await observe()).toEqual({ outcome: 'server_error:503', took: 5 });
    await clock.advance(2000 - clock.now());
    expect(await observe()).toEqual({ outcome: 'ok', took: 900 });
    await clock.advance(3000 - clock.now());
    expect(await observe()).toEqual({ outcome: 'ok', took: 100 });
    expect(mock.calls.map((call) => call.window)).toEqual([undefined, 'outage', 'brownout', undefined]);
  });

  it('samples latency distributions with the seeded random', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      latencyMs: { kind: 'lognormal', medianMs: 800, p99Ms: 8000 },
      seed: 3,
    });
    const durations: number[] = [];
    await clock.run(
      Promise.all(
        Array.from({ length: 2000 }, async () => {
          const started = clock.now();
          await mock.complete(hello, createTestCallContext({ clock }));
          durations.push(clock.now() - started);
        }),
      ),
    );
    durations.sort((a, b) => a - b);
    const median = durations[1000]!;
    const p99 = durations[1980]!;
    expect(median).toBeGreaterThan(650);
    expect(median).toBeLessThan(1000);
    expect(p99).toBeGreaterThan(5000);
    expect(p99).toBeLessThan(12_000);
  });

  it('simulates thousands of concurrent calls through createBulwark in virtual time', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({
      clock,
      latencyMs: { kind: 'uniform', minMs: 100, maxMs: 2000 },
      failureRate: 0.1,
    });
    const bulwark = createBulwark({ providers: [mock], clock });
    const results = await clock.run(
      Promise.allSettled(
        Array.from({ length: 3000 }, () => bulwark.chat({ ...hello, model: 'mock/mock-1' })),
      ),
    );
    expect(results).toHaveLength(3000);
    expect(mock.callCount).toBe(3000);
    expect(clock.now()).toBeLessThanOrEqual(2000);
    expect(clock.pending()).toBe(0);
    const failed = results.filter((result) => result.status === 'rejected').length;
    expect(failed).toBeGreaterThan(200);
    expect(failed).toBeLessThan(400);
  });

  it('rejects bad options with an error naming the field', () => {
    expect(() => createMockProvider({ script: ['exploded' as never] })).toThrow(/script\[0\]/);
    expect(() => createMockProvider({ failureRate: 2 })).toThrow(/failureRate/);
    expect(() => createMockProvider({ windows: [{ fromMs: 5, toMs: 1 }] })).toThrow(/windows\[0\]\.toMs/);
    expect(() => createMockProvider({ chunkSize: 0 })).toThrow(/chunkSize/);
  });

  it('supports enqueue and reset', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    mock.enqueue('authentication');
    await expect(mock.complete(hello, createTestCallContext({ clock }))).rejects.toMatchObject({
      code: 'authentication',
    });
    mock.reset();
    expect(mock.calls).toHaveLength(0);
    expect(mock.callCount).toBe(0);
  });
});

describe('mock plugin descriptor', () => {
  it('creates the provider from validated config under the configured name', async () => {
    const registry = createPluginRegistry();
    registry.register(plugin);
    const provider = await registry.create(
      'provider',
      'mock',
      { models: ['m'], script: [{ error: 'rate_limited', retryAfterMs: 10 }] },
      'providers.demo',
    );
    expect(provider.system).toBe('mock');
    await expect(
      provider.complete({ ...hello, model: 'm' }, createTestCallContext({ clock: createVirtualClock() })),
    ).rejects.toMatchObject({
      code: 'rate_limited',
    });
    await expect(
      registry.create('provider', 'mock', { failureRate: 3 }, 'providers.demo'),
    ).rejects.toMatchObject({
      code: 'configuration',
      path: 'providers.demo.failureRate',
    });
  });

  it('keeps no call records by default, so a long-running host does not grow (opt in with recordCalls)', async () => {
    const registry = createPluginRegistry();
    registry.register(plugin);
    const quiet = (await registry.create(
      'provider',
      'mock',
      { models: ['m'] },
      'providers.quiet',
    )) as MockProvider;
    const recorded = (await registry.create(
      'provider',
      'mock',
      { models: ['m'], recordCalls: true },
      'providers.recorded',
    )) as MockProvider;
    const context = createTestCallContext({ clock: createVirtualClock() });
    for (let index = 0; index < 3; index += 1) {
      await quiet.complete({ ...hello, model: 'm' }, context);
      await recorded.complete({ ...hello, model: 'm' }, context);
    }
    expect(quiet.calls).toHaveLength(0);
    expect(quiet.callCount).toBe(3);
    expect(recorded.calls).toHaveLength(3);
  });

  it('documents the token estimate: prompt characters over four', () => {
    const request: ChatRequest = {
      model: 'x',
      messages: [
        { role: 'system', content: 'abcd' },
        { role: 'user', content: 'efghi' },
      ],
    };
    expect(promptText(request)).toBe('abcdefghi');
    expect(estimateTokens(promptText(request))).toBe(3);
  });
});
