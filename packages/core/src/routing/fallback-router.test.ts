import { describe, expect, it } from 'vitest';
import { createVirtualClock, type VirtualClock } from '../clock/virtual-clock.js';
import type { BulwarkError } from '../errors/bulwark-error.js';
import {
  AbortedError,
  BreakerOpenError,
  ConnectionError,
  ContentFilterError,
  ContextLengthError,
  InvalidRequestError,
  RateLimitError,
  ServerError,
  StreamInterruptedError,
} from '../errors/errors.js';
import { type BulwarkEventMap, createEventBus } from '../events/event-bus.js';
import type { CallContext } from '../provider.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { ChatResponse, FinishReason } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { silentLogger } from '../util/logger.js';
import { createFallbackRouter, orderTargets, pickBestError, planTargets } from './fallback-router.js';
import type { TargetHandle } from './routing-strategy.js';
import type { ModelAlias, Target } from './target.js';

const request: ChatRequest = { model: 'alias', messages: [{ role: 'user', content: 'hi' }] };

/** What a fake target does when called. */
type Behaviour =
  | { kind: 'ok'; text?: string; finishReason?: FinishReason; delayMs?: number }
  | { kind: 'fail'; error: () => BulwarkError; delayMs?: number; recorded?: boolean }
  | { kind: 'hang' }
  | { kind: 'stream-fail-after'; deltas: number; error: () => BulwarkError };

