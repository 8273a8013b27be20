import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

const upstreamKey = 'sk-test-upstream-embeddings-0123456789';
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
        claude: { plugin: 'anthropic', baseURL: primary.anthropicBaseURL, apiKey: upstreamKey },
      },
      models: {
        vectors: [
          { provider: 'main', model: 'text-embedding-3-small' },
          { provider: 'spare', model: 'text-embedding-3-small' },
        ],
        talk: [{ provider: 'claude', model: 'claude-sonnet-4-5' }],
      },
      retry: false,
      breaker: false,
      cache: { plugin: 'memory', ttlSeconds: 60 },
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

function decodeFloat32(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, index) => bytes.readFloatLE(index * 4));
}

describe('/v1/embeddings', () => {
  it('serves embeddings.create with float vectors, a batch accounted per item', async () => {
    const { data: answer, response } = await openai.embeddings
      .create({ model: 'vectors', input: ['alpha beta', 'gamma'], encoding_format: 'float', dimensions: 8 })
      .withResponse();
    expect(answer.data).toHaveLength(2);
    expect(answer.data[0]!.embedding).toHaveLength(8);
    expect(answer.data[1]!.index).toBe(1);
    expect(answer.usage.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-bulwark-target')).toBe('main/text-embedding-3-small');
    expect(response.headers.get('x-bulwark-items')).toBe('2');
    const upstream = primary.requests[0]!.body as { model: string; input: string[]; dimensions: number };
    expect(upstream).toMatchObject({
      model: 'text-embedding-3-small',
      input: ['alpha beta', 'gamma'],
      dimensions: 8,
    });
  });

  it('answers encoding_format base64 as float32 little-endian base64, and the SDK default decodes it', async () => {
    const floats = await openai.embeddings.create({
      model: 'vectors',
      input: 'delta',
      encoding_format: 'float',
      dimensions: 4,
    });
    const raw = await fetch(`${url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'vectors', input: 'delta', encoding_format: 'base64', dimensions: 4 }),
    });
    const body = (await raw.json()) as { data: Array<{ embedding: string }> };
    expect(typeof body.data[0]!.embedding).toBe('string');
    const expected = floats.data[0]!.embedding;
    decodeFloat32(body.data[0]!.embedding).forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]!, 6);
    });
    // The SDK asks for base64 by default and decodes it itself.
    const decoded = await openai.embeddings.create({ model: 'vectors', input: 'delta', dimensions: 4 });
    decoded.data[0]!.embedding.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]!, 6);
    });
  });

  it('falls back to the next target when the first answers 503', async () => {
    primary.enqueue({ kind: 'status', status: 503 });
    const { data: answer, response } = await openai.embeddings
      .create(
        { model: 'vectors', input: 'fallback please', encoding_format: 'float', dimensions: 4 },
        { headers: { 'x-bulwark-cache': 'no-cache' } },
      )
      .withResponse();
    expect(answer.data[0]!.embedding).toHaveLength(4);
    expect(response.headers.get('x-bulwark-target')).toBe('spare/text-embedding-3-small');
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
  });

  it('serves a repeated embedding from the cache without reaching any upstream', async () => {
    const first = await openai.embeddings.create({
      model: 'vectors',
      input: 'cache me',
      encoding_format: 'float',
      dimensions: 4,
    });
    expect(primary.requests).toHaveLength(1);
    const { data: second, response } = await openai.embeddings
      .create({ model: 'vectors', input: 'cache me', encoding_format: 'float', dimensions: 4 })
      .withResponse();
    expect(response.headers.get('x-bulwark-cache')).toBe('hit');
    expect(second.data[0]!.embedding).toEqual(first.data[0]!.embedding);
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
  });

  it('answers 400 naming a model whose targets cannot embed, and names bad fields', async () => {
    const refused = await openai.embeddings
      .create({ model: 'talk', input: 'x' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain('model "talk" has no target that can embed');
    const bad = await fetch(`${url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'vectors', input: [1, 2] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('input[0]');
    expect(primary.requests).toHaveLength(0);
  });
});
