import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../clock/virtual-clock.js';
import {
  AbortedError,
  ConfigError,
  InvalidRequestError,
  NotFoundError,
  ServerError,
  TimeoutError,
} from '../errors/errors.js';
import type { MiddlewareV1 } from '../middleware/middleware.js';
import { collectStream } from '../stream/stream-accumulator.js';
import { createEchoProvider, userMessage } from '../test-helpers/echo-provider.js';
import { createBulwark } from './create-bulwark.js';

const messages = userMessage('hello');

describe('createBulwark', () => {
  it('routes an alias to its first target and records the attempt trail', async () => {
    const clock = createVirtualClock(1000);
    const a = createEchoProvider('a');
    const bulwark = createBulwark({
      providers: [a],
      models: { smart: [{ provider: 'a', model: 'model-1' }] },
      clock,
    });
    const response = await bulwark.chat({ model: 'smart', messages });
    expect(response.text).toBe('echo:model-1');
    expect(response.attempts).toEqual([
      { provider: 'a', model: 'model-1', attempt: 1, startedAt: 1000, durationMs: 0, usage: response.usage },
    ]);
    expect(a.calls[0]!.request.model).toBe('model-1');
  });

  it('falls back to the next target on a fallbackable error and reports both attempts', async () => {
    const a = createEchoProvider('a', [new ServerError({ status: 503 })]);
    const b = createEchoProvider('b');
    const bulwark = createBulwark({
      providers: [a, b],
      models: {
        smart: [
          { provider: 'a', model: 'm1' },
          { provider: 'b', model: 'm2' },
        ],
      },
      clock: createVirtualClock(),
    });
    const fallbacks: unknown[] = [];
    bulwark.events.on('fallback:taken', (event) => fallbacks.push(event));
    const response = await bulwark.chat({ model: 'smart', messages });
    expect(response.provider).toBe('b');
    expect(response.attempts.map((attempt) => [attempt.provider, attempt.error])).toEqual([
      ['a', 'server_error'],
      ['b', undefined],
    ]);
    expect(fallbacks).toMatchObject([
      { from: { provider: 'a' }, to: { provider: 'b' }, error: 'server_error' },
    ]);
  });

  it('applies per-target overrides', async () => {
    const a = createEchoProvider('a');
    const bulwark = createBulwark({
      providers: [a],
      models: { small: [{ provider: 'a', model: 'm', overrides: { maxTokens: 64 } }] },
    });
    await bulwark.chat({ model: 'small', messages, maxTokens: 4096 });
    expect(a.calls[0]!.request.maxTokens).toBe(64);
  });

  it('passes through provider/model names and a model of the only provider', async () => {
    const a = createEchoProvider('a');
    const single = createBulwark({ providers: [a] });
    expect((await single.chat({ model: 'anything', messages })).text).toBe('echo:anything');
    const two = createBulwark({ providers: [a, createEchoProvider('b')] });
    expect((await two.chat({ model: 'b/x-1', messages })).provider).toBe('b');
  });

  it('rejects an unknown model with NotFoundError listing the aliases', async () => {
    const bulwark = createBulwark({
      providers: [createEchoProvider('a'), createEchoProvider('b')],
      models: { smart: [{ provider: 'a', model: 'm' }] },
    });
    await expect(bulwark.chat({ model: 'gpt-9', messages })).rejects.toSatisfy(
      (error) =>
        NotFoundError.isInstance(error) && (error as Error).message.includes('Configured aliases: smart'),
    );
  });

  it('rejects a target naming an unknown provider at construction', () => {
    expect(() =>
      createBulwark({
        providers: [createEchoProvider('a')],
        models: { x: [{ provider: 'zzz', model: 'm' }] },
      }),
    ).toThrow(ConfigError);
  });

  it('validates the request before any provider call, naming the field', async () => {
    const a = createEchoProvider('a');
    const bulwark = createBulwark({ providers: [a] });
    await expect(bulwark.chat({ model: 'm', messages, temperature: 7 })).rejects.toSatisfy(
      (error) => InvalidRequestError.isInstance(error) && error.field === 'temperature',
    );
    expect(a.calls).toHaveLength(0);
  });

  it('stops at once when the caller aborts, and runs nothing further', async () => {
    const clock = createVirtualClock();
    const a = createEchoProvider('a', [{ hang: true }]);
    const b = createEchoProvider('b');
    const bulwark = createBulwark({
      providers: [a, b],
      models: {
        smart: [
          { provider: 'a', model: 'm' },
          { provider: 'b', model: 'm' },
        ],
      },
      clock,
    });
    const controller = new AbortController();
    const call = bulwark.chat({ model: 'smart', messages }, { signal: controller.signal });
    await clock.advance(10);
    controller.abort();
    await expect(call).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    expect(b.calls).toHaveLength(0);
    expect(clock.pending()).toBe(0);
  });

  it('fails with a total TimeoutError when timeoutMs passes', async () => {
    const clock = createVirtualClock();
    const bulwark = createBulwark({ providers: [createEchoProvider('a', [{ hang: true }])], clock });
    const call = bulwark.chat({ model: 'm', messages }, { timeoutMs: 500 });
    call.catch(() => {});
    await clock.advance(499);
    let settled = false;
    call.finally(() => (settled = true)).catch(() => {});
    await clock.advance(0);
    expect(settled).toBe(false);
    await clock.advance(1);
    await expect(call).rejects.toSatisfy(
      (error) => TimeoutError.isInstance(error) && error.phase === 'total',
    );
    expect(clock.pending()).toBe(0);
  });

  it('streams, and aborts the provider when the consumer stops early', async () => {
    const clock = createVirtualClock();
    const a = createEchoProvider('a');
    const bulwark = createBulwark({ providers: [a], clock });
    const full = await clock.run(collectStream(bulwark.stream({ model: 'm', messages })));
    expect(full.text).toBe('echo:m');
    expect(full.usage?.totalTokens).toBe(5);

    const stream = bulwark.stream({ model: 'm', messages });
    const seen: string[] = [];
    await clock.run(async () => {
      for await (const event of stream) {
        seen.push(event.type);
        if (event.type === 'text-delta') break;
      }
    });
    expect(seen).toEqual(['start', 'text-delta']);
    expect(a.calls[1]!.context.signal.aborted).toBe(true);
  });

  it('runs call-level middleware once and target-level middleware per target', async () => {
    const counts = { call: 0, target: 0 };
    const callLevel: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'count-calls',
      stage: 'observe',
      complete: (request, context, next) => {
        counts.call += 1;
        return next(request, context);
      },
    };
    const targetLevel: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'count-targets',
      stage: 'custom',
      level: 'target',
      complete: (request, context, next) => {
        counts.target += 1;
        expect(context.target?.provider).toBeDefined();
        return next(request, context);
      },
    };
    const bulwark = createBulwark({
      providers: [createEchoProvider('a', [new ServerError({})]), createEchoProvider('b')],
      models: {
        smart: [
          { provider: 'a', model: 'm' },
          { provider: 'b', model: 'm' },
        ],
      },
      middleware: [callLevel, targetLevel],
    });
    await bulwark.chat({ model: 'smart', messages });
    expect(counts).toEqual({ call: 1, target: 2 });
  });

  it('puts the route on the context before call-level middleware run, and each attempt target below the router', async () => {
    const seen: Array<{ route: unknown; trail?: string[] }> = [];
    const attempts: string[] = [];
    const callLevel: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'see-route',
      stage: 'budget',
      async complete(request, context, next) {
        const route = context.route;
        const response = await next(request, context);
        seen.push({ route, trail: context.trail.map((attempt) => `${attempt.provider}/${attempt.model}`) });
        return response;
      },
      async *stream(request, context, next) {
        seen.push({ route: context.route });
        yield* next(request, context);
      },
    };
    const targetLevel: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'see-target',
      stage: 'custom',
      level: 'target',
      complete(request, context, next) {
        attempts.push(`${context.target?.provider}/${context.target?.model} route=${context.route?.alias}`);
        return next(request, context);
      },
    };
    const fallback = { provider: 'b', model: 'careful' };
    const bulwark = createBulwark({
      providers: [createEchoProvider('a', [new ServerError({})]), createEchoProvider('b')],
      models: {
        smart: {
          targets: [
            { provider: 'a', model: 'm1' },
            { provider: 'b', model: 'm2' },
          ],
          contentFilterFallback: fallback,
        },
      },
      middleware: [callLevel, targetLevel],
    });
    await bulwark.chat({ model: 'smart', messages });
    await bulwark.chat({ model: 'b/raw', messages });
    await collectStream(bulwark.stream({ model: 'smart', messages }));
    await expect(bulwark.chat({ model: 'nowhere', messages })).rejects.toThrow(NotFoundError);
    expect(seen).toEqual([
      {
        route: {
          model: 'smart',
          alias: 'smart',
          targets: [
            { provider: 'a', model: 'm1' },
            { provider: 'b', model: 'm2' },
          ],
          contentFilterFallback: fallback,
        },
        trail: ['a/m1', 'b/m2'],
      },
      { route: { model: 'b/raw', targets: [{ provider: 'b', model: 'raw' }] }, trail: ['b/raw'] },
      { route: expect.objectContaining({ alias: 'smart' }) },
    ]);
    expect(attempts).toEqual(['a/m1 route=smart', 'b/m2 route=smart', 'b/raw route=undefined']);
  });

  it('emits call:start and call:end with the trail', async () => {
    const bulwark = createBulwark({ providers: [createEchoProvider('a')] });
    const names: string[] = [];
    bulwark.events.onAny((name) => names.push(name));
    await bulwark.chat({ model: 'm', messages }, { metadata: { tenant: 't1' } });
    expect(names).toEqual(['call:start', 'attempt:start', 'attempt:success', 'call:end']);
  });
});
