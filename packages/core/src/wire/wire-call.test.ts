import { describe, expect, it } from 'vitest';
import { createBulwark } from '../client/create-bulwark.js';
import { ConnectionError, ServerError } from '../errors/errors.js';
import type { ProviderV1 } from '../provider.js';
import { collectStream, responseToEvents } from '../stream/stream-accumulator.js';
import type { StreamEvent } from '../types/stream-event.js';
import type { WireFrame, WireRequestV1, WireResponseV1 } from './wire.js';

type Script = (request: WireRequestV1, model: string) => WireResponseV1;

function wireProvider(name: string, format: 'openai-chat' | 'anthropic-messages', script: Script[]) {
  const calls: Array<{ body: Record<string, unknown>; model: string }> = [];
  const provider: ProviderV1 = {
    specificationVersion: 'v1',
    name,
    system: name,
    capabilities: { streaming: true, tools: true, vision: false, jsonMode: false },
    async complete(request) {
      return {
        id: 'normalized',
        provider: name,
        model: request.model,
        text: 'translated',
        toolCalls: [],
        finishReason: 'stop',
        attempts: [],
      };
    },
    async *stream(request) {
      yield { type: 'start', id: 'normalized', provider: name, model: request.model };
      yield { type: 'text-delta', text: 'translated' };
      yield { type: 'finish', finishReason: 'stop' };
    },
    passthrough: {
      format,
      async call(request, model) {
        calls.push({ body: { ...request.body }, model });
        const next = script[Math.min(calls.length - 1, script.length - 1)]!;
        return next(request, model);
      },
    },
  };
  return { provider, calls };
}

async function* framesOf(frames: WireFrame[], failWith?: Error): AsyncGenerator<WireFrame> {
  for (const frame of frames) yield frame;
  if (failWith) throw failWith;
}

const usage = { inputTokens: 7, outputTokens: 3, totalTokens: 10 };
const wire: WireRequestV1 = {
  format: 'openai-chat',
  body: { model: 'smart', messages: [{ role: 'user', content: 'hi' }], invented: { x: 1 } },
  headers: {},
};
const streamWire: WireRequestV1 = { ...wire, body: { ...wire.body, stream: true } };
const request = { model: 'smart', messages: [{ role: 'user' as const, content: 'hi' }] };
const head = {
  format: 'openai-chat' as const,
  status: 200,
  headers: { 'x-request-id': 'req_1' },
  requestId: 'req_1',
};

describe('same-format passthrough through the pipeline', () => {
  it('sends the wire request to a provider of its format and returns the upstream body with the tapped facts', async () => {
    const { provider, calls } = wireProvider('main', 'openai-chat', [
      () => ({
        ...head,
        kind: 'json',
        body: '{"id":"c1","odd":true}',
        facts: { id: 'c1', usage, finishReason: 'stop' },
      }),
    ]);
    const bulwark = createBulwark({
      providers: [provider],
      models: { smart: [{ provider: 'main', model: 'gpt-x' }] },
    });
    const answer = await bulwark.chat(request, { wire });
    expect(calls).toEqual([{ body: wire.body, model: 'gpt-x' }]);
    expect(answer.wire).toEqual({ ...head, body: '{"id":"c1","odd":true}' });
    expect(answer).toMatchObject({ id: 'c1', usage, finishReason: 'stop', requestId: 'req_1' });
  });

  it('translates for a provider of the other format, and without a wire request', async () => {
    const { provider, calls } = wireProvider('claude', 'anthropic-messages', []);
    const bulwark = createBulwark({
      providers: [provider],
      models: { smart: [{ provider: 'claude', model: 'c' }] },
    });
    expect((await bulwark.chat(request, { wire })).text).toBe('translated');
    expect((await bulwark.chat(request)).text).toBe('translated');
    expect(calls).toEqual([]);
  });

  it('holds preamble frames until the first content frame: a failure before it falls back invisibly', async () => {
    const first = wireProvider('first', 'openai-chat', [
      () => ({
        ...head,
        kind: 'stream',
        frames: framesOf(
          [{ data: 'data: {"role":"assistant"}\n\n' }],
          new ServerError({ status: 503, message: 'down' }),
        ),
      }),
    ]);
    const second = wireProvider('second', 'openai-chat', [
      () => ({
        ...head,
        kind: 'stream',
        frames: framesOf([
          { data: 'data: {"c":"Hel"}\n\n', facts: { content: true, text: 'Hel' } },
          { data: 'event: unknown\ndata: {}\n\n' },
          { data: '', facts: { usage } },
          { data: 'data: [DONE]\n\n', facts: { finishReason: 'stop' } },
        ]),
      }),
    ]);
    const bulwark = createBulwark({
      providers: [first.provider, second.provider],
      models: {
        smart: [
          { provider: 'first', model: 'a' },
          { provider: 'second', model: 'b' },
        ],
      },
    });
    const events: StreamEvent[] = [];
    for await (const event of bulwark.stream(request, { wire: streamWire })) events.push(event);
    const frames = events.filter((event) => event.type === 'wire').map((event) => event.data);
    expect(frames).toEqual(['data: {"c":"Hel"}\n\n', 'event: unknown\ndata: {}\n\n', 'data: [DONE]\n\n']);
    expect(events[0]).toMatchObject({ type: 'start', provider: 'second', wire: head });
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('ends a stream cut after content with an interrupted error carrying the usage reported so far', async () => {
    const { provider } = wireProvider('main', 'openai-chat', [
      () => ({
        ...head,
        kind: 'stream',
        frames: framesOf(
          [{ data: 'data: {"c":"Hi"}\n\n', facts: { content: true, text: 'Hi', usage } }],
          new ConnectionError({ message: 'cut' }),
        ),
      }),
    ]);
    const bulwark = createBulwark({
      providers: [provider],
      models: { smart: [{ provider: 'main', model: 'a' }] },
    });
    const seen: string[] = [];
    const run = async () => {
      for await (const event of bulwark.stream(request, { wire: streamWire }))
        if (event.type === 'wire') seen.push(event.data);
    };
    await expect(run()).rejects.toMatchObject({ code: 'stream_interrupted', usage, partial: { text: 'Hi' } });
    expect(seen).toEqual(['data: {"c":"Hi"}\n\n']);
  });

  it('folds a passthrough stream into a response whose replay yields the same frames', async () => {
    const source: StreamEvent[] = [
      { type: 'start', id: '', provider: 'main', model: 'a', wire: head, requestId: 'req_1' },
      { type: 'wire', data: 'event: ping\ndata: {}\n\n' },
      { type: 'wire', data: 'data: {"c":"Hi"}\n\n', content: true, text: 'Hi' },
      { type: 'usage', usage },
      { type: 'finish', finishReason: 'stop' },
    ];
    async function* replay() {
      yield* source;
    }
    const response = await collectStream(replay());
    expect(response.wire).toEqual({ ...head, frames: ['event: ping\ndata: {}\n\n', 'data: {"c":"Hi"}\n\n'] });
    expect(response.text).toBe('Hi');
    const again = [...responseToEvents(JSON.parse(JSON.stringify(response)))];
    expect(again.filter((event) => event.type === 'wire').map((event) => event.data)).toEqual(
      response.wire!.frames,
    );
    expect(again.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });
});
