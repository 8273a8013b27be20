// One replica of the multi-process test: sends as fast as it can through a Redis-shared limiter until
// `endAt`, then prints its counts as JSON. Runs the built dist/ of the packages (see the test's beforeAll).
import { createBulwark } from '@bulwark/core';
import { createRateLimiter } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createRedisLimiterStore } from '../../dist/index.js';

const [redisUrl, keyPrefix, baseURL, endAtText, rpmText, concurrencyText] = process.argv.slice(2);
const endAt = Number(endAtText);
const store = createRedisLimiterStore({ url: redisUrl, keyPrefix });
const limiter = createRateLimiter({
  limits: { main: { rpm: Number(rpmText), requestBurst: 1 } },
  store,
  maxQueue: 10_000,
  maxWaitMs: 60_000,
});
const bulwark = createBulwark({
  providers: [createOpenAIProvider({ name: 'main', baseURL, apiKey: 'sk-test-shared-limit' })],
  middleware: [limiter],
});
while (store.client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 10));

const counts = { ok: 0, rateLimited: 0, localRejects: 0, errors: 0 };
async function sender() {
  while (Date.now() < endAt) {
    try {
      await bulwark.chat(
        { model: 'main/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 },
        { timeoutMs: Math.max(1, endAt - Date.now() + 1000) },
      );
      counts.ok += 1;
    } catch (error) {
      if (error?.code === 'rate_limited' && error.local) counts.localRejects += 1;
      else if (error?.code === 'rate_limited') counts.rateLimited += 1;
      else if (error?.code === 'timeout') break;
      else counts.errors += 1;
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrencyText) }, sender));
await limiter.close();
await store.close();
process.stdout.write(`${JSON.stringify(counts)}\n`);
