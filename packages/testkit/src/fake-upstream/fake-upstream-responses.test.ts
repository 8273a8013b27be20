import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeUpstream } from './fake-upstream.js';
import type { FakeUpstream } from './types.js';

let upstream: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await createFakeUpstream();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: upstream.openaiBaseURL, maxRetries: 0 });
});
afterEach(() => upstream.reset());
afterAll(() => upstream.close());

describe('fake upstream Responses API through the openai SDK', () => {
  it('answers responses.create with output_text, usage and a resp_ id', async () => {
    const answer = await client.responses.create({
      model: 'gpt-5',
      instructions: 'brief',
      input: 'hello there',
    });
    expect(answer.id).toMatch(/^resp_/);
    expect(answer.output_text).toBe('echo: hello there');
    expect(answer.usage?.input_tokens).toBeGreaterThan(0);
    expect(upstream.requests[0]).toMatchObject({ path: '/v1/responses', format: 'responses' });
  });

  it('streams the event sequence responses.stream() accumulates, function calls as their own items', async () => {
    upstream.enqueue({ kind: 'reply', toolCalls: [{ name: 'lookup', arguments: '{"q":"weather"}' }] });
    const stream = client.responses.stream({ model: 'gpt-5', input: 'use the tool' });
    const final = await stream.finalResponse();
    expect(final.output[0]).toMatchObject({
      type: 'function_call',
      name: 'lookup',
      arguments: '{"q":"weather"}',
    });
    const plain = await client.responses.create({ model: 'gpt-5', input: 'stream', stream: true });
    const types: string[] = [];
    for await (const event of plain) types.push(event.type);
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_text.delta');
    expect(types.at(-1)).toBe('response.completed');
  });

  it('applies faults: an error status, an in-stream error event, a cut, a missing field', async () => {
    upstream.enqueue({ kind: 'status', status: 503 });
    await expect(client.responses.create({ model: 'gpt-5', input: 'x' })).rejects.toMatchObject({
      status: 503,
    });
    upstream.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const broken = await client.responses.create({ model: 'gpt-5', input: 'x', stream: true });
    const types: string[] = [];
    for await (const event of broken) types.push(event.type);
    // The SDK hands the error event over like any other; the stream never completes.
    expect(types.at(-1)).toBe('error');
    expect(types).not.toContain('response.completed');
    upstream.enqueue({ kind: 'cut', afterChunks: 4 });
    const cut = await client.responses.create({ model: 'gpt-5', input: 'x', stream: true });
    await expect(
      (async () => {
        for await (const _event of cut) {
          // read until the socket closes
        }
      })(),
    ).rejects.toThrow();
    const missing = await client.responses
      .create({ model: 'gpt-5' } as never)
      .catch((error: unknown) => error);
    expect((missing as { status: number }).status).toBe(400);
  });
});
