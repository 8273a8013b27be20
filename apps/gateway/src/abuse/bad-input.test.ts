import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { InvalidRequestError } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/load-config.js';
import { anthropicFormat } from '../formats/anthropic-format.js';
import { openAIFormat } from '../formats/openai-format.js';
import { createGateway, type Gateway } from '../gateway.js';
import { safeHeaderValue } from '../http/header-value.js';
import { captureLogs } from '../test-helpers/log-capture.js';

/**
 * Any text: Latin-1, the BMP (lone surrogates included) and astral code points. (fast-check's
 * `unit: 'binary'` strings take seconds to generate.)
 */
const anyText = (minLength = 0) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0x10000, max: 0x10ffff }),
      ),
      { minLength, maxLength: 24 },
    )
    .map((codes) => String.fromCodePoint(...codes));

const upstreamKey = 'sk-test-upstream-bad-input-0123456789';

let upstream: FakeUpstream;
let gateway: Gateway;
let url: string;
const logs = captureLogs();

beforeAll(async () => {
  upstream = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        // Translation path: Bulwark's own validation of what it maps (a passthrough forwards as sent
        // and the upstream validates).
        main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: upstreamKey, passthrough: false },
        ant: {
          plugin: 'anthropic',
          baseURL: upstream.anthropicBaseURL,
          apiKey: upstreamKey,
          passthrough: false,
        },
      },
      models: {
        smart: [{ provider: 'main', model: 'gpt-4o' }],
        claude: [{ provider: 'ant', model: 'claude-sonnet-4-5' }],
      },
      cache: { plugin: 'memory' },
      retry: false,
      breaker: false,
    },
    logger: logs.logger,
  });
  url = await gateway.listen();
});

