import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

const upstreamKey = 'sk-test-upstream-responses-0123456789';
let primary: FakeUpstream;
let backup: FakeUpstream;
let gateway: Gateway;
let openai: OpenAI;
let url: string;
const logs = captureLogs();

beforeAll(async () => {
  primary = await createFakeUpstream({ apiKey: upstreamKey });
  backup = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        main: { plugin: 'openai', baseURL: primary.openaiBaseURL, apiKey: upstreamKey },
        spare: { plugin: 'openai', baseURL: backup.openaiBaseURL, apiKey: upstreamKey },
        claude: { plugin: 'anthropic', baseURL: backup.anthropicBaseURL, apiKey: upstreamKey },
      },
      models: {
        smart: [
          { provider: 'main', model: 'gpt-4o' },
          { provider: 'spare', model: 'gpt-4o-mini' },
        ],
        sonnet: [{ provider: 'claude', model: 'claude-sonnet-4-5' }],
        exact: { targets: [{ provider: 'main', model: 'gpt-4o' }], translation: 'strict' },
      },
      retry: false,
      breaker: false,
      log: { level: 'error' },
    },
    logger: logs.logger,
  });
  url = await gateway.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterEach(() => {
  primary.reset();
  backup.reset();
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await primary.close();
  await backup.close();
});

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

