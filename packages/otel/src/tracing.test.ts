import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type ChatRequest,
  type ChatResponse,
  collectStream,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type MiddlewareV1,
  type StreamEvent,
} from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { createRetry } from '@bulwark/retry';
import {
  type Context,
  type ContextManager,
  context as otelContext,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createTracing, type TracingOptions } from './tracing.js';

const request: ChatRequest = {
  model: 'smart',
  temperature: 0.2,
  maxTokens: 256,
  messages: [{ role: 'user', content: 'What is a circuit breaker?' }],
};
const usage = { inputTokens: 120, outputTokens: 40, totalTokens: 160 };

const retry = createRetry({ maxAttempts: 2, baseDelayMs: 200, budget: false, random: () => 0.5 });

/** A queue in front of each attempt (target level) that waits 25 ms and reports it like the limiter. */
const queue: MiddlewareV1 = {
  specificationVersion: 'v1',
  name: 'test-queue',
  level: 'target',
  async complete(request, context, next) {
    await context.clock.sleep(25, context.signal);
    context.events.emit('limiter:wait', {
      callId: context.callId,
      provider: context.target!.provider,
      model: context.target!.model,
      waitedMs: 25,
      queueLength: 0,
    });
    return next(request, context);
  },
};

/** Serves the second identical request from memory, marked as a hit. */
function cache(): MiddlewareV1 {
  let stored: ChatResponse | undefined;
  return {
    specificationVersion: 'v1',
    name: 'test-cache',
    stage: 'cache',
    async complete(request, context, next) {
      if (stored) return { ...stored, cache: 'hit', attempts: [] };
      stored = await next(request, context);
      return { ...stored, cache: 'miss' };
    },
  };
}

function setup(options: {
  openaiScript?: ('ok' | 'server_error' | 'invalid_request')[];
  tracing?: TracingOptions;
  middleware: (tracing: ReturnType<typeof createTracing>) => MiddlewareV1[];
}) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const clock = createVirtualClock(Date.UTC(2025, 0, 15));
  const events = createEventBus();
  const openai = createMockProvider({
    name: 'openai',
    clock,
    script: options.openaiScript ?? [],
    respond: () => ({ text: 'A breaker stops calls to a failing service.', usage }),
  });
  const claude = createMockProvider({
    name: 'claude',
    clock,
    chunkSize: 8,
    respond: () => ({ text: 'It trips after repeated failures.', usage }),
  });
  const systems: Record<string, string> = { openai: 'openai', claude: 'anthropic' };
  const tracing = createTracing({
    tracer: provider.getTracer('test'),
    systemOf: (name) => systems[name],
    events,
    ...options.tracing,
  });
  const bulwark = createBulwark({
    providers: [openai, claude],
    models: {
      smart: [
        { provider: 'openai', model: 'gpt-4o' },
        { provider: 'claude', model: 'claude-sonnet-4-20250514' },
      ],
    },
    middleware: options.middleware(tracing),
    clock,
    events,
  });
  return { bulwark, clock, events, exporter };
}

function tree(spans: ReadableSpan[]) {
  const root = spans.find((span) => span.parentSpanContext === undefined);
  expect(root).toBeDefined();
  const children = spans
    .filter((span) => span.parentSpanContext?.spanId === root!.spanContext().spanId)
    .sort(
      (left, right) =>
        (left.startTime[0] - right.startTime[0]) * 1e9 + (left.startTime[1] - right.startTime[1]),
    );
  for (const span of spans) expect(span.spanContext().traceId).toBe(root!.spanContext().traceId);
  return { root: root!, children };
}