afterEach(() => {
  upstream.reset();
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

type Format = 'openai' | 'anthropic';
const paths: Record<Format, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The field the error names: OpenAI `param`, or the path an Anthropic message starts with. */
  field: string | undefined;
  message: string | undefined;
}

async function send(format: Format, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${url}${paths[format]}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  let field: string | undefined;
  let message: string | undefined;
  if (response.status >= 400) {
    const parsed = JSON.parse(text) as {
      error: { message: string; param?: string | null; type: string };
    };
    message = parsed.error.message;
    if (format === 'openai') field = parsed.error.param ?? undefined;
    else field = /^Invalid (?:request: |header )(\S+)/.exec(message)?.[1]?.replace(/:$/, '');
  }
  return { status: response.status, headers: response.headers, text, field, message };
}

const base: Record<Format, Record<string, unknown>> = {
  openai: { model: 'smart', messages: [{ role: 'user', content: 'hi' }] },
  anthropic: { model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
};

const deep = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('deep JSON nesting (#11.5)', () => {
  const cases: Array<[Format, string, string, string]> = [
    [
      'openai',
      'an extra field',
      `{"model":"smart","messages":[{"role":"user","content":"hi"}],"extra":${deep(5000)}}`,
      'extra[0]',
    ],
    [
      'openai',
      'messages',
      `{"model":"smart","messages":[{"role":"user","content":"hi"},${deep(5000)}]}`,
      'messages[1]',
    ],
    [
      'openai',
      'tool parameters',
      `{"model":"smart","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","x":${deep(5000)}}}}]}`,
      'tools[0].function.parameters.x[0]',
    ],
    [
      'openai',
      'json_schema',
      `{"model":"smart","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"x":${deep(5000)}}}}}`,
      'response_format.json_schema.schema.x[0]',
    ],
    [
      'anthropic',
      'an extra field',
      `{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"extra":${deep(5000)}}`,
      'extra[0]',
    ],
    [
      'anthropic',
      'tool input_schema',
      `{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object","x":${deep(200_000)}}}]}`,
      'tools[0].input_schema.x[0]',
    ],
  ];

  it.each(cases)(
    '%s: arrays nested 5,000 (or 200,000) deep in %s answer 400 naming the field, with no upstream call',
    async (format, _where, body, field) => {
      const answer = await send(format, body);
      expect(answer.status).toBe(400);
      expect(answer.field).toBe(field);
      expect(answer.message).toContain('more than 64 levels deep');
      expect(answer.headers.get('x-bulwark-attempts')).toBeNull();
      expect(answer.text).not.toContain('attempts');
      expect(upstream.requests).toHaveLength(0);
    },
  );

  it('serves a body nested exactly 64 levels deep and refuses 65', async () => {
    // The body is level 1; the 63 arrays of `extra` are levels 2 to 64.
    const within = `{"model":"smart","messages":[{"role":"user","content":"hi"}],"extra":${deep(63)}}`;
    expect((await send('openai', within)).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    const beyond = `{"model":"smart","messages":[{"role":"user","content":"hi"}],"extra":${deep(64)}}`;
    expect(await send('openai', beyond)).toMatchObject({ status: 400, field: 'extra[0]' });
    expect(upstream.requests).toHaveLength(1);
  });

  it('relays tool arguments nested 5,000 deep to an Anthropic client as raw text instead of failing', async () => {
    const argumentsText = `{"deep":${deep(5000)}}`;
    upstream.enqueue({ kind: 'reply', text: '', toolCalls: [{ name: 'look', arguments: argumentsText }] });
    const answer = await send('anthropic', JSON.stringify({ ...base.anthropic, model: 'smart' }));
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as { content: Array<{ type: string; input?: unknown }> };
    expect(body.content.find((block) => block.type === 'tool_use')?.input).toEqual({ _raw: argumentsText });
  });

  it('counts no provider error in the metrics', async () => {
    await send('openai', cases[0]![2]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    // Runs before any test in this file that makes an upstream fail.
    expect(metrics).toMatch(/bulwark_requests_total\{route="openai",model="[^"]*",status="400"\} [1-9]/);
    expect(metrics).not.toMatch(/bulwark_errors_total\{[^}]*\} [1-9]/);
    expect(metrics).not.toMatch(/status="5\d\d"/);
  });
});

describe('model names and response headers (#11.14)', () => {
  it.each([
    ['openai', 'gpt-4o\r\nx-injected: 1'],
    ['openai', 'main/gpt-4o\n'],
    ['anthropic', 'ant/claude\u0000'],
    ['anthropic', 'claude\u0085'],
  ] as Array<[Format, string]>)(
    '%s: refuses the model %j with a 400 naming model, before any call',
    async (format, model) => {
      const answer = await send(format, JSON.stringify({ ...base[format], model }));
      expect(answer.status).toBe(400);
      expect(answer.field).toBe('model');
      expect(upstream.requests).toHaveLength(0);
    },
  );

  it('encodes a non-Latin-1 pass-through model name in x-bulwark-target, plain and streamed', async () => {
    const model = 'modèle-日本語-🚀 100%';
    const plain = await send('openai', JSON.stringify({ ...base.openai, model: `main/${model}` }));
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-bulwark-target')).toBe(
      `main/${encodeURIComponent(model).replace(/%20/g, ' ')}`,
    );
    expect(decodeURIComponent(plain.headers.get('x-bulwark-target')!)).toBe(`main/${model}`);
    const streamed = await send(
      'anthropic',
      JSON.stringify({ ...base.anthropic, model: `ant/${model}`, stream: true }),
    );
    expect(streamed.status).toBe(200);
    expect(decodeURIComponent(streamed.headers.get('x-bulwark-target')!)).toBe(`ant/${model}`);
    expect(streamed.text).toContain('message_stop');
  });

  it('leaves printable ASCII alone and never yields a value node:http refuses', () => {
    expect(safeHeaderValue('main/gpt-4o-2024-08-06')).toBe('main/gpt-4o-2024-08-06');
    expect(safeHeaderValue('a\r\nb')).toBe('a%0D%0Ab');
    expect(safeHeaderValue('\ud800x')).toBe('%EF%BF%BDx');
    fc.assert(
      fc.property(anyText(), (text) => {
        const value = safeHeaderValue(text);
        // Plain checks, not expect(): the property runs 200 times.
        if (!/^[\x20-\x7e]*$/.test(value)) return false;
        return /[\ud800-\udfff]/u.test(text) || decodeURIComponent(value) === text;
      }),
      { seed: 11_14, numRuns: 200 },
    );
  });
});

describe('x-bulwark-* request headers (#11.15)', () => {
  const ask = (headers: Record<string, string>) => send('openai', JSON.stringify(base.openai), headers);

  it.each([
    ['x-bulwark-cache-ttl', '99999999999999999999'],
    ['x-bulwark-cache-ttl', '31536001'],
    ['x-bulwark-cache-ttl', '0'],
    ['x-bulwark-cache-ttl', '1e3'],
    ['x-bulwark-cache-ttl', '0x10'],
    ['x-bulwark-cache-ttl', '-5'],
    ['x-bulwark-cache-ttl', '5.5'],
    ['x-bulwark-cache-ttl', ''],
    ['x-bulwark-priority', '1001'],
    ['x-bulwark-priority', '-99999999999999999999'],
    ['x-bulwark-priority', '1e2'],
    ['x-bulwark-priority', ''],
    ['x-bulwark-priority', 'Infinity'],
    ['x-bulwark-cache', 'sometimes'],
  ])('%s: %j answers 400 naming the header, with no upstream call', async (header, value) => {
    const answer = await ask({ [header]: value });
    expect(answer.status).toBe(400);
    expect(answer.field).toBe(header);
    expect(upstream.requests).toHaveLength(0);
  });

  it('accepts the largest TTL (365 days) and the priority range ends', async () => {
    expect((await ask({ 'x-bulwark-cache-ttl': '31536000' })).status).toBe(200);
    expect((await ask({ 'x-bulwark-priority': '-1000' })).status).toBe(200);
    expect((await ask({ 'x-bulwark-priority': '+1000', 'x-bulwark-cache': 'no-cache' })).status).toBe(200);
  });
});

describe('small ones (#11.19)', () => {
  it('answers 405 with an invalid-request type in each format', async () => {
    const openai = await fetch(`${url}/v1/chat/completions`);
    expect(openai.status).toBe(405);
    expect(openai.headers.get('allow')).toBe('POST');
    expect((await openai.json()).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_request',
    });
    const anthropic = await fetch(`${url}/v1/messages`, { method: 'PUT' });
    expect(anthropic.status).toBe(405);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it.each([
    [
      { type: 'json_schema', json_schema: { name: 'bad name!', schema: {} } },
      'response_format.json_schema.name',
    ],
    [
      { type: 'json_schema', json_schema: { name: 'ok', schema: { type: 'obj' } } },
      'response_format.json_schema.schema.type',
    ],
    [{ type: 'xml' }, 'response_format.type'],
  ])('names the real path of a bad response_format (%j)', async (format, field) => {
    const answer = await send('openai', JSON.stringify({ ...base.openai, response_format: format }));
    expect(answer).toMatchObject({ status: 400, field });
    expect(answer.message).toContain(field);
  });

  it('names wire paths, not normalized ones, and leaves schema property names as sent', async () => {
    const tool = (parameters: unknown, name = 'f') => ({ type: 'function', function: { name, parameters } });
    const cases: Array<[Format, Record<string, unknown>, string]> = [
      [
        'openai',
        { tools: [tool({ type: 'object', properties: { name: { type: 7 } } })] },
        'tools[0].function.parameters.properties.name.type',
      ],
      ['openai', { tools: [tool({}, 'bad name')] }, 'tools[0].function.name'],
      [
        'openai',
        { tools: [tool({})], tool_choice: { type: 'function', function: { name: 'g' } } },
        'tool_choice.function.name',
      ],
      ['openai', { max_completion_tokens: 0 }, 'max_completion_tokens'],
      ['openai', { max_tokens: 0 }, 'max_tokens'],
      [
        'openai',
        {
          messages: [
            { role: 'user', content: 'x' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'c', function: { name: '', arguments: '{}' } }],
            },
          ],
        },
        'messages[1].tool_calls[0].function.name',
      ],
      ['anthropic', { stop_sequences: [''] }, 'stop_sequences'],
      // Refused by the Anthropic provider's mapping (during the call), renamed all the same.
      [
        'anthropic',
        { tools: [{ name: 'f', input_schema: { type: 'array' } }] },
        'tools[0].input_schema.type',
      ],
      [
        'anthropic',
        { tools: [{ name: 'f', input_schema: { type: 'object', properties: { url: { type: 'x' } } } }] },
        'tools[0].input_schema.properties.url.type',
      ],
      [
        'anthropic',
        {
          system: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 5 },
          ],
        },
        'system[1].text',
      ],
      [
        'anthropic',
        {
          messages: [
            { role: 'user', content: 'x' },
            {
              role: 'assistant',
              content: [
                { type: 'text', text: 'a' },
                { type: 'tool_use', id: '', name: 'f', input: {} },
              ],
            },
          ],
        },
        'messages[1].content[1].id',
      ],
      [
        'anthropic',
        {
          messages: [
            {
              role: 'user',
              content: [
                { type: 'tool_result', tool_use_id: 't', content: 'r' },
                { type: 'image', source: { type: 'base64', media_type: 'text/plain', data: 'AAAA' } },
              ],
            },
          ],
        },
        'messages[0].content[1].source.media_type',
      ],
    ];
    for (const [format, fields, field] of cases) {
      const answer = await send(format, JSON.stringify({ ...base[format], ...fields }));
      expect({ status: answer.status, field: answer.field }).toEqual({ status: 400, field });
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers an upstream 503 with 503 whichever provider sent it, and 500 with 502', async () => {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    const statusOf = (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (error: { status?: number }) => error.status,
      );
    for (const [status, expected] of [
      [503, 503],
      [504, 504],
      [500, 502],
      [529, 503],
    ] as const) {
      upstream.enqueue({ kind: 'status', status }, { kind: 'status', status });
      const viaOpenAI = await statusOf(
        openai.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'x' }] }),
      );
      const viaAnthropic = await statusOf(
        anthropic.messages.create({
          model: 'claude',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        }),
      );
      expect({ status, viaOpenAI, viaAnthropic }).toEqual({
        status,
        viaOpenAI: expected,
        viaAnthropic: expected,
      });
    }
  });

  it('names the file of a config nested 200,000 levels deep, JSON or YAML', () => {
    const folder = mkdtempSync(join(tmpdir(), 'bulwark-deep-config-'));
    try {
      const nested = deep(200_000);
      const files = {
        json: [join(folder, 'deep.json'), `{"providers":{"a":{"plugin":"openai","x":${nested}}}}`],
        // The YAML parser is slower on deep flow sequences; 20,000 levels already overflow a recursion.
        yaml: [join(folder, 'deep.yaml'), `providers:\n  a:\n    plugin: openai\n    x: ${deep(20_000)}\n`],
      };
      for (const [file, text] of Object.values(files)) {
        writeFileSync(file!, text!);
        const error = (() => {
          try {
            loadConfigFile(file!, {});
          } catch (thrown) {
            return thrown as Error;
          }
        })();
        expect(error?.name).toBe('ConfigError');
        expect(error?.message).toContain(file);
      }
      expect(() => loadConfigFile(files.json[0]!, {})).toThrow(
        /providers\.a\.x\[0\] nests arrays and objects more than 64 levels/,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** Fixed so a failure replays; fast-check prints the seed and the counterexample when a property fails. */
const seed = Number(process.env.BULWARK_PROPERTY_SEED ?? 20_261_204);
type Path = ReadonlyArray<string | number>;

const richBodies: Record<Format, Record<string, unknown>> = {
  openai: {
    model: 'smart',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'look', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'a cat' },
      { role: 'user', content: 'and?' },
    ],
    tools: [
      {
        type: 'function',
        function: { name: 'look', parameters: { type: 'object', properties: { at: { type: 'string' } } } },
      },
    ],
    tool_choice: 'auto',
    temperature: 0.5,
    max_tokens: 50,
    stop: ['END'],
    response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' } } },
    metadata: { user: 'u1' },
  },
  anthropic: {
    model: 'claude',
    max_tokens: 50,
    system: [{ type: 'text', text: 'Be brief.' }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hi' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'looking' },
          { type: 'tool_use', id: 't1', name: 'look', input: {} },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'a cat' }] },
    ],
    tools: [{ name: 'look', input_schema: { type: 'object', properties: { at: { type: 'string' } } } }],
    tool_choice: { type: 'auto' },
    temperature: 0.5,
    top_p: 0.9,
    stop_sequences: ['END'],
    metadata: { user_id: 'u1' },
  },
};

