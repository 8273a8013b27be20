import {
  createFakeUpstream,
  type FakeUpstream,
  freePort,
  type TestRedis,
  useTestRedis,
} from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from './config/config-schema.js';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

const upstreamKey = 'sk-test-upstream-pinning-0123456789';
const logs = captureLogs();

/**
 * Two gateway replicas behind one load balancer: a response created through A, continued through B,
 * must reach the target that holds it. `responses.pinning.store: redis` shares the pin.
 */
describe('previous_response_id pins shared on Redis between gateway replicas', () => {
  let redis: TestRedis;
  let first: FakeUpstream;
  let second: FakeUpstream;
  const gateways: Gateway[] = [];

  const replica = async (pinning: NonNullable<GatewayConfigInput['responses']>['pinning']) => {
    const gateway = await createGateway({
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
        responses: { pinning },
        log: { level: 'error', requests: false },
      },
      logger: logs.logger,
    });
    gateways.push(gateway);
    return new OpenAI({ baseURL: `${await gateway.listen()}/v1`, apiKey: 'unused', maxRetries: 0 });
  };

  beforeAll(async () => {
    redis = await useTestRedis();
    first = await createFakeUpstream({ apiKey: upstreamKey });
    second = await createFakeUpstream({ apiKey: upstreamKey });
  });

  afterEach(() => {
    first.reset();
    second.reset();
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.close({ drainTimeoutMs: 0 });
    await first.close();
    await second.close();
    await redis.stop();
  });

  /** Creates a response through `a` that the second target produces (the first answers 503 once). */
  const producedBySecond = async (a: OpenAI, stream = false): Promise<string> => {
    first.enqueue({ kind: 'status', status: 503 });
    const id = stream
      ? (await a.responses.stream({ model: 'stateful', input: 'remember me' }).finalResponse()).id
      : (await a.responses.create({ model: 'stateful', input: 'remember me' })).id;
    expect(second.requests).toHaveLength(1);
    first.reset();
    second.reset();
    return id;
  };

  it('sends a follow-up through replica B to the target that answered through replica A', async () => {
    const store = { plugin: 'redis' as const, url: redis.url, prefix: `${redis.prefix}shared:` };
    const a = await replica({ store });
    const b = await replica({ store });
    for (const stream of [false, true]) {
      const id = await producedBySecond(a, stream);
      const followUp = await b.responses
        .create({ model: 'stateful', input: 'and then?', previous_response_id: id })
        .withResponse();
      expect(followUp.response.headers.get('x-bulwark-target'), `stream: ${stream}`).toBe('two/gpt-5-mini');
      expect(first.requests).toHaveLength(0);
      expect(second.requests).toHaveLength(1);
      expect((second.requests[0]!.body as { previous_response_id: string }).previous_response_id).toBe(id);
      // Pinned on B too: a failure of the holder is not fallen back to the other provider.
      second.enqueue({ kind: 'status', status: 503 });
      await expect(
        b.responses.create({ model: 'stateful', input: 'again', previous_response_id: id }),
      ).rejects.toMatchObject({ status: 503 });
      expect(first.requests).toHaveLength(0);
      first.reset();
      second.reset();
    }
  });

  it('does not share pins between replicas on the default memory store (the case Redis is for)', async () => {
    const a = await replica(undefined);
    const b = await replica({ store: { plugin: 'memory' } });
    const id = await producedBySecond(a);
    await b.responses.create({ model: 'stateful', input: 'and then?', previous_response_id: id });
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(0);
  });

  it('routes a follow-up normally once the pin has expired on Redis (ttlSeconds)', async () => {
    const store = { plugin: 'redis' as const, url: redis.url, prefix: `${redis.prefix}short:` };
    const a = await replica({ store, ttlSeconds: 1 });
    const b = await replica({ store, ttlSeconds: 1 });
    const id = await producedBySecond(a);
    await b.responses.create({ model: 'stateful', input: 'in time', previous_response_id: id });
    expect(second.requests).toHaveLength(1);
    second.reset();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await b.responses.create({ model: 'stateful', input: 'too late', previous_response_id: id });
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(0);
  });

  it('fails open when its Redis does not answer: routed normally, not ready in /readyz', async () => {
    const store = { plugin: 'redis' as const, url: `redis://127.0.0.1:${await freePort()}` };
    const down = await replica({ store });
    // The answer still comes (its pin is lost), and the follow-up goes to the alias's first target.
    const id = await producedBySecond(down);
    await down.responses.create({ model: 'stateful', input: 'then?', previous_response_id: id });
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(0);
    const ready = await fetch(`${gateways.at(-1)!.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Array<{ path: string; ready: boolean }> };
    expect(body.checks).toContainEqual(
      expect.objectContaining({ path: 'responses.pinning.store', ready: false }),
    );
  });

  it('reports the pin store in /readyz', async () => {
    const gateway = gateways[0]!;
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Array<{ path: string; ready: boolean }> };
    expect(body.checks).toContainEqual(
      expect.objectContaining({ path: 'responses.pinning.store', ready: true }),
    );
  });
});
