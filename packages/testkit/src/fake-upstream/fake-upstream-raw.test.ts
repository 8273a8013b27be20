import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeUpstream } from './fake-upstream.js';
import type { FakeUpstream } from './types.js';

let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await createFakeUpstream();
});
afterEach(() => upstream.reset());
afterAll(() => upstream.close());

const post = (body: unknown) =>
  fetch(`${upstream.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-beta': 'b1' },
    body: JSON.stringify(body),
  });
const request = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], invented: [1] };

describe('fake upstream raw replies', () => {
  it('answers a canned JSON body byte for byte and records the body and headers it received', async () => {
    const body = '{"id":"msg_1","odd_field":{"kept":true},"content":[]}';
    upstream.enqueue({ kind: 'raw', body, headers: { 'request-id': 'req_raw' } });
    const response = await post(request);
    expect(await response.text()).toBe(body);
    expect(response.headers.get('request-id')).toBe('req_raw');
    expect(upstream.requests[0]?.body).toEqual(request);
    expect(upstream.requests[0]?.headers['anthropic-beta']).toBe('b1');
  });

  it('streams canned frames, unknown event types included, and cuts after the frames asked', async () => {
    const frames = ['event: ping\ndata: {"type":"ping"}\n\n', 'event: brand_new\ndata: {"x":1}\n\n'];
    upstream.enqueue({ kind: 'raw', frames });
    expect(await (await post({ ...request, stream: true })).text()).toBe(frames.join(''));
    upstream.enqueue({ kind: 'raw', frames, cutAfterFrames: 1 });
    const cut = await post({ ...request, stream: true });
    await expect(cut.text()).rejects.toThrow();
  });

  it('rejects a raw behavior with both or neither of body and frames, naming the field', () => {
    expect(() => upstream.enqueue({ kind: 'raw' })).toThrow(/needs exactly one of `body`/);
    expect(() => upstream.enqueue({ kind: 'raw', body: '{}', frames: [] })).toThrow(/needs exactly one/);
    expect(() => upstream.enqueue({ kind: 'raw', frames: ['x'], cutAfterFrames: -1 })).toThrow(
      /cutAfterFrames/,
    );
  });
});