/** Every path of a body (objects and arrays, to their leaves), plus fields the body does not have. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const found: Path[] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) found.push(...pathsOf(item, [...prefix, index]));
  } else if (typeof value === 'object' && value !== null)
    for (const [key, item] of Object.entries(value)) found.push(...pathsOf(item, [...prefix, key]));
  return found;
}

const absentFields: Record<Format, Path[]> = {
  openai: [
    ['stream'],
    ['stream_options'],
    ['n'],
    ['top_p'],
    ['seed'],
    ['parallel_tool_calls'],
    ['max_completion_tokens'],
    ['user'],
  ],
  anthropic: [['stream'], ['top_k'], ['messages', 0, 'content', 2]],
};

const deepMarker = '\u0000deep-5000\u0000';

/** Any JSON value, arrays nested around the 64-level bound, or 5,000 levels (spliced into the text). */
const hostileJson = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 55, max: 68 }).map((depth) => JSON.parse(deep(depth)) as unknown),
  },
  { weight: 1, arbitrary: fc.constant(deepMarker) },
);

/** `target`: the alias to call, so the translators between formats run too (`claude` is an Anthropic target). */
function bodyWith(format: Format, path: Path, value: unknown, stream: boolean, target?: string): string {
  const body = structuredClone(richBodies[format]);
  if (stream) body.stream = true;
  if (target) body.model = target;
  let parent = body as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path.at(-1)!] = value;
  return JSON.stringify(body).replace(JSON.stringify(deepMarker), deep(5000));
}

