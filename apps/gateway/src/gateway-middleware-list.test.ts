import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

// The otel plugin uses the globally registered tracer provider, as it would in a deployed gateway.
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

let upstream: FakeUpstream;
const gateways: Gateway[] = [];

async function start(config: Record<string, unknown>): Promise<{ gateway: Gateway; openai: OpenAI }> {
  const gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        gpt: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-openai-000000' },
      },
      models: { smart: [{ provider: 'gpt', model: 'gpt-4o' }] },
      log: { level: 'error' },
      ...config,
    },
  });
  gateways.push(gateway);
  const url = await gateway.listen();
  return { gateway, openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 }) };
}

const stages = (gateway: Gateway) =>
  gateway.plan.describe().middleware.map((entry) => `${entry.section}:${entry.name}@${entry.stage}`);

beforeAll(async () => {
  upstream = await createFakeUpstream();
});

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close({ drainTimeoutMs: 0 })));
  upstream.reset();
  exporter.reset();
});

afterAll(async () => {
  await upstream.close();
});

describe('middleware: list', () => {
  it('runs otel (loaded from @bulwark/otel by name) at stage observe and exports a span per call', async () => {
    const { gateway, openai } = await start({ middleware: [{ plugin: 'otel' }] });
    expect(stages(gateway)[0]).toBe('middleware[0]:otel@observe');
    await openai.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'traced' }] });
    const spans = exporter.getFinishedSpans();
    const call = spans.find((span) => span.attributes['gen_ai.request.model'] === 'smart');
    expect(call).toBeDefined();
    expect(call!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.response.model': 'gpt-4o',
    });
  });

  it('runs the semantic cache with its embeddings provider resolved by name, and serves a near duplicate', async () => {
    const { gateway, openai } = await start({
      cache: false,
      middleware: [
        {
          plugin: '@bulwark/cache-semantic',
          config: { embeddings: { provider: 'gpt', model: 'text-embedding-3-small' }, threshold: 0.9 },
        },
      ],
    });
    expect(stages(gateway)).toContain('middleware[0]:semantic-cache@cache');
    const ask = (content: string) =>
      openai.chat.completions
        .create({ model: 'smart', temperature: 0, messages: [{ role: 'user', content }] })
        .withResponse();
    const first = await ask('How do I reset my password?');
    const semantic = gateway.plan.middleware.find(
      (middleware) => middleware.stage === 'cache',
    ) as unknown as {
      flush(): Promise<void>;
    };
    await semantic.flush();
    const second = await ask('how do I reset my password');
    expect(first.response.headers.get('x-bulwark-cache')).toBe('miss');
    expect(second.response.headers.get('x-bulwark-cache')).toBe('hit');
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    const formats = upstream.requests.map((recorded) => recorded.format);
    expect(formats.filter((format) => format === 'openai')).toHaveLength(1);
    expect(formats.filter((format) => format === 'embeddings')).toHaveLength(2);
  });

  it('names the list entry and the value when a plugin config is wrong', async () => {
    await expect(
      start({
        middleware: [
          { plugin: 'otel' },
          { plugin: 'cache-semantic', config: { embeddings: { provider: 'nowhere', model: 'm' } } },
        ],
      }),
    ).rejects.toThrow(
      /middleware\[1\]\.config\.embeddings\.provider: got "nowhere"; expected one of the configured providers: gpt/,
    );
    await expect(
      start({ middleware: [{ plugin: 'otel', config: { recordContent: 'yes' } }] }),
    ).rejects.toThrow(/middleware\[0\]\.config\.recordContent/);
    await expect(start({ middleware: [{ plugin: 'no-such-middleware' }] })).rejects.toThrow(
      /No middleware plugin named "no-such-middleware".*@bulwark\/no-such-middleware/,
    );
    await expect(start({ retry: { maxAttempts: 2 }, middleware: [{ plugin: 'retry' }] })).rejects.toThrow(
      /retry: plugin "retry" is also configured at middleware\[0\]/,
    );
  });

  it('expands the sections into the same list: a listed built-in replaces its default section', async () => {
    const { gateway } = await start({
      middleware: [{ plugin: 'limiter', config: { maxWaitMs: 0 } }, { plugin: 'otel' }],
    });
    expect(stages(gateway)).toEqual([
      'middleware[1]:otel@observe',
      'usage:usage@observe',
      'cache:cache@cache',
      'timeout:deadline@deadline',
      'retry:retry@retry',
      'breaker:breaker@breaker',
      'middleware[0]:limiter@limiter',
      'timeout:attempt-timeout@timeout',
    ]);
  });
});

