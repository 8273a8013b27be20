import { spawnSync } from 'node:child_process';
import { redisCommand, startRedisServer } from '@bulwark/testkit';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBreakerStore } from './redis-breaker-store.js';
import { createRedisLimiterStore } from './redis-limiter-store.js';

type Server = Awaited<ReturnType<typeof startRedisServer>>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Three local masters with `--cluster-enabled yes`, joined by `redis-cli --cluster create`. */
describe('Redis Cluster (3 local nodes)', () => {
  const servers: Server[] = [];
  let cluster: Cluster;

  beforeAll(async () => {
    for (let index = 0; index < 3; index += 1) {
      servers.push(
        await startRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'] }),
      );
    }
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...servers.map((server) => `127.0.0.1:${server.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const infos = await Promise.all(
        servers.map((server) => redisCommand('127.0.0.1', server.port, ['CLUSTER', 'INFO'])),
      );
      if (infos.every((info) => info.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok');
      await sleep(100);
    }
    cluster = new Cluster(
      servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
      { redisOptions: { maxRetriesPerRequest: 0 } },
    );
    await new Promise((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('error', reject);
    });
  }, 60_000);

  afterAll(async () => {
    cluster?.disconnect();
    for (const server of servers) await server.stop();
  });

  it('admits over several dimensions on many scopes without CROSSSLOT (T-D2)', async () => {
    const store = createRedisLimiterStore({ redis: cluster, prefix: 'bulwark-test:cluster:' });
    const dimensions = [
      { name: 'requests', limit: 1, periodMs: 1000, burst: 5 },
      { name: 'tokens', limit: 1000, periodMs: 1000, burst: 1000 },
    ];
    for (let scope = 0; scope < 20; scope += 1) {
      const results = [];
      for (let index = 0; index < 6; index += 1) {
        results.push(await store.acquire(`provider-${scope}/model`, [1, 10], dimensions, 0));
      }
      expect(results.map((result) => result.allowed)).toEqual([true, true, true, true, true, false]);
      await store.adjust(`provider-${scope}/model`, [0, -5], dimensions, 0);
      await store.pause(`provider-${scope}/model`, 100, dimensions, 0);
    }
    expect(store.degraded).toBe(false);
    // The scopes spread over more than one node.
    const owners = new Set<number>();
    for (let scope = 0; scope < 20; scope += 1) {
      const slot = Number(
        await cluster.cluster(
          'KEYSLOT',
          `bulwark-test:cluster:limiter:v1:{provider-${scope}/model}:requests`,
        ),
      );
      owners.add(slot < 5461 ? 0 : slot < 10923 ? 1 : 2);
    }
    expect(owners.size).toBeGreaterThan(1);
    await store.close();
  });

  it('shares breaker state through the cluster', async () => {
    const store = createRedisBreakerStore({ redis: cluster, prefix: 'bulwark-test:cluster:' });
    const policy = {
      failureThreshold: 1,
      failureRatio: 0,
      minimumCalls: 1,
      windowMs: 1000,
      bucketMs: 100,
      cooldownMs: 60_000,
      maxCooldownMs: 60_000,
      cooldownMultiplier: 1,
      halfOpenProbes: 1,
      probeTimeoutMs: 1000,
    };
    const admitted = await store.acquire('openai/gpt', 0, policy);
    if (!admitted.allowed) throw new Error('expected closed');
    expect((await store.record('openai/gpt', admitted.ticket, 'failure', 0, policy)).state).toBe('open');
    expect(await store.acquire('openai/gpt', 0, policy)).toMatchObject({ allowed: false, state: 'open' });
    expect(await store.keys()).toContain('openai/gpt');
    expect(store.degraded).toBe(false);
  });
});
