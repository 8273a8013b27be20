import type { PluginDescriptor } from '@bulwark/core';
import { freePort, startRedisServer } from '@bulwark/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

const gateways: Gateway[] = [];
const stops: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close({ drainTimeoutMs: 0 })));
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

async function start(config: Record<string, unknown>, plugins: PluginDescriptor[] = []): Promise<Gateway> {
  const gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: { mock: { plugin: 'mock' } },
      log: { level: 'error' },
      ...config,
    },
    plugins,
  });
  gateways.push(gateway);
  await gateway.listen();
  return gateway;
}

interface ReadyBody {
  status: string;
  checks: Array<{ plugin: string; path: string; ready: boolean; reason?: string }>;
}

async function readyz(gateway: Gateway): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(`${gateway.url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

/** Polls /readyz until it answers `status` (a reconnecting client takes a moment), at most `withinMs`. */
async function until(gateway: Gateway, status: number, withinMs = 8000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const answer = await readyz(gateway);
    if (answer.status === status || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('/readyz asks the plugins', () => {
  it('goes 503 naming each Redis-backed plugin while its Redis is down, and 200 again once it is back', async () => {
    const port = await freePort();
    const first = await startRedisServer({ port });
    let stopRedis = first.stop;
    stops.push(() => stopRedis());
    const url = `redis://127.0.0.1:${port}`;
    const prefix = `bulwark-readyz-${process.pid}-${Date.now()}:`;
    const gateway = await start({
      cache: { store: { plugin: 'redis', url, prefix, lookupTimeoutMs: 50 } },
      limiter: { store: { plugin: 'redis', url, prefix } },
      budget: { store: { plugin: 'redis', url, prefix }, budgets: [], unpricedModels: 'allow' },
    });
    expect(gateway.plan.describe().readiness).toEqual(
      expect.arrayContaining(['cache:redis at cache.store', 'limiter-store:redis at limiter.store']),
    );

    const up = await until(gateway, 200);
    expect(up.status).toBe(200);
    expect(up.body.status).toBe('ready');
    expect(up.body.checks.map((check) => check.plugin).sort()).toEqual([
      'cache:redis',
      'limiter-store:redis',
      'spend-store:redis',
    ]);

    await stopRedis();
    const down = await until(gateway, 503);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unavailable');
    const notReady = down.body.checks.filter((check) => !check.ready);
    expect(notReady.map((check) => check.plugin).sort()).toEqual([
      'cache:redis',
      'limiter-store:redis',
      'spend-store:redis',
    ]);
    for (const check of notReady) expect(check.reason).toEqual(expect.any(String));
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);

    const again = await startRedisServer({ port });
    stopRedis = again.stop;
    const back = await until(gateway, 200);
    expect(back.status).toBe(200);
    expect(back.body.checks.every((check) => check.ready)).toBe(true);
  }, 30_000);

  it('takes the verdict of the plugin itself, whatever its URL scheme (a rediss:// store checks its own TLS client)', async () => {
    let verdict: unknown = { ready: true };
    const tlsStore: PluginDescriptor<'middleware'> = {
      specificationVersion: 'v1',
      kind: 'middleware',
      name: 'tls-backed',
      configSchema: {
        '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
      },
      create: () => ({
        specificationVersion: 'v1',
        name: 'tls-backed',
        stage: 'custom',
        ready: () => verdict,
      }),
    };
    // No raw socket to this URL is ever opened by the gateway: the old check could not speak TLS.
    const gateway = await start(
      { middleware: [{ plugin: 'tls-backed', config: { url: 'rediss://:secret@127.0.0.1:1/0' } }] },
      [tlsStore],
    );
    expect(await readyz(gateway)).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: [{ plugin: 'middleware:tls-backed', path: 'middleware[0].config', ready: true }],
      },
    });
    verdict = { ready: false, reason: 'warming up' };
    expect((await readyz(gateway)).body.checks[0]).toMatchObject({ ready: false, reason: 'warming up' });
    verdict = false;
    expect((await readyz(gateway)).status).toBe(503);
    verdict = Promise.reject(new Error('handshake failed'));
    (verdict as Promise<unknown>).catch(() => {});
    expect((await readyz(gateway)).body.checks[0]).toMatchObject({
      ready: false,
      reason: 'handshake failed',
    });
    verdict = new Promise(() => {});
    const slow = await readyz(gateway);
    expect(slow.status).toBe(503);
    expect(slow.body.checks[0]!.reason).toBe('no answer within 1000 ms');
    expect(JSON.stringify(gateway.plan.describe())).not.toContain('secret');
  });

  it('is ready with no plugin that has a ready()', async () => {
    const gateway = await start({});
    expect(await readyz(gateway)).toEqual({ status: 200, body: { status: 'ready', checks: [] } });
  });
});