describe('createTracing', () => {
  it('traces a call that retried once and fell back: one call span, one child per attempt', async () => {
    const { bulwark, clock, events, exporter } = setup({
      openaiScript: ['server_error', 'server_error'],
      middleware: (tracing) => [tracing, retry, queue, tracing.attempt],
    });
    events.emit('breaker:state', {
      provider: 'claude',
      model: 'claude-sonnet-4-20250514',
      from: 'open',
      to: 'half-open',
    });
    const response = await clock.run(bulwark.chat(request, { metadata: { tenant: 'acme' } }));
    expect(response.provider).toBe('claude');

    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(4);
    const { root, children } = tree(spans);
    expect(root.name).toBe('chat smart');
    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'smart',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.system': 'anthropic',
      'gen_ai.response.model': 'claude-sonnet-4-20250514',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 40,
      'bulwark.tenant': 'acme',
      'bulwark.attempts': 3,
      'bulwark.fallback.taken': true,
      'bulwark.cache.hit': false,
      'bulwark.target': 'claude/claude-sonnet-4-20250514',
    });
    expect(root.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(root.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(root.events.map((event) => event.name)).toEqual(['bulwark.retry', 'bulwark.fallback']);
    expect(root.status.code).toBe(SpanStatusCode.UNSET);

    expect(children.map((span) => span.name)).toEqual([
      'chat gpt-4o',
      'chat gpt-4o',
      'chat claude-sonnet-4-20250514',
    ]);
    const [first, second, third] = children;
    expect(first!.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'bulwark.attempt': 1,
      'bulwark.target': 'openai/gpt-4o',
      'bulwark.limiter.queue_wait_ms': 25,
      'error.type': 'server_error',
      'bulwark.error.class': 'ServerError',
      'bulwark.error.retryable': true,
      'bulwark.error.status': 500,
    });
    expect(first!.attributes['bulwark.retry.delay_ms']).toBeUndefined();
    expect(first!.status.code).toBe(SpanStatusCode.ERROR);
    expect(second!.attributes).toMatchObject({
      'bulwark.attempt': 2,
      'bulwark.retry.delay_ms': 100,
      'bulwark.limiter.queue_wait_ms': 25,
      'error.type': 'server_error',
    });
    expect(third!.attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'bulwark.attempt': 1,
      'bulwark.fallback.from': 'openai/gpt-4o',
      'bulwark.breaker.state': 'half-open',
      'gen_ai.response.model': 'claude-sonnet-4-20250514',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 40,
    });
    expect(third!.attributes['error.type']).toBeUndefined();
    expect(third!.status.code).toBe(SpanStatusCode.UNSET);
    expect(third!.kind).toBe(2); // CLIENT
  });

  it('makes the same tree from the attempt events when the attempt middleware is not installed', async () => {
    const { bulwark, clock, exporter } = setup({
      openaiScript: ['server_error', 'server_error'],
      middleware: (tracing) => [tracing, retry],
    });
    await clock.run(bulwark.chat(request));
    const { root, children } = tree(exporter.getFinishedSpans());
    expect(root.attributes['bulwark.attempts']).toBe(3);
    expect(
      children.map((span) => [span.name, span.attributes['bulwark.attempt'], span.attributes['error.type']]),
    ).toEqual([
      ['chat gpt-4o', 1, 'server_error'],
      ['chat gpt-4o', 2, 'server_error'],
      ['chat claude-sonnet-4-20250514', 1, undefined],
    ]);
    expect(children[1]!.attributes['bulwark.retry.delay_ms']).toBe(100);
    expect(children[2]!.attributes['bulwark.fallback.from']).toBe('openai/gpt-4o');
    expect(children[2]!.attributes['gen_ai.usage.output_tokens']).toBe(40);
  });

  it('records a failed call on the call span', async () => {
    const { bulwark, clock, exporter } = setup({
      openaiScript: ['invalid_request'],
      middleware: (tracing) => [tracing, tracing.attempt],
    });
    await expect(clock.run(bulwark.chat(request))).rejects.toMatchObject({ code: 'invalid_request' });
    const { root, children } = tree(exporter.getFinishedSpans());
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
    expect(root.attributes).toMatchObject({
      'error.type': 'invalid_request',
      'bulwark.error.class': 'InvalidRequestError',
      'bulwark.attempts': 1,
      'bulwark.fallback.taken': false,
    });
    expect(children).toHaveLength(1);
    expect(children[0]!.attributes['error.type']).toBe('invalid_request');
  });

  it('traces a stream: usage from the final chunk, time to first token, and a cancelled stream', async () => {
    const { bulwark, exporter } = setup({ middleware: (tracing) => [tracing, tracing.attempt] });
    const events: StreamEvent[] = [];
    for await (const event of bulwark.stream(request)) events.push(event);
    const { root, children } = tree(exporter.getFinishedSpans());
    expect(root.attributes).toMatchObject({
      'bulwark.stream': true,
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 40,
      'gen_ai.response.finish_reasons': ['stop'],
      'bulwark.time_to_first_token_ms': 0,
    });
    expect(children).toHaveLength(1);
    expect(children[0]!.attributes['gen_ai.usage.output_tokens']).toBe(40);

    exporter.reset();
    for await (const event of bulwark.stream(request)) if (event.type === 'text-delta') break;
    const cancelled = tree(exporter.getFinishedSpans());
    expect(cancelled.root.attributes['bulwark.stream.cancelled']).toBe(true);
    expect(cancelled.children[0]!.attributes['bulwark.stream.cancelled']).toBe(true);
  });

  it('ends the event-made attempt span of a stream the consumer stopped', async () => {
    const { bulwark, exporter } = setup({ middleware: (tracing) => [tracing] });
    for await (const event of bulwark.stream(request)) if (event.type === 'text-delta') break;
    const { children } = tree(exporter.getFinishedSpans());
    expect(children).toHaveLength(1);
    expect(children[0]!.attributes['bulwark.stream.cancelled']).toBe(true);
  });

  it('marks a cache hit, which has no attempt spans', async () => {
    const { bulwark, exporter } = setup({ middleware: (tracing) => [tracing, cache(), tracing.attempt] });
    await bulwark.chat(request);
    exporter.reset();
    await bulwark.chat(request);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes).toMatchObject({
      'bulwark.cache.hit': true,
      'bulwark.cache.status': 'hit',
      'bulwark.attempts': 0,
    });
  });

  it('records prompts and completions only when enabled', async () => {
    const { bulwark, exporter } = setup({
      tracing: { recordContent: true },
      middleware: (tracing) => [tracing, tracing.attempt],
    });
    await collectStream(bulwark.stream(request));
    const { root } = tree(exporter.getFinishedSpans());
    expect(JSON.parse(String(root.attributes['gen_ai.input.messages']))).toEqual(request.messages);
    expect(JSON.parse(String(root.attributes['gen_ai.output.messages']))).toEqual([
      { role: 'assistant', content: 'A breaker stops calls to a failing service.', toolCalls: [] },
    ]);
  });

  it('makes the attempt span active around the provider call, so its spans nest under the attempt', async () => {
    const storage = new AsyncLocalStorage<Context>();
    const manager: ContextManager = {
      active: () => storage.getStore() ?? ROOT_CONTEXT,
      with: (active, fn, thisArg, ...args) => storage.run(active, () => fn.call(thisArg, ...args)),
      bind: (_active, target) => target,
      enable() {
        return this;
      },
      disable() {
        storage.disable();
        return this;
      },
    };
    otelContext.setGlobalContextManager(manager);
    try {
      const seen: (string | undefined)[] = [];
      const probe: MiddlewareV1 = {
        specificationVersion: 'v1',
        name: 'active-span-probe',
        level: 'target',
        async complete(request, context, next) {
          seen.push(trace.getActiveSpan()?.spanContext().spanId);
          return next(request, context);
        },
        async *stream(request, context, next) {
          seen.push(trace.getActiveSpan()?.spanContext().spanId);
          yield* next(request, context);
        },
      };
      const { bulwark, exporter } = setup({ middleware: (tracing) => [tracing, tracing.attempt, probe] });
      await bulwark.chat(request);
      await collectStream(bulwark.stream(request));
      const attempts = exporter.getFinishedSpans().filter((span) => span.parentSpanContext !== undefined);
      expect(attempts).toHaveLength(2);
      expect(seen).toEqual(attempts.map((span) => span.spanContext().spanId));
    } finally {
      otelContext.disable();
    }
  });
});
