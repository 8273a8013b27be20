import { describe, expect, it } from 'vitest';
import type { BulwarkError } from '../errors/bulwark-error.js';
import {
  AbortedError,
  ConnectionError,
  ContentFilterError,
  StreamInterruptedError,
} from '../errors/errors.js';
import { createEventBus } from '../events/event-bus.js';
import type { AttemptRecord } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { createStreamCommit } from './stream-commit.js';

const start: StreamEvent = { type: 'start', id: 'r1', provider: 'p', model: 'm' };
const text = (value: string): StreamEvent => ({ type: 'text-delta', text: value });
const usage: StreamEvent = { type: 'usage', usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 } };
const finish: StreamEvent = { type: 'finish', finishReason: 'stop' };
const cut = () => new ConnectionError({ provider: 'p', model: 'm', message: 'socket closed' });

interface Row {
  name: string;
  events: StreamEvent[];
  /** Thrown after the events. */
  failure?: () => unknown;
  /** Aborts the call's signal before the failure. */
  abort?: boolean;
  beforeCommit?: (event: StreamEvent) => void;
  /** What the consumer sees, in order. */
  yielded: StreamEvent[];
  committed: boolean;
  /** The error's code, or undefined for a clean end. */
  error?: string;
  /** For `stream_interrupted`: the partial text and usage it carries. */
  partial?: { text: string; usage?: number };
  /** How many `stream:interrupted` events and `onInterrupted` calls. */
  interrupted?: number;
}

const table: Row[] = [
  {
    name: 'a clean stream passes unchanged',
    events: [start, text('a'), usage, finish],
    yielded: [start, text('a'), usage, finish],
    committed: true,
  },
  {
    name: 'a stream without output flushes its preamble at the end',
    events: [start, usage],
    yielded: [start, usage],
    committed: false,
  },
  {
    name: 'a finish alone commits',
    events: [start, finish],
    yielded: [start, finish],
    committed: true,
  },
  {
    name: 'a failure before output shows nothing and is thrown as it is',
    events: [start, usage],
    failure: cut,
    yielded: [],
    committed: false,
    error: 'connection_error',
  },
  {
    name: 'a non-Bulwark failure before output becomes a Bulwark error',
    events: [start],
    failure: () => new Error('boom'),
    yielded: [],
    committed: false,
    error: 'unknown',
  },
  {
    name: 'a failure after output ends with the partial output and its usage',
    events: [start, text('Hel'), usage, text('lo')],
    failure: cut,
    yielded: [start, text('Hel'), usage, text('lo')],
    committed: true,
    error: 'stream_interrupted',
    partial: { text: 'Hello', usage: 7 },
    interrupted: 1,
  },
  {
    name: 'the failure’s own usage wins over the partial’s',
    events: [start, text('a')],
    failure: () =>
      new ConnectionError({ message: 'cut', usage: { inputTokens: 9, outputTokens: 4, totalTokens: 13 } }),
    yielded: [start, text('a')],
    committed: true,
    error: 'stream_interrupted',
    partial: { text: 'a', usage: 13 },
    interrupted: 1,
  },
  {
    name: 'an abort after output passes through unwrapped',
    events: [start, text('a')],
    abort: true,
    failure: () => new AbortedError(),
    yielded: [start, text('a')],
    committed: true,
    error: 'aborted',
  },
  {
    name: 'an interrupted error from a layer below passes through unwrapped',
    events: [start, text('a')],
    failure: () => new StreamInterruptedError({ partial: { text: 'a', toolCalls: [] } }),
    yielded: [start, text('a')],
    committed: true,
    error: 'stream_interrupted',
    partial: { text: 'a' },
  },
  {
    name: 'what beforeCommit throws is a failure before output',
    events: [start, { type: 'finish', finishReason: 'content_filter' }],
    beforeCommit: (event) => {
      if (event.type === 'finish' && event.finishReason === 'content_filter') throw new ContentFilterError();
    },
    yielded: [],
    committed: false,
    error: 'content_filtered',
  },
];

async function* source(row: Row, controller: AbortController): AsyncGenerator<StreamEvent> {
  for (const event of row.events) yield event;
  if (row.abort) controller.abort();
  if (row.failure) throw row.failure();
}

describe('createStreamCommit', () => {
  it.each(table)('$name', async (row) => {
    const controller = new AbortController();
    const events = createEventBus();
    const seen: unknown[] = [];
    events.on('stream:interrupted', (event) => seen.push(event));
    const hooks: BulwarkError[] = [];
    const trail: AttemptRecord[] = [];
    const commit = createStreamCommit(source(row, controller), {
      context: { signal: controller.signal, trail, events, callId: 'c1', metadata: { tenant: 't' } },
      target: { provider: 'p', model: 'm' },
      ...(row.beforeCommit ? { beforeCommit: row.beforeCommit } : {}),
      onInterrupted: (error) => hooks.push(error),
    });
    const yielded: StreamEvent[] = [];
    let caught: unknown;
    try {
      for await (const event of commit.events) yielded.push(event);
    } catch (error) {
      caught = error;
    }
    expect(yielded).toEqual(row.yielded);
    expect(commit.committed).toBe(row.committed);
    expect((caught as BulwarkError | undefined)?.code).toBe(row.error);
    if (row.partial) {
      const interrupted = caught as StreamInterruptedError;
      expect(interrupted.partial.text).toBe(row.partial.text);
      expect(interrupted.usage?.totalTokens).toBe(row.partial.usage);
    }
    expect(seen).toHaveLength(row.interrupted ?? 0);
    expect(hooks).toHaveLength(row.interrupted ?? 0);
    if (row.interrupted) {
      const interrupted = caught as StreamInterruptedError;
      expect(interrupted).toMatchObject({ provider: 'p', model: 'm' });
      expect(interrupted.attempts).toBe(trail);
      expect((interrupted.cause as BulwarkError).code).toBe(hooks[0]!.code);
      expect(interrupted.message).toMatch(/^The stream from p\/m broke after output was sent \(/);
      expect(seen[0]).toEqual({
        callId: 'c1',
        tenant: 't',
        provider: 'p',
        model: 'm',
        error: hooks[0]!.code,
        textLength: row.partial!.text.length,
      });
    }
  });

  it('returns the source when the consumer stops early', async () => {
    let returned = false;
    async function* endless(): AsyncGenerator<StreamEvent> {
      try {
        yield start;
        for (;;) yield text('x');
      } finally {
        returned = true;
      }
    }
    const commit = createStreamCommit(endless(), {
      context: {
        signal: new AbortController().signal,
        trail: [],
        events: createEventBus(),
        callId: 'c',
        metadata: {},
      },
    });
    for await (const event of commit.events) if (event.type === 'text-delta') break;
    expect(returned).toBe(true);
  });
});