/**
 * The field an error names is a wire path into the body the client sent (not a normalized name such
 * as `tools[0].parameters` or `maxTokens`): its first segments, up to three and all but the last,
 * exist in the body. (Later segments may be schema property names with any character in them.)
 */
function namesAField(field: string | undefined, bodyText: string): boolean {
  if (field === undefined) return false;
  if (field === 'body' || field.startsWith('body[')) return true;
  const segments = [...field.matchAll(/([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]/g)].map(
    (match) => match[1] ?? Number(match[2]),
  );
  if (segments.length === 0) return false;
  let current: unknown = JSON.parse(bodyText);
  for (const segment of segments.slice(0, Math.max(1, Math.min(segments.length - 1, 3)))) {
    if (typeof current !== 'object' || current === null || !(segment! in current)) return false;
    current = (current as Record<string | number, unknown>)[segment!];
  }
  return true;
}

describe('property: any JSON value in any field (#11 standing abuse suite)', () => {
  for (const format of ['openai', 'anthropic'] as const) {
    const paths = [...pathsOf(richBodies[format]), ...absentFields[format]];

    it(`${format}: answers 2xx, or a local 4xx naming a field with no upstream call; never 5xx (both targets)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...paths),
          hostileJson,
          fc.boolean(),
          fc.constantFrom('smart', 'claude'),
          async (path, value, stream, target) => {
            const text = bodyWith(format, path, value, stream, target);
            const before = upstream.requests.length;
            const answer = await send(format, text);
            const upstreamCalls = upstream.requests.length - before;
            expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
            if (answer.status < 300) {
              expect(upstreamCalls).toBeLessThanOrEqual(1);
              return;
            }
            // The upstream's own verdict on what it was sent (a provider-specific rule) is its to give.
            if (upstreamCalls > 0) return;
            if (answer.status === 404) expect(path[0]).toBe('model');
            else expect(namesAField(answer.field, text), answer.text.slice(0, 300)).toBe(true);
          },
        ),
        { seed, numRuns: 150 },
      );
    });
  }

  it('any answer text and tool arguments an upstream sends reach the client as valid JSON or SSE, in both formats', async () => {
    const argumentsText = fc.oneof(
      anyText(),
      fc.json({ maxDepth: 4 }),
      fc.constant(`{"deep":${deep(5000)}}`),
      fc.constant(`{"deep":${deep(63)}}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Format>('openai', 'anthropic'),
        fc.constantFrom('smart', 'claude'),
        fc.boolean(),
        anyText(),
        fc.option(argumentsText, { nil: undefined }),
        async (format, target, stream, text, toolArguments) => {
          upstream.enqueue({
            kind: 'reply',
            text,
            ...(toolArguments === undefined
              ? {}
              : { toolCalls: [{ name: 'look', arguments: toolArguments }] }),
          });
          const answer = await send(format, bodyWith(format, ['temperature'], 0.5, stream, target));
          expect(answer.status, answer.text.slice(0, 300)).toBe(200);
          if (!stream) {
            expect(() => JSON.parse(answer.text)).not.toThrow();
            return;
          }
          const data = answer.text
            .split('\n')
            .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
            .map((line) => JSON.parse(line.slice('data: '.length)) as Record<string, unknown>);
          expect(data.some((event) => 'error' in event || event.type === 'error')).toBe(false);
          expect(answer.text).toMatch(format === 'openai' ? /data: \[DONE\]\n\n$/ : /event: message_stop\n/);
        },
      ),
      { seed, numRuns: 80 },
    );
  });

  it('the request parsers alone (no HTTP): parse, or throw InvalidRequestError naming a wire field', () => {
    const formats = { openai: openAIFormat, anthropic: anthropicFormat };
    for (const format of ['openai', 'anthropic'] as const) {
      const paths = [...pathsOf(richBodies[format]), ...absentFields[format]];
      fc.assert(
        fc.property(fc.constantFrom(...paths), hostileJson, fc.boolean(), (path, value, stream) => {
          const text = bodyWith(format, path, value, stream);
          try {
            formats[format].parse(JSON.parse(text));
            return true;
          } catch (error) {
            // What the gateway checks before parsing (nesting) comes first there; here it is the parsers' own.
            if (!InvalidRequestError.isInstance(error)) return false;
            return namesAField(error.field, text) && error.message.includes(error.field!);
          }
        }),
        { seed, numRuns: 300 },
      );
    }
  });

  it('x-bulwark-* headers: any printable value answers 200 or a 400 naming the header', async () => {
    const headerNames = ['x-bulwark-cache', 'x-bulwark-cache-ttl', 'x-bulwark-priority'] as const;
    const printable = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
    });
    const numeric = fc.oneof(fc.integer(), fc.double(), fc.bigInt()).map(String);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...headerNames),
        fc.oneof(printable, numeric),
        async (header, value) => {
          const before = upstream.requests.length;
          const answer = await send('openai', JSON.stringify(base.openai), { [header]: value });
          if (answer.status === 200) return;
          expect(answer.status).toBe(400);
          expect(answer.field).toBe(header);
          expect(upstream.requests.length).toBe(before);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('pass-through model names: any string answers < 500, control characters a 400 naming model, headers decode', async () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters a model may not hold
    const controls = /[\u0000-\u001f\u007f-\u009f]/;
    await fc.assert(
      fc.asyncProperty(anyText(1), fc.boolean(), async (name, stream) => {
        const before = upstream.requests.length;
        const body = { ...base.openai, model: `main/${name}`, ...(stream ? { stream } : {}) };
        const answer = await send('openai', JSON.stringify(body));
        expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
        if (controls.test(name)) {
          expect(answer).toMatchObject({ status: 400, field: 'model' });
          expect(upstream.requests.length).toBe(before);
        } else if (answer.status === 200 && !/[\ud800-\udfff]/u.test(name)) {
          expect(decodeURIComponent(answer.headers.get('x-bulwark-target')!)).toBe(`main/${name}`);
        }
      }),
      { seed, numRuns: 60 },
    );
  });
});
