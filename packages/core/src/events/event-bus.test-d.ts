import { describe, expectTypeOf, it } from 'vitest';
import type {
  AttemptRecord,
  BreakerState,
  BulwarkEventMap,
  CallEventBase,
  EventBus,
  EventListener,
  EventName,
  TargetRef,
  Usage,
} from '../index.js';

// What a plugin does to add its own events (see `BulwarkEventMap`).
declare module '../index.js' {
  interface BulwarkEventMap {
    'type-test:ping': CallEventBase & { round: number };
  }
}

declare const bus: EventBus;

describe('BulwarkEventMap', () => {
  it('types the payload of the known events', () => {
    expectTypeOf<BulwarkEventMap['call:start']>().toEqualTypeOf<
      CallEventBase & { model: string; stream: boolean }
    >();
    expectTypeOf<BulwarkEventMap['call:end']['attempts']>().toEqualTypeOf<AttemptRecord[]>();
    expectTypeOf<BulwarkEventMap['call:end']['usage']>().toEqualTypeOf<Usage | undefined>();
    expectTypeOf<BulwarkEventMap['retry:scheduled']>().toExtend<TargetRef & { delayMs: number }>();
    expectTypeOf<BulwarkEventMap['breaker:state']['to']>().toEqualTypeOf<BreakerState>();
    expectTypeOf<BreakerState>().toEqualTypeOf<'closed' | 'open' | 'half-open'>();
    expectTypeOf<'call:start' | 'attempt:failure' | 'limiter:reject'>().toExtend<EventName>();
  });

  it('hands listeners the payload of the event they subscribed to', () => {
    bus.on('attempt:failure', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<BulwarkEventMap['attempt:failure']>();
      expectTypeOf(payload.error).toEqualTypeOf<string>();
      expectTypeOf(payload.status).toEqualTypeOf<number | undefined>();
    });
    expectTypeOf<EventListener<'fallback:taken'>>()
      .parameter(0)
      .toEqualTypeOf<BulwarkEventMap['fallback:taken']>();
    expectTypeOf(bus.on).returns.toEqualTypeOf<() => void>();
  });

  it('refuses unknown events and wrong payloads', () => {
    // @ts-expect-error no such event
    bus.on('call:started', () => {});
    // @ts-expect-error `model` and `stream` are missing
    bus.emit('call:start', { callId: 'c1' });
    bus.emit('retry:scheduled', {
      callId: 'c1',
      provider: 'p',
      model: 'm',
      attempt: 1,
      // @ts-expect-error `delayMs` is a number
      delayMs: '5',
      error: 'x',
    });
    bus.on('cache:lookup', (payload) => {
      // @ts-expect-error `cache:lookup` carries no `delayMs`
      payload.delayMs;
    });
  });

  it('takes events a plugin adds by module augmentation', () => {
    expectTypeOf<'type-test:ping'>().toExtend<EventName>();
    bus.on('type-test:ping', (payload) => {
      expectTypeOf(payload.round).toEqualTypeOf<number>();
      expectTypeOf(payload.callId).toEqualTypeOf<string>();
    });
    bus.emit('type-test:ping', { callId: 'c1', round: 2 });
    // @ts-expect-error `round` is a number
    bus.emit('type-test:ping', { callId: 'c1', round: 'two' });
  });
});