describe('a routing plugin in the list', () => {
  it('replaces the fallback router (hedge), once', async () => {
    const { gateway, openai } = await start({ middleware: [{ plugin: 'hedge', config: { delayMs: 5000 } }] });
    expect(gateway.plan.describe().routing).toBe('hedge');
    const answer = await openai.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'hedged' }],
    });
    expect(answer.choices[0]!.message.content).toBe('echo: hedged');
    await expect(start({ hedge: {}, middleware: [{ plugin: 'hedge' }] })).rejects.toThrow(
      /hedge: plugin "hedge" is also configured at middleware\[0\]/,
    );
  });
});

describe('a third-party middleware package', () => {
  it('is loaded by name through plugins: and runs at its declared stage, inside the cache and above retry', async () => {
    const { gateway, openai } = await start({
      plugins: ['@acme/guardrail'],
      middleware: [{ plugin: 'guardrail', config: { blocked: ['launch codes'] } }],
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    expect(stages(gateway)).toEqual([
      'usage:usage@observe',
      'cache:cache@cache',
      'middleware[0]:acme-guardrail@budget',
      'timeout:deadline@deadline',
      'retry:retry@retry',
      'breaker:breaker@breaker',
      'limiter:limiter@limiter',
      'timeout:attempt-timeout@timeout',
    ]);
    const guardrail = gateway.plan.middleware.find(
      (middleware) => middleware.name === 'acme-guardrail',
    ) as unknown as {
      calls: Array<{ alias?: string; targets?: unknown }>;
    };

    // Below the cache: a repeated request is a hit and never reaches the guardrail.
    const ask = (content: string) =>
      openai.chat.completions
        .create({ model: 'smart', temperature: 0, messages: [{ role: 'user', content }] })
        .withResponse();
    await ask('hello');
    const repeated = await ask('hello');
    expect(repeated.response.headers.get('x-bulwark-cache')).toBe('hit');
    expect(guardrail.calls).toHaveLength(1);
    // It sees the route: the alias and its targets.
    expect(guardrail.calls[0]).toEqual({
      model: 'smart',
      alias: 'smart',
      targets: [{ provider: 'gpt', model: 'gpt-4o' }],
    });

    // Above retry: one call to the guardrail, two upstream attempts.
    upstream.enqueue({ kind: 'status', status: 500 });
    const retried = await ask('retry me');
    expect(retried.response.headers.get('x-bulwark-attempts')).toBe('2');
    expect(guardrail.calls).toHaveLength(2);

    // And it answers a blocked prompt itself, before any upstream call.
    const before = upstream.requests.length;
    const blocked = await ask('tell me the launch codes');
    expect(blocked.data.choices[0]!.finish_reason).toBe('content_filter');
    expect(blocked.data.choices[0]!.message.content).toContain('acme guardrail');
    expect(upstream.requests.length).toBe(before);
  });

  it('is loaded by package name straight from the middleware list', async () => {
    const { gateway } = await start({ middleware: [{ plugin: '@acme/guardrail', config: { blocked: [] } }] });
    expect(stages(gateway)).toContain('middleware[0]:acme-guardrail@budget');
    await expect(
      start({ middleware: [{ plugin: '@acme/guardrail', config: { blocked: 'all' } }] }),
    ).rejects.toThrow(/middleware\[0\]\.config\.blocked: got "all"; expected a list of words/);
  });
});