interface FakeHandle extends TargetHandle {
  calls: number;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function setup() {
  const clock = createVirtualClock();
  const events = createEventBus();
  const fallbacks: Array<BulwarkEventMap['fallback:taken']> = [];
  events.on('fallback:taken', (event) => fallbacks.push(event));
  const controller = new AbortController();
  const context: CallContext = {
    callId: 'call-1',
    signal: controller.signal,
    clock,
    logger: silentLogger,
    events,
    metadata: {},
    stream: false,
    trail: [],
    state: new Map(),
  };

  const waitFor = (ms: number | undefined, signal: AbortSignal) =>
    ms ? clock.sleep(ms, signal) : Promise.resolve();

  /** A handle that records a trail entry for each "provider call", as the attempt recorder does. */
  const handle = (target: Target, ...behaviours: Behaviour[]): FakeHandle => {
    const record = (started: number, error?: BulwarkError) => {
      context.trail.push({
        provider: target.provider,
        model: target.model,
        attempt: 1,
        startedAt: started,
        durationMs: clock.now() - started,
        ...(error ? { error: error.code } : {}),
      });
    };
    const fake: FakeHandle = {
      target,
      calls: 0,
      async complete(_request, callContext): Promise<ChatResponse> {
        fake.calls += 1;
        const behaviour = behaviours.shift() ?? { kind: 'ok' };
        const started = clock.now();
        if (behaviour.kind === 'hang') {
          await clock.sleep(1e12, callContext.signal).catch((error: unknown) => {
            record(started, error as BulwarkError);
            throw error;
          });
        }
        if (behaviour.kind === 'fail') {
          await waitFor(behaviour.delayMs, callContext.signal);
          const error = behaviour.error();
          if (behaviour.recorded !== false) record(started, error);
          throw error;
        }
        const ok = behaviour as Extract<Behaviour, { kind: 'ok' }>;
        await waitFor(ok.delayMs, callContext.signal);
        record(started);
        return {
          id: `${target.provider}-${fake.calls}`,
          provider: target.provider,
          model: target.model,
          text: ok.text ?? `from ${target.provider}/${target.model}`,
          toolCalls: [],
          finishReason: ok.finishReason ?? 'stop',
          attempts: [],
        };
      },
      async *stream(_request, callContext): AsyncIterable<StreamEvent> {
        fake.calls += 1;
        const behaviour = behaviours.shift() ?? { kind: 'ok' };
        const started = clock.now();
        if (behaviour.kind === 'fail') {
          await waitFor(behaviour.delayMs, callContext.signal);
          yield {
            type: 'start',
            id: `${target.provider}-${fake.calls}`,
            provider: target.provider,
            model: target.model,
          };
          const error = behaviour.error();
          if (behaviour.recorded !== false) record(started, error);
          throw error;
        }
        if (behaviour.kind === 'hang') {
          await clock.sleep(1e12, callContext.signal);
        }
        yield {
          type: 'start',
          id: `${target.provider}-${fake.calls}`,
          provider: target.provider,
          model: target.model,
        };
        if (behaviour.kind === 'stream-fail-after') {
          for (let index = 0; index < behaviour.deltas; index += 1) {
            yield { type: 'text-delta', text: `part${index} ` };
          }
          const error = behaviour.error();
          record(started, error);
          throw error;
        }
        const ok = behaviour as Extract<Behaviour, { kind: 'ok' }>;
        await waitFor(ok.delayMs, callContext.signal);
        if (ok.finishReason !== 'content_filter')
          yield { type: 'text-delta', text: ok.text ?? target.provider };
        yield { type: 'finish', finishReason: ok.finishReason ?? 'stop' };
        record(started);
      },
    };
    return fake;
  };
  return { clock, context, controller, fallbacks, handle };
}

const target = (provider: string, extra: Partial<Target> = {}): Target => ({
  provider,
  model: `${provider}-model`,
  ...extra,
});

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

async function failure(promise: Promise<unknown>): Promise<BulwarkError> {
  try {
    await promise;
  } catch (error) {
    return error as BulwarkError;
  }
  throw new Error('expected a failure');
}

async function streamFailure(
  clock: VirtualClock,
  events: AsyncIterable<StreamEvent>,
  seen: StreamEvent[] = [],
) {
  return failure(
    clock.run(
      (async () => {
        for await (const event of events) seen.push(event);
      })(),
    ),
  );
}

describe('orderTargets', () => {
  it('keeps the listed order when no target has a priority', () => {
    const handles = ['a', 'b', 'c'].map((name) => ({ target: target(name) }));
    expect(orderTargets(handles, () => 0.99).map((handle) => handle.target.provider)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('orders by priority, lower first', () => {
    const handles = [
      { target: target('a', { priority: 3 }) },
      { target: target('b', { priority: 1 }) },
      { target: target('c', { priority: 2 }) },
    ];
    expect(orderTargets(handles, Math.random).map((handle) => handle.target.provider)).toEqual([
      'b',
      'c',
      'a',
    ]);
  });

  it('balances equal priorities by weight (seeded random)', () => {
    const handles = [
      { target: target('a', { priority: 0, weight: 3 }) },
      { target: target('b', { priority: 0, weight: 1 }) },
      { target: target('c', { priority: 1 }) },
    ];
    const random = seeded(42);
    const firsts = { a: 0, b: 0, c: 0 };
    let lastWasC = 0;
    for (let index = 0; index < 20_000; index += 1) {
      const ordered = orderTargets(handles, random);
      firsts[ordered[0]!.target.provider as 'a' | 'b' | 'c'] += 1;
      if (ordered.length === 3 && ordered[2]!.target.provider === 'c') lastWasC += 1;
    }
    expect(lastWasC).toBe(20_000);
    expect(firsts.c).toBe(0);
    expect(firsts.a / 20_000).toBeGreaterThan(0.73);
    expect(firsts.a / 20_000).toBeLessThan(0.77);
  });

  it('never picks a zero-weight target before a weighted one, and keeps order when all weights are 0', () => {
    const handles = [
      { target: target('a', { priority: 0, weight: 0 }) },
      { target: target('b', { priority: 0, weight: 1 }) },
    ];
    const random = seeded(7);
    for (let index = 0; index < 1000; index += 1) {
      expect(orderTargets(handles, random).map((handle) => handle.target.provider)).toEqual(['b', 'a']);
    }
    const zero = [
      { target: target('a', { priority: 0, weight: 0 }) },
      { target: target('b', { priority: 0, weight: 0 }) },
    ];
    expect(orderTargets(zero, random).map((handle) => handle.target.provider)).toEqual(['a', 'b']);
  });
});

describe('pickBestError', () => {
  it('prefers the rate limit with the smallest retry-after over the last connection error', () => {
    const errors = [
      new RateLimitError({ retryAfterMs: 5000 }),
      new ServerError({ status: 503 }),
      new RateLimitError({ retryAfterMs: 2000 }),
      new ConnectionError(),
    ];
    expect(pickBestError(errors)).toBe(errors[2]);
  });

  it('ranks a breaker-open rejection last, and prefers the one that reopens soonest', () => {
    const open = [new BreakerOpenError({ retryAfterMs: 9000 }), new BreakerOpenError({ retryAfterMs: 3000 })];
    expect(pickBestError(open)).toBe(open[1]);
    const timeout = new ConnectionError();
    expect(pickBestError([...open, timeout])).toBe(timeout);
    expect(pickBestError([])).toBeUndefined();
  });
});

describe('createFallbackRouter.complete', () => {
  it('tries targets in order, reports the trail and emits fallback:taken', async () => {
    const { context, fallbacks, handle } = setup();
    const a = handle(target('a'), { kind: 'fail', error: () => new ServerError({ status: 500 }) });
    const b = handle(target('b'), { kind: 'fail', error: () => new ConnectionError() });
    const c = handle(target('c'));
    const alias: ModelAlias = { targets: [a.target, b.target, c.target] };
    const response = await createFallbackRouter().complete(request, context, [a, b, c], alias);
    expect(response.provider).toBe('c');
    expect(context.trail.map((record) => `${record.provider}:${record.error ?? 'ok'}`)).toEqual([
      'a:server_error',
      'b:connection_error',
      'c:ok',
    ]);
    expect(fallbacks.map((event) => `${event.from.provider}>${event.to.provider}:${event.error}`)).toEqual([
      'a>b:server_error',
      'b>c:connection_error',
    ]);
  });

  it('skips a target whose breaker is open, with a local trail record and no time spent', async () => {
    const { context, handle, clock } = setup();
    const a = handle(target('a'), {
      kind: 'fail',
      error: () => new BreakerOpenError({ retryAfterMs: 4000 }),
      recorded: false,
    });
    const b = handle(target('b'));
    const response = await createFallbackRouter().complete(request, context, [a, b], {
      targets: [a.target, b.target],
    });
    expect(response.provider).toBe('b');
    expect(clock.now()).toBe(0);
    expect(context.trail[0]).toMatchObject({
      provider: 'a',
      error: 'breaker_open',
      local: true,
      durationMs: 0,
    });
    expect(context.trail[1]).toMatchObject({ provider: 'b' });
    expect(context.trail[1]!.error).toBeUndefined();
  });

  it('stops at errors that another target cannot fix', async () => {
    const { context, handle } = setup();
    const a = handle(target('a'), { kind: 'fail', error: () => new InvalidRequestError({ status: 400 }) });
    const b = handle(target('b'));
    const error = await failure(
      createFallbackRouter().complete(request, context, [a, b], { targets: [a.target, b.target] }),
    );
    expect(error.code).toBe('invalid_request');
    expect(error.attempts).toBe(context.trail);
    expect(b.calls).toBe(0);
  });

  it('after a context-length error goes to a target with a larger window', async () => {
    const { context, handle } = setup();
    const small = handle(target('small', { maxContextTokens: 8000 }), {
      kind: 'fail',
      error: () => new ContextLengthError({ status: 400 }),
    });
    const alsoSmall = handle(target('also-small', { maxContextTokens: 8000 }));
    const large = handle(target('large', { maxContextTokens: 128_000 }));
    const alias: ModelAlias = { targets: [small.target, alsoSmall.target, large.target] };
    const response = await createFallbackRouter().complete(
      request,
      context,
      [small, alsoSmall, large],
      alias,
    );
    expect(response.provider).toBe('large');
    expect(alsoSmall.calls).toBe(0);
  });

  it('raises the context-length error when no larger target is left', async () => {
    const { context, handle } = setup();
    const large = handle(target('large', { maxContextTokens: 128_000 }), {
      kind: 'fail',
      error: () => new ContextLengthError({ status: 400 }),
    });
    const small = handle(target('small', { maxContextTokens: 8000 }));
    const error = await failure(
      createFallbackRouter().complete(request, context, [large, small], {
        targets: [large.target, small.target],
      }),
    );
    expect(error.code).toBe('context_length_exceeded');
    expect(error.attempts).toHaveLength(1);
    expect(small.calls).toBe(0);
  });

  it('after a content-filter refusal goes to the configured target first, and only then', async () => {
    const { context, handle } = setup();
    const a = handle(target('a'), { kind: 'fail', error: () => new ContentFilterError({ status: 400 }) });
    const b = handle(target('b'));
    const lenient = handle(target('lenient'));
    const alias: ModelAlias = { targets: [a.target, b.target], contentFilterFallback: lenient.target };
    const response = await createFallbackRouter().complete(request, context, [a, b, lenient], alias);
    expect(response.provider).toBe('lenient');
    expect(b.calls).toBe(0);

    const second = setup();
    const a2 = second.handle(target('a'), { kind: 'fail', error: () => new ServerError({ status: 500 }) });
    const b2 = second.handle(target('b'), { kind: 'fail', error: () => new ServerError({ status: 500 }) });
    const lenient2 = second.handle(target('lenient'));
    const alias2: ModelAlias = { targets: [a2.target, b2.target], contentFilterFallback: lenient2.target };
    const error = await failure(
      createFallbackRouter().complete(request, second.context, [a2, b2, lenient2], alias2),
    );
    expect(error.code).toBe('server_error');
    expect(lenient2.calls).toBe(0);
  });

  it('takes the content-filter detour even when the last target refuses, and for a filtered 200', async () => {
    const { context, handle } = setup();
    const a = handle(target('a'), { kind: 'fail', error: () => new ServerError({ status: 500 }) });
    const b = handle(target('b'), { kind: 'ok', text: '', finishReason: 'content_filter' });
    const lenient = handle(target('lenient'));
    const alias: ModelAlias = { targets: [a.target, b.target], contentFilterFallback: lenient.target };
    const response = await createFallbackRouter().complete(request, context, [a, b, lenient], alias);
    expect(response.provider).toBe('lenient');
    expect([a.calls, b.calls, lenient.calls]).toEqual([1, 1, 1]);

    const plain = setup();
    const only = plain.handle(target('only'), { kind: 'ok', text: '', finishReason: 'content_filter' });
    const filtered = await createFallbackRouter().complete(request, plain.context, [only], {
      targets: [only.target],
    });
    expect(filtered.finishReason).toBe('content_filter');
  });

  it('raises the most meaningful error when every target fails, with the trail attached', async () => {
    const { context, handle } = setup();
    const a = handle(target('a'), {
      kind: 'fail',
      error: () => new RateLimitError({ status: 429, retryAfterMs: 30_000 }),
    });
    const b = handle(target('b'), {
      kind: 'fail',
      error: () => new RateLimitError({ status: 429, retryAfterMs: 2000 }),
    });
    const c = handle(target('c'), { kind: 'fail', error: () => new ServerError({ status: 502 }) });
    const d = handle(target('d'), { kind: 'fail', error: () => new ConnectionError() });
    const alias: ModelAlias = { targets: [a.target, b.target, c.target, d.target] };
    const error = await failure(createFallbackRouter().complete(request, context, [a, b, c, d], alias));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 2000, provider: 'b' });
    expect(error.attempts?.map((record) => record.error)).toEqual([
      'rate_limited',
      'rate_limited',
      'server_error',
      'connection_error',
    ]);
  });

  it('stops everything when the caller aborts, even if the failure looks fallbackable', async () => {
    const { context, handle, controller, clock } = setup();
    const a = handle(target('a'), { kind: 'hang' });
    const b = handle(target('b'));
    const pending = failure(
      createFallbackRouter().complete(request, context, [a, b], { targets: [a.target, b.target] }),
    );
    await clock.advance(10);
    controller.abort(new Error('user pressed stop'));
    const error = await pending;
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(b.calls).toBe(0);
    expect(clock.pending()).toBe(0);

    const second = setup();
    const c = second.handle(target('c'), {
      kind: 'fail',
      delayMs: 5,
      error: () => new ConnectionError({ message: 'socket closed by abort' }),
    });
    const d = second.handle(target('d'));
    const late = failure(
      createFallbackRouter().complete(request, second.context, [c, d], { targets: [c.target, d.target] }),
    );
    second.controller.abort();
    await second.clock.runAll();
    expect((await late).code).toBe('aborted');
    expect(d.calls).toBe(0);
  });

  it('stops with a total timeout once the deadline has passed', async () => {
    const { context, handle } = setup();
    context.deadline = 100;
    const a = handle(target('a'), {
      kind: 'fail',
      delayMs: 150,
      error: () => new ServerError({ status: 500 }),
    });
    const b = handle(target('b'));
    const pending = failure(
      createFallbackRouter().complete(request, context, [a, b], { targets: [a.target, b.target] }),
    );
    await (context.clock as VirtualClock).advance(150);
    const error = await pending;
    expect(error).toMatchObject({ code: 'timeout', phase: 'total' });
    expect(error.attempts).toHaveLength(1);
    expect(b.calls).toBe(0);
  });
});

describe('createFallbackRouter.stream', () => {
  it('falls back before the first delta; the caller sees one preamble, from the target that answered', async () => {
    const { context, handle, clock } = setup();
    const a = handle(target('a'), { kind: 'fail', error: () => new ServerError({ status: 500 }) });
    const b = handle(target('b'));
    const events = await clock.run(
      collect(createFallbackRouter().stream(request, context, [a, b], { targets: [a.target, b.target] })),
    );
    expect(events.map((event) => event.type)).toEqual(['start', 'text-delta', 'finish']);
    expect(events[0]).toMatchObject({ provider: 'b' });
  });

  it('does not fall back after the first streamed delta: StreamInterruptedError with the partial text', async () => {
    const { context, handle, clock } = setup();
    const a = handle(target('a'), {
      kind: 'stream-fail-after',
      deltas: 2,
      error: () => new ServerError({ status: 500 }),
    });
    const b = handle(target('b'));
    const seen: StreamEvent[] = [];
    const error = await streamFailure(
      clock,
      createFallbackRouter().stream(request, context, [a, b], { targets: [a.target, b.target] }),
      seen,
    );
    expect(StreamInterruptedError.isInstance(error)).toBe(true);
    expect((error as StreamInterruptedError).partial.text).toBe('part0 part1 ');
    expect(error.attempts).toBe(context.trail);
    expect(seen.map((event) => event.type)).toEqual(['start', 'text-delta', 'text-delta']);
    expect(b.calls).toBe(0);
  });

  it('takes the content-filter detour when a stream finishes filtered before any content', async () => {
    const { context, handle, clock } = setup();
    const a = handle(target('a'), { kind: 'ok', finishReason: 'content_filter' });
    const lenient = handle(target('lenient'));
    const alias: ModelAlias = { targets: [a.target], contentFilterFallback: lenient.target };
    const events = await clock.run(
      collect(createFallbackRouter().stream(request, context, [a, lenient], alias)),
    );
    expect(events.filter((event) => event.type === 'start')).toEqual([
      expect.objectContaining({ provider: 'lenient' }),
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('raises the best error with the trail when every streamed target fails', async () => {
    const { context, handle, clock } = setup();
    const a = handle(target('a'), { kind: 'fail', error: () => new ConnectionError() });
    const b = handle(target('b'), {
      kind: 'fail',
      error: () => new RateLimitError({ status: 429, retryAfterMs: 1000 }),
    });
    const error = await streamFailure(
      clock,
      createFallbackRouter().stream(request, context, [a, b], { targets: [a.target, b.target] }),
    );
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 1000 });
    expect(error.attempts).toHaveLength(2);
  });

  it('stops at once on a caller abort during a stream', async () => {
    const { context, handle, clock, controller } = setup();
    const a = handle(target('a'), { kind: 'hang' });
    const b = handle(target('b'));
    const pending = streamFailure(
      clock,
      createFallbackRouter().stream(request, context, [a, b], { targets: [a.target, b.target] }),
    );
    await clock.advance(0);
    controller.abort();
    expect((await pending).code).toBe('aborted');
    expect(b.calls).toBe(0);
  });
});

describe('planTargets', () => {
  it('tries each target at most once, even when it is both a regular and the content-filter target', () => {
    const a = { target: target('a') } as TargetHandle;
    const b = { target: target('b') } as TargetHandle;
    const plan = planTargets(
      [a, b],
      { targets: [a.target, b.target], contentFilterFallback: b.target },
      Math.random,
    );
    expect(plan.next()).toBe(a);
    expect(plan.hasNext()).toBe(true);
    expect(plan.next(a, new ContentFilterError())).toBe(b);
    expect(plan.hasNext()).toBe(false);
    expect(plan.next(b, new ServerError())).toBeUndefined();
  });
});
