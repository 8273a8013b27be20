import { describe, expect, it } from 'vitest';
import type { ChatResponse } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { collectStream, responseToEvents, StreamAccumulator } from './stream-accumulator.js';

async function* from(events: StreamEvent[]): AsyncIterable<StreamEvent> {
  yield* events;
}

describe('stream folding', () => {
  it('assembles interleaved tool-call deltas by index', async () => {
    const response = await collectStream(
      from([
        { type: 'start', id: 'r1', provider: 'p', model: 'm' },
        { type: 'text-delta', text: 'Let me ' },
        { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'weather', argumentsDelta: '{"city":' },
        { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'time', argumentsDelta: '{}' },
        { type: 'text-delta', text: 'check.' },
        { type: 'tool-call-delta', index: 1, argumentsDelta: '"Oslo"}' },
        { type: 'usage', usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } },
        { type: 'finish', finishReason: 'tool_calls' },
      ]),
    );
    expect(response).toMatchObject({
      id: 'r1',
      text: 'Let me check.',
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_a', name: 'time', arguments: '{}' },
        { id: 'call_b', name: 'weather', arguments: '{"city":"Oslo"}' },
      ],
      usage: { totalTokens: 15 },
    });
  });

  it('reports partial output and no finish for a cut stream', () => {
    const accumulator = new StreamAccumulator();
    accumulator.add({ type: 'start', id: 'r', provider: 'p', model: 'm' });
    accumulator.add({ type: 'text-delta', text: 'half' });
    expect(accumulator.finished).toBe(false);
    expect(accumulator.partial()).toEqual({ text: 'half', toolCalls: [] });
    expect(accumulator.toResponse().finishReason).toBe('other');
  });

  it('replays a response as the events that fold back into it', async () => {
    const original: ChatResponse = {
      id: 'r9',
      provider: 'p',
      model: 'm',
      text: 'The quick brown fox',
      toolCalls: [{ id: 'c', name: 'f', arguments: '{"a":1}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      attempts: [],
      cache: 'hit',
    };
    const events = [...responseToEvents(original, { chunkSize: 4 })];
    expect(events.filter((event) => event.type === 'text-delta')).toHaveLength(5);
    expect(await collectStream(from(events))).toEqual(original);
  });
});
