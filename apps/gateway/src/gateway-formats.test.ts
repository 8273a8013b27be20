import Anthropic from '@anthropic-ai/sdk';
import { echoProviderPlugin } from '@bulwark/testkit/scenarios';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

let gateway: Gateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  gateway = await createGateway({
    config: {
      server: { port: 0, bodyLimit: '64kb' },
      providers: { echo: { plugin: 'echo' }, backup: { plugin: 'echo' } },
      models: { smart: [{ provider: 'echo', model: 'echo-1' }] },
      log: { level: 'error' },
    },
    plugins: [echoProviderPlugin],
  });
  const url = await gateway.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-key', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: url, apiKey: 'unused-key', maxRetries: 0 });
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
});

describe('OpenAI format', () => {
  it('answers a plain call with Bulwark headers', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello there');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    expect(response.headers.get('x-bulwark-target')).toBe('echo/echo-1');
    expect(response.headers.get('x-bulwark-attempts')).toBe('1');
    expect(response.headers.get('x-bulwark-cache')).toBe('miss');
  });

  it('streams text with a final usage chunk and [DONE]', async () => {
    const stream = await openai.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: one two three');
    expect(finish).toBe('stop');
    expect(usage?.total_tokens).toBe(15);
  });

  it('streams tool calls that the SDK assembles', async () => {
    const runner = openai.chat.completions.stream({
      model: 'smart',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        },
      ],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('names the bad field in a 400', async () => {
    const error = await openai.chat.completions
      .create({ model: 'smart', messages: [{ role: 'wizard' as 'user', content: 'x' }] })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages[0].role');
    expect((error as Error).message).toContain('"wizard"');
  });

  it('answers 404 for an unknown model, in OpenAI format', async () => {
    const error = await openai.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('lists the aliases', async () => {
    const models = await openai.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['smart']);
  });
});

describe('Anthropic format', () => {
  it('answers a plain call', async () => {
    const message = await anthropic.messages.create({
      model: 'smart',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi claude' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hi claude' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens).toBe(10);
    expect(message.usage.output_tokens).toBe(5);
  });

  it('streams text and tool use that the SDK assembles', async () => {
    const stream = anthropic.messages.stream({
      model: 'smart',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'a b c' }],
    });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(deltas.join('')).toBe('echo: a b c');
    expect(final.content).toEqual(
      [{ type: 'text', text: 'echo: a b c', citations: null }].map(({ citations: _c, ...block }) =>
        expect.objectContaining(block),
      ),
    );
    expect(final.usage.output_tokens).toBe(5);

    const tools = anthropic.messages.stream({
      model: 'smart',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [
        { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      ],
    });
    const toolMessage = await tools.finalMessage();
    expect(toolMessage.stop_reason).toBe('tool_use');
    expect(toolMessage.content).toEqual([
      expect.objectContaining({
        type: 'tool_use',
        id: 'call_1',
        name: 'get_weather',
        input: { city: 'Paris' },
      }),
    ]);
  });

  it('requires max_tokens, naming it', async () => {
    const error = await anthropic.messages
      .create({
        model: 'smart',
        messages: [{ role: 'user', content: 'x' }],
      } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('max_tokens');
  });
});

describe('HTTP edge cases', () => {
  it('rejects malformed JSON with 400 in the route format', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      body: '{"model":',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('not valid JSON');
  });

  it('rejects a body above the limit with 413', async () => {
    const big = JSON.stringify({
      model: 'smart',
      messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }],
    });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('answers health and unknown routes', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/v1/chat/completions`)).status).toBe(405);
  });
});
