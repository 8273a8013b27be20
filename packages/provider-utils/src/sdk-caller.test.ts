import { createEventBus, type StreamEvent, type Usage } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { createSdkCaller, type StreamMapper } from './sdk-caller.js';
import { createSdkErrorMapper } from './sdk-errors.js';

interface Item {
  text?: string;
  stop?: boolean;
}

class ItemMapper implements StreamMapper<Item> {
  finished = false;
  reportedUsage: Usage | undefined;
  map(item: Item, out: StreamEvent[]): void {
    if (item.text) out.push({ type: 'text-delta', text: item.text });
    this.reportedUsage = { inputTokens: 3, outputTokens: 1, totalTokens: 4 };
    if (item.stop) this.finished = true;
  }
  end(out: StreamEvent[]): void {
    out.push({ type: 'finish', finishReason: 'stop' });
  }
}

/** An SDK-like stream: items, then optionally a failure; `controller` is what the SDKs expose. */
function sdkStream(items: Item[], failure?: Error) {
  const controller = new AbortController();
  return {
    controller,
    async *[Symbol.asyncIterator]() {
      for (const item of items) yield item;
      if (failure) throw failure;
    },
  };
}

const caller = createSdkCaller({
  provider: 'p',
  timeoutMs: 1000,
  mapError: createSdkErrorMapper({
    fromAnswer: () => {
      throw new Error('not used');
    },
    streamErrorStatus: () => 500,
    streamUnit: 'chunk',
  }),
  parseRateLimit: (headers) => {
    const remaining = (headers as Headers).get('x-remaining');
    return remaining === null ? undefined : { remainingRequests: Number(remaining) };
  },
  requestIdHeader: 'x-request-id',
});

function run(items: Item[], options: { failure?: Error; signal?: AbortSignal } = {}) {
  const data = sdkStream(items, options.failure);
  const events = createEventBus();
  const reported: unknown[] = [];
  events.on('ratelimit:headers', (event) => reported.push(event));
  const metas: unknown[] = [];
  const stream = caller.stream<Item>(
    'm',
    { signal: options.signal ?? new AbortController().signal, events },
    async (requestOptions) => {
      expect(requestOptions).toMatchObject({ maxRetries: 0, timeout: 1000 });
      return {
        data,
        response: new Response('', { headers: { 'x-remaining': '7', 'x-request-id': 'req_9' } }),
      };
    },
    {
      mapper: (meta) => {
        metas.push(meta);
        return new ItemMapper();
      },
      check: (item) => (typeof item === 'object' ? undefined : 'sent an item that is not an object'),
      endedEarly: 'the stream ended before it said why',
    },
  );
  return { stream, controller: data.controller, reported, metas };
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('createSdkCaller stream pump', () => {
  it('maps items, closes with the mapper, reports the rate limit and hands the meta to the mapper', async () => {
    const { stream, controller, reported, metas } = run([{ text: 'a' }, { text: 'b', stop: true }]);
    expect(await collect(stream)).toEqual([
      { type: 'text-delta', text: 'a' },
      { type: 'text-delta', text: 'b' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    expect(controller.signal.aborted).toBe(false);
    expect(metas).toEqual([
      { provider: 'p', model: 'm', rateLimit: { remainingRequests: 7 }, requestId: 'req_9' },
    ]);
    expect(reported).toEqual([{ provider: 'p', model: 'm', rateLimit: { remainingRequests: 7 } }]);
  });

  it('aborts the upstream request when the consumer stops early', async () => {
    const { stream, controller } = run([{ text: 'a' }, { text: 'b', stop: true }]);
    for await (const _event of stream) break;
    expect(controller.signal.aborted).toBe(true);
  });

  it('ends a stream that stopped before the finish with a ConnectionError carrying the usage', async () => {
    const { stream, controller } = run([{ text: 'a' }]);
    const error = await collect(stream).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'connection_error',
      message: 'p: the stream ended before it said why',
      usage: { inputTokens: 3, outputTokens: 1 },
    });
    expect(controller.signal.aborted).toBe(true);
  });

  it('maps a socket failure mid-stream to a ConnectionError with the usage so far', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const error = await collect(run([{ text: 'a' }], { failure: reset }).stream).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'connection_error', usage: { outputTokens: 1 } });
  });

  it('never takes an abort of the call for an end', async () => {
    const call = new AbortController();
    const { stream } = run([{ text: 'a' }], { signal: call.signal });
    const iterator = stream[Symbol.asyncIterator]();
    expect(await iterator.next()).toMatchObject({ value: { type: 'text-delta' } });
    call.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'aborted' });
  });

  it('refuses to send when the call is already aborted', async () => {
    const { stream } = run([], { signal: AbortSignal.abort() });
    await expect(collect(stream)).rejects.toMatchObject({ code: 'aborted' });
  });
});
