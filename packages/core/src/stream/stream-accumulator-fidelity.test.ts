import { describe, expect, it } from 'vitest';
import type { ChatResponse } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { isContentEvent } from '../types/stream-event.js';
import { collectStream, responseToEvents, StreamAccumulator } from './stream-accumulator.js';

async function* of(events: StreamEvent[]): AsyncIterable<StreamEvent> {
  yield* events;
}

describe('StreamAccumulator: what translation carries beyond text and tool calls', () => {
  it('folds reasoning deltas into blocks that close on their signature, redacted blocks whole', async () => {
    const response = await collectStream(
      of([
        { type: 'start', id: 'm1', provider: 'p', model: 'x' },
        { type: 'reasoning-delta', text: 'Let me ' },
        { type: 'reasoning-delta', text: 'think.' },
        { type: 'reasoning-delta', signature: 'sig-1' },
        { type: 'reasoning-delta', redacted: 'ENCRYPTED' },
        { type: 'reasoning-delta', text: 'Again.' },
        { type: 'reasoning-delta', signature: 'sig-2' },
        { type: 'text-delta', text: 'Answer' },
        { type: 'finish', finishReason: 'stop', stopSequence: '###' },
      ]),
    );
    expect(response.reasoning).toEqual([
      { type: 'reasoning', text: 'Let me think.', signature: 'sig-1' },
      { type: 'redacted-reasoning', data: 'ENCRYPTED' },
      { type: 'reasoning', text: 'Again.', signature: 'sig-2' },
    ]);
    expect(response.text).toBe('Answer');
    expect(response.stopSequence).toBe('###');
  });

  it('keeps a refusal apart from the text and gathers logprobs in order', () => {
    const accumulator = new StreamAccumulator();
    accumulator.add({ type: 'start', id: 'c1', provider: 'p', model: 'x' });
    accumulator.add({ type: 'text-delta', text: 'Hi', logprobs: [{ token: 'Hi', logprob: -0.1 }] });
    accumulator.add({ type: 'text-delta', text: '!', logprobs: [{ token: '!', logprob: -0.5 }] });
    accumulator.add({ type: 'text-delta', text: "I can't help", refusal: true });
    accumulator.add({ type: 'finish', finishReason: 'stop' });
    const response = accumulator.toResponse();
    expect(response.text).toBe('Hi!');
    expect(response.refusal).toBe("I can't help");
    expect(response.logprobs).toEqual([
      { token: 'Hi', logprob: -0.1 },
      { token: '!', logprob: -0.5 },
    ]);
  });

  it('replays reasoning, refusal and the stop sequence (cache replay) into the same response', async () => {
    const original: ChatResponse = {
      id: 'm2',
      provider: 'p',
      model: 'x',
      text: 'ok',
      toolCalls: [],
      finishReason: 'stop',
      stopSequence: 'END',
      reasoning: [
        { type: 'reasoning', text: 'hmm', signature: 'sig' },
        { type: 'redacted-reasoning', data: 'opaque' },
      ],
      refusal: 'no',
      attempts: [],
    };
    const replayed = await collectStream(of([...responseToEvents(original)]));
    expect(replayed).toEqual(original);
  });

  it('counts a reasoning delta as content (a retry after it would repeat visible output)', () => {
    expect(isContentEvent({ type: 'reasoning-delta', text: 'x' })).toBe(true);
  });
});
