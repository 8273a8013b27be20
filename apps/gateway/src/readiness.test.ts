import { freePort } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';

describe('/readyz', () => {
  it('answers 503 while a configured Redis is unreachable, and the plan names it without secrets', async () => {
    const port = await freePort();
    const url = `redis://:secret-redis-password@127.0.0.1:${port}`;
    const gateway = await createGateway({
      config: {
        server: { port: 0 },
        providers: { mock: { plugin: 'mock' } },
        cache: { plugin: 'redis', url, lookupTimeoutMs: 20 },
        log: { level: 'error' },
      },
    });
    try {
      await gateway.listen();
      expect(gateway.plan.redisUrls).toEqual([url]);
      expect(JSON.stringify(gateway.plan.describe())).not.toContain('secret-redis-password');
      const ready = await fetch(`${gateway.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    } finally {
      await gateway.close({ drainTimeoutMs: 0 });
    }
  });
});
