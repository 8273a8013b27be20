import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../clock/virtual-clock.js';
import { ConfigError, MiddlewareError } from '../errors/errors.js';
import { createEventBus } from '../events/event-bus.js';
import type { CallContext } from '../provider.js';
import { collectStream } from '../stream/stream-accumulator.js';
import { createEchoProvider, userMessage } from '../test-helpers/echo-provider.js';
import { silentLogger } from '../util/logger.js';
import { assertMiddlewareOrder, compose, splitByLevel } from './compose.js';
import type { MiddlewareV1 } from './middleware.js';

function context(): CallContext {
  return {
    callId: 'c1',
    signal: new AbortController().signal,
    clock: createVirtualClock(),
    logger: silentLogger,
    events: createEventBus(),
    metadata: {},
    stream: false,
    trail: [],
    state: new Map(),
  };
}

const tracing = (name: string, log: string[], extra: Partial<MiddlewareV1> = {}): MiddlewareV1 => ({
  specificationVersion: 'v1',
  name,
  ...extra,
  async complete(request, callContext, next) {
    log.push(`${name}:in`);
    const response = await next(request, callContext);
    log.push(`${name}:out`);
    return response;
  },
  async *stream(request, callContext, next) {
    log.push(`${name}:in`);
    yield* next(request, callContext);
    log.push(`${name}:out`);
  },
});

describe('compose', () => {
  const request = { model: 'm', messages: userMessage('hi') };

  it('runs the first middleware outermost, on both paths', async () => {
    const log: string[] = [];
    const handler = compose([tracing('a', log), tracing('b', log)], createEchoProvider('p'));
    await handler.complete(request, context());
    expect(log).toEqual(['a:in', 'b:in', 'b:out', 'a:out']);
    log.length = 0;
    const clock = createVirtualClock();
    await clock.run(collectStream(handler.stream(request, { ...context(), clock })));
    expect(log).toEqual(['a:in', 'b:in', 'b:out', 'a:out']);
  });

  it('passes a path through when the middleware does not implement it', async () => {
    const log: string[] = [];
    const onlyComplete: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'only',
      complete: tracing('x', log).complete!,
    };
    const handler = compose([onlyComplete], createEchoProvider('p'));
    const clock = createVirtualClock();
    const response = await clock.run(collectStream(handler.stream(request, { ...context(), clock })));
    expect(response.text).toBe('echo:m');
    expect(log).toEqual([]);
  });

  it('throws MiddlewareError when a non-reentrant middleware calls next twice', async () => {
    const twice: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'twice',
      async complete(input, callContext, next) {
        await next(input, callContext);
        return next(input, callContext);
      },
    };
    const handler = compose([twice], createEchoProvider('p'));
    await expect(handler.complete(request, context())).rejects.toSatisfy(
      (error) => MiddlewareError.isInstance(error) && /called next\(\) twice/.test((error as Error).message),
    );
  });

  it('lets a reentrant middleware call next again (retry)', async () => {
    const provider = createEchoProvider('p', [new Error('first fails')]);
    const retryOnce: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'retry-once',
      reentrant: true,
      async complete(input, callContext, next) {
        try {
          return await next(input, callContext);
        } catch {
          return next(input, callContext);
        }
      },
    };
    const response = await compose([retryOnce], provider).complete(request, context());
    expect(response.text).toBe('echo:m');
    expect(provider.calls).toHaveLength(2);
  });
});

describe('assertMiddlewareOrder', () => {
  const stage = (name: string, value: MiddlewareV1['stage']): MiddlewareV1 => ({
    specificationVersion: 'v1',
    name,
    stage: value,
  });

  it('accepts the documented order and custom middleware anywhere', () => {
    expect(() =>
      assertMiddlewareOrder([
        stage('cache', 'cache'),
        stage('mine', 'custom'),
        stage('retry', 'retry'),
        stage('breaker', 'breaker'),
        stage('limiter', 'limiter'),
        stage('timeout', 'timeout'),
      ]),
    ).not.toThrow();
  });

  it('names both middleware when the breaker is put outside retry', () => {
    let caught: unknown;
    try {
      assertMiddlewareOrder([stage('my-breaker', 'breaker'), stage('my-retry', 'retry')]);
    } catch (error) {
      caught = error;
    }
    expect(ConfigError.isInstance(caught)).toBe(true);
    expect((caught as ConfigError).path).toBe('middleware[1]');
    expect((caught as Error).message).toContain(
      '"my-retry" (stage retry) must be outside "my-breaker" (stage breaker)',
    );
  });

  it('rejects a target-level stage placed before a call-level one', () => {
    expect(() => assertMiddlewareOrder([stage('limiter', 'limiter'), stage('cache', 'cache')])).toThrow(
      /must be outside/,
    );
  });

  it('splits by level keeping order', () => {
    const list = [
      stage('retry', 'retry'),
      stage('cache', 'cache'),
      { ...stage('t', 'custom'), level: 'target' as const },
    ];
    const { call, target } = splitByLevel(list);
    expect(call.map((m) => m.name)).toEqual(['cache']);
    expect(target.map((m) => m.name)).toEqual(['retry', 't']);
  });
});