describe('/v1/responses, translated', () => {
  it('answers responses.create with output_text, usage and the translated chat request upstream', async () => {
    const { data, response } = await openai.responses
      .create({ model: 'smart', instructions: 'be brief', input: 'ping', max_output_tokens: 50 })
      .withResponse();
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe('echo: ping');
    expect(data.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-bulwark-target')).toBe('main/gpt-4o');
    const upstream = primary.requests[0]!.body as { messages: unknown[]; max_completion_tokens: number };
    expect(upstream.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'ping' },
    ]);
    expect(upstream.max_completion_tokens).toBe(50);
  });

  it('streams the whole event sequence with increasing sequence numbers to an Anthropic target', async () => {
    const stream = await openai.responses.create({ model: 'sonnet', input: 'stream me', stream: true });
    const events: Array<{ type: string; sequence_number: number }> = [];
    for await (const event of stream) events.push(event);
    const types = events.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types).toContain('response.output_text.delta');
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    events.forEach((event, index) => {
      expect(event.sequence_number).toBe(index);
    });
    const completed = events.at(-1) as unknown as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.output_text ?? '').toBe('');
    const message = completed.response.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect((message.content[0] as OpenAI.Responses.ResponseOutputText).text).toBe('echo: stream me');
  });

  it('runs a function tool over two turns with responses.stream()', async () => {
    primary.enqueue({ kind: 'reply', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const first = openai.responses.stream({
      model: 'smart',
      input: 'weather in Paris?',
      tools: [weatherTool],
    });
    const deltas: string[] = [];
    first.on('response.function_call_arguments.delta', (event) => deltas.push(event.delta));
    const turn = await first.finalResponse();
    const call = turn.output.find(
      (item) => item.type === 'function_call',
    ) as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' });
    expect(deltas.join('')).toBe('{"city":"Paris"}');
    const second = openai.responses.stream({
      model: 'smart',
      input: [
        { role: 'user', content: 'weather in Paris?' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' },
      ],
      tools: [weatherTool],
    });
    const answer = await second.finalResponse();
    expect(answer.output_text).toContain('echo:');
    const upstream = primary.requests[1]!.body as { messages: Array<Record<string, unknown>> };
    expect(upstream.messages[1]).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: call.call_id, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    expect(upstream.messages[2]).toEqual({
      role: 'tool',
      tool_call_id: call.call_id,
      content: '18°C and sunny',
    });
  });

  it('falls back on a 503 before output, plain and streamed', async () => {
    primary.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const { data, response } = await openai.responses
      .create({ model: 'smart', input: 'again' })
      .withResponse();
    expect(data.output_text).toBe('echo: again');
    expect(response.headers.get('x-bulwark-target')).toBe('spare/gpt-4o-mini');
    const stream = openai.responses.stream({ model: 'smart', input: 'again streamed' });
    expect((await stream.finalResponse()).output_text).toBe('echo: again streamed');
    expect(backup.requests).toHaveLength(2);
  });

  it('ends a stream cut after output with response.failed and never response.completed', async () => {
    primary.enqueue({ kind: 'cut', afterChunks: 2 });
    const stream = await openai.responses.create({
      model: 'smart',
      input: 'a long answer please',
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toContain('response.output_text.delta');
    expect(types.at(-1)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
    expect(backup.requests).toHaveLength(0);
  });

  it('names what it cannot translate in x-bulwark-dropped, or refuses it under translation: strict', async () => {
    const { response } = await openai.responses
      .create({
        model: 'smart',
        input: 'search',
        tools: [{ type: 'web_search' } as unknown as OpenAI.Responses.Tool, weatherTool],
        background: true,
      })
      .withResponse();
    expect(response.headers.get('x-bulwark-dropped')).toBe('tools[0],background');
    const refused = await openai.responses
      .create({ model: 'exact', input: 'x', previous_response_id: 'resp_abc' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain('previous_response_id');
  });

  it('answers errors in the OpenAI format', async () => {
    const missing = await fetch(`${url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'smart', input: 42 }),
    });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('input');
  });
});

describe('a Responses-only model behind any client format', () => {
  it('serves chat, messages and responses clients from an openai provider on the Responses API', async () => {
    const upstream = await createFakeUpstream({ apiKey: upstreamKey });
    const responsesGateway = await createGateway({
      config: {
        server: { port: 0 },
        providers: {
          pro: {
            plugin: 'openai',
            baseURL: upstream.openaiBaseURL,
            apiKey: upstreamKey,
            responsesModels: ['o3-pro'],
          },
        },
        models: { deep: [{ provider: 'pro', model: 'o3-pro' }] },
        retry: false,
        breaker: false,
        log: { level: 'error' },
      },
      logger: logs.logger,
    });
    try {
      const base = await responsesGateway.listen();
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
      const chat = await client.chat.completions.create({
        model: 'deep',
        messages: [{ role: 'user', content: 'one' }],
      });
      expect(chat.choices[0]!.message.content).toBe('echo: one');
      const streamed = await client.responses.stream({ model: 'deep', input: 'two' }).finalResponse();
      expect(streamed.output_text).toBe('echo: two');
      expect(upstream.requests.map((request) => request.path)).toEqual(['/v1/responses', '/v1/responses']);
    } finally {
      await responsesGateway.close({ drainTimeoutMs: 0 });
      await upstream.close();
    }
  });
});

describe('/v1/responses to upstreams that serve the Responses API (same format)', () => {
  let first: FakeUpstream;
  let second: FakeUpstream;
  let samePort: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    first = await createFakeUpstream({ apiKey: upstreamKey });
    second = await createFakeUpstream({ apiKey: upstreamKey });
    samePort = await createGateway({
      config: {
        server: { port: 0 },
        providers: {
          one: { plugin: 'openai', baseURL: first.openaiBaseURL, apiKey: upstreamKey, responses: true },
          two: { plugin: 'openai', baseURL: second.openaiBaseURL, apiKey: upstreamKey, responses: true },
        },
        models: {
          stateful: [
            { provider: 'one', model: 'gpt-5' },
            { provider: 'two', model: 'gpt-5-mini' },
          ],
        },
        retry: false,
        breaker: false,
        log: { level: 'error' },
      },
      logger: logs.logger,
    });
    client = new OpenAI({ baseURL: `${await samePort.listen()}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  afterEach(() => {
    first.reset();
    second.reset();
  });

  afterAll(async () => {
    await samePort.close({ drainTimeoutMs: 0 });
    await first.close();
    await second.close();
  });

  it('forwards the body as sent (only model replaced) and answers as the upstream did', async () => {
    const body = {
      model: 'stateful',
      input: 'as sent',
      store: true,
      include: ['reasoning.encrypted_content'],
    };
    const { data, response } = await client.responses.create(body as never).withResponse();
    expect((data as OpenAI.Responses.Response).output_text).toBe('echo: as sent');
    expect((data as OpenAI.Responses.Response).id).toMatch(/^resp_/);
    expect(response.headers.get('x-bulwark-dropped')).toBeNull();
    expect(response.headers.get('x-request-id')).toBe(first.requests[0]!.id);
    expect(first.requests[0]!.body).toEqual({ ...body, model: 'gpt-5' });
    const streamed = await client.responses
      .stream({ model: 'stateful', input: 'streamed as sent' })
      .finalResponse();
    expect(streamed.output_text).toBe('echo: streamed as sent');
    expect(first.requests[1]!.path).toBe('/v1/responses');
  });

  it('sends a request naming a previous response to the target that produced it, and only there', async () => {
    first.enqueue({ kind: 'status', status: 503 });
    const produced = await client.responses.create({ model: 'stateful', input: 'remember me' });
    expect(second.requests).toHaveLength(1);
    first.reset();
    second.reset();
    const followUp = await client.responses
      .create({ model: 'stateful', input: 'and then?', previous_response_id: produced.id })
      .withResponse();
    expect(followUp.response.headers.get('x-bulwark-target')).toBe('two/gpt-5-mini');
    expect(first.requests).toHaveLength(0);
    expect((second.requests[0]!.body as { previous_response_id: string }).previous_response_id).toBe(
      produced.id,
    );
    // Pinned: a failure of the holder is not fallen back to the other provider.
    second.enqueue({ kind: 'status', status: 503 });
    await expect(
      client.responses.create({ model: 'stateful', input: 'again', previous_response_id: produced.id }),
    ).rejects.toMatchObject({ status: 503 });
    expect(first.requests).toHaveLength(0);
  });

  it('ends a passthrough stream cut after output with an error event, never response.completed', async () => {
    first.enqueue({ kind: 'cut', afterChunks: 6 });
    const stream = await client.responses.create({
      model: 'stateful',
      input: 'cut this long answer',
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toContain('response.output_text.delta');
    expect(types.at(-1)).toBe('error');
    expect(types).not.toContain('response.completed');
    expect(second.requests).toHaveLength(0);
  });
});
