import { spawnSync } from 'node:child_process';
import { createCache } from '@bulwark/cache';
import { type ChatRequest, createBulwark } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describeCacheBackendConformance, redisCommand, startRedisServer } from '@bulwark/testkit';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisCache, type RedisCacheBackend } from './redis-cache.js';

type Server = Awaited<ReturnType<typeof startRedisServer>>;

/** Three masters from local `redis-server` processes on free ports, joined with `redis-cli --cluster create`. */
async function startCluster(): Promise<{ ports: number[]; stop: () => Promise<void> }> {
  const servers: Server[] = [];
  try {
    for (let index = 0; index < 3; index += 1) {
      servers.push(
        await startRedisServer({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const ports = servers.map((server) => server.port);
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await redisCommand('127.0.0.1', port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not reach cluster_state:ok`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return { ports, stop: async () => void (await Promise.all(servers.map((server) => server.stop()))) };
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
}

const cluster = await startCluster();
const nodes = cluster.ports.map((port) => `127.0.0.1:${port}`);

describeCacheBackendConformance({
  name: 'redis cluster',
  create: async () => {
    const backend = createRedisCache({
      nodes,
      prefix: 'conformance:',
      lookupTimeoutMs: 2_000,
      writeTimeoutMs: 2_000,
    });
    expect(await backend.ready(15_000)).toBe(true);
    return backend;
  },
});

describe('createRedisCache on a 3-node Redis Cluster', () => {
  let backend: RedisCacheBackend;
  let client: Cluster;

  beforeAll(async () => {
    client = new Cluster(nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
    backend = createRedisCache({
      redis: client,
      prefix: 'unit:',
      lookupTimeoutMs: 2_000,
      writeTimeoutMs: 2_000,
    });
    expect(await backend.ready(15_000)).toBe(true);
  });

  afterAll(async () => {
    await backend.dispose?.();
    client.disconnect();
    await cluster.stop();
  });

  it('spreads one namespace over every master and clears it on all of them', async () => {
    const keys = Array.from({ length: 60 }, (_, index) => `key-${index}`);
    await Promise.all(
      keys.map((key) => backend.set('tenant:spread', key, new TextEncoder().encode(key), 60_000)),
    );
    const perNode = await Promise.all(
      client.nodes('master').map(async (node) => (await node.keys('unit:tenant%3Aspread:*')).length),
    );
    expect(perNode).toHaveLength(3);
    expect(perNode.every((count) => count > 0)).toBe(true);
    expect(perNode.reduce((sum, count) => sum + count, 0)).toBe(60);
    await backend.clear('tenant:spread');
    const left = await Promise.all(client.nodes('master').map((node) => node.keys('unit:tenant%3Aspread:*')));
    expect(left.flat()).toEqual([]);
  });

  it('serves cache hits to a bulwark client', async () => {
    const cache = createCache({ backend });
    const mock = createMockProvider();
    const bulwark = createBulwark({ providers: [mock], middleware: [cache] });
    const requests: ChatRequest[] = Array.from({ length: 12 }, (_, index) => ({
      model: 'm',
      messages: [{ role: 'user', content: `cluster question ${index}` }],
    }));
    for (const request of requests) await bulwark.chat(request, { metadata: { tenant: 'acme' } });
    await cache.flush();
    const again = await Promise.all(
      requests.map((request) => bulwark.chat(request, { metadata: { tenant: 'acme' } })),
    );
    expect(again.every((answer) => answer.cache === 'hit')).toBe(true);
    expect(mock.callCount).toBe(12);
  });
});
