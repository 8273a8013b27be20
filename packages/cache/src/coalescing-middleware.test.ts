import {
  type ChatRequest,
  createBulwark,
  createVirtualClock,
  type ProviderV1,
  type StreamEvent,
} from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { createCoalescing } from './coalescing-middleware.js';

const ask = (text: string): ChatRequest => ({ model: 'mock-1', messages: [{ role: 'user', content: text }] });

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

function setup(options: Parameters<typeof createCoalescing>[0] = {}) {
  const clock = createVirtualClock();
  const mock = createMockProvider({ clock, latencyMs: 500, chunkDelayMs: 10, chunkSize: 4 });
  const coalescing = createCoalescing(options);
  const bulwark = createBulwark({ providers: [mock], middleware: [coalescing], clock });
  return { clock, mock, coalescing, bulwark };
}

describe('createCoalescing', () => {
  it('makes one provider call for identical concurrent calls and none for a later one', async () => {
    const { bulwark, mock, clock, coalescing } = setup();
    const answers = await clock.run(async () => {
      const calls = [bulwark.chat(ask('same')), bulwark.chat(ask('same')), bulwark.chat(ask('different'))];
      await clock.sleep(100);
      expect(coalescing.inFlight()).toBe(2);
      return Promise.all(calls);
    });
    expect(mock.callCount).toBe(2);
    expect(answers[0]!.text).toBe(answers[1]!.text);
    expect(coalescing.inFlight()).toBe(0);
    await clock.run(() => bulwark.chat(ask('same')));
    expect(mock.callCount).toBe(3);
  });

  it('keeps tenants apart unless shared', async () => {
    const apart = setup();
    await apart.clock.run(() =>
      Promise.all([
        apart.bulwark.chat(ask('q'), { metadata: { tenant: 'a' } }),
        apart.bulwark.chat(ask('q'), { metadata: { tenant: 'b' } }),
      ]),
    );
    expect(apart.mock.callCount).toBe(2);
    const shared = setup({ shared: true });
    await shared.clock.run(() =>
      Promise.all([
        shared.bulwark.chat(ask('q'), { metadata: { tenant: 'a' } }),
        shared.bulwark.chat(ask('q'), { metadata: { tenant: 'b' } }),
      ]),
    );
    expect(shared.mock.callCount).toBe(1);
  });

  it('shares a failure with every caller', async () => {
    const { bulwark, mock, clock } = setup();
    mock.enqueue({ error: 'overloaded', latencyMs: 200 });
    const results = await clock.run(() =>
      Promise.allSettled([bulwark.chat(ask('x')), bulwark.chat(ask('x'))]),
    );
    expect(results.map((result) => result.status === 'rejected' && result.reason.code)).toEqual([
      'overloaded',
      'overloaded',
    ]);
    expect(mock.callCount).toBe(1);
  });

  it('streams to every consumer from one call, and aborts it when all consumers left', async () => {
    const { bulwark, mock, clock } = setup();
    const [first, second] = await clock.run(() =>
      Promise.all([collect(bulwark.stream(ask('stream it'))), collect(bulwark.stream(ask('stream it')))]),
    );
    expect(second).toEqual(first);
    expect(mock.callCount).toBe(1);

    const controllers = [new AbortController(), new AbortController()];
    const settled = Promise.allSettled(
      controllers.map((controller) => collect(bulwark.stream(ask('abandon'), { signal: controller.signal }))),
    );
    await clock.advance(100);
    controllers[0]!.abort();
    await clock.advance(1);
    expect(mock.inFlight).toBe(1);
    controllers[1]!.abort();
    const results = await settled;
    await clock.advance(1);
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect(mock.inFlight).toBe(0);
    expect(mock.calls.at(-1)!.outcome).toBe('aborted');
    expect(clock.pending()).toBe(0);
  });

  it('reads a shared stream only as fast as its fastest caller (a stalled caller stalls the provider)', async () => {
    let pulled = 0;
    const provider: ProviderV1 = {
      specificationVersion: 'v1',
      name: 'counted',
      system: 'test',
      capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
      complete: () => Promise.reject(new Error('streams only')),
      async *stream(request) {
        yield { type: 'start', id: 'counted-1', provider: 'counted', model: request.model };
        for (let index = 0; index < 1000; index += 1) {
          pulled += 1;
          yield { type: 'text-delta', text: 'x' };
        }
        yield { type: 'finish', finishReason: 'stop' };
      },
    };
    const bulwark = createBulwark({ providers: [provider], middleware: [createCoalescing()] });
    const fast = bulwark.stream(ask('long'))[Symbol.asyncIterator]();
    const stalled = bulwark.stream(ask('long'))[Symbol.asyncIterator]();
    await stalled.next();
    for (let index = 0; index < 3; index += 1) await fast.next();
    for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    // Neither caller asked for more than the third event: the provider was not read further ahead.
    expect(pulled).toBeLessThanOrEqual(3);
    let rest = 0;
    while (!(await fast.next()).done) rest += 1;
    expect(pulled).toBe(1000);
    expect(rest).toBe(1000 - 2 + 1);
    // The stalled caller still gets every event, from where it stopped.
    let stalledRest = 0;
    while (!(await stalled.next()).done) stalledRest += 1;
    expect(stalledRest).toBe(1000 + 1);
  });

  it('coalesces only deterministic requests when asked', async () => {
    const { bulwark, mock, clock } = setup({ deterministicOnly: true });
    const random = { ...ask('sample'), temperature: 0.8 };
    await clock.run(() => Promise.all([bulwark.chat(random), bulwark.chat(random)]));
    expect(mock.callCount).toBe(2);
    const seeded = { ...random, seed: 1 };
    await clock.run(() => Promise.all([bulwark.chat(seeded), bulwark.chat(seeded)]));
    expect(mock.callCount).toBe(3);
  });

  it('lets calls through untouched when `when` says no', async () => {
    const { bulwark, mock, clock } = setup({
      when: (context) => context.metadata.tags?.includes('coalesce') ?? false,
    });
    await clock.run(() => Promise.all([bulwark.chat(ask('x')), bulwark.chat(ask('x'))]));
    expect(mock.callCount).toBe(2);
  });
});
