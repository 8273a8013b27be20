import { describe, expect, it } from 'vitest';
import { passthroughHeaders, splitSseFrames } from './passthrough.js';

async function* chunks(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

async function split(parts: Uint8Array[]) {
  const out = [];
  for await (const frame of splitSseFrames(chunks(parts))) out.push(frame);
  return out;
}

describe('splitSseFrames', () => {
  it('keeps each frame byte for byte across chunk boundaries, split UTF-8 and CRLF frames included', async () => {
    const text = 'event: a\ndata: {"t":"é🙂"}\n\n: comment\r\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]\n\n';
    const bytes = new TextEncoder().encode(text);
    const parts = [bytes.slice(0, 20), bytes.slice(20, 21), bytes.slice(21, 45), bytes.slice(45)];
    const frames = await split(parts);
    expect(frames.map((frame) => frame.raw).join('')).toBe(text);
    expect(frames).toEqual([
      { raw: 'event: a\ndata: {"t":"é🙂"}\n\n', event: 'a', data: '{"t":"é🙂"}' },
      { raw: ': comment\r\ndata: x\r\ndata: y\r\n\r\n', event: undefined, data: 'x\ny' },
      { raw: 'data: [DONE]\n\n', event: undefined, data: '[DONE]' },
    ]);
  });

  it('drops a trailing partial frame (a cut mid-frame is not a frame)', async () => {
    const frames = await split([new TextEncoder().encode('data: 1\n\ndata: {"cut')]);
    expect(frames.map((frame) => frame.data)).toEqual(['1']);
  });
});

describe('passthroughHeaders', () => {
  it('drops the caller credentials and keeps every other header, lower-cased', () => {
    expect(
      passthroughHeaders({
        Authorization: 'Bearer caller',
        'x-api-key': 'caller',
        cookie: 'a=b',
        'Anthropic-Beta': 'b1',
        'x-custom': 'v',
      }),
    ).toEqual({ 'anthropic-beta': 'b1', 'x-custom': 'v' });
  });
});
