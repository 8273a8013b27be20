// One replica of the multi-process test: sends as fast as it can through a Redis-shared limiter until
// a duration after the parent's go, then prints its counts as JSON. Runs the built dist/ of the packages (see the test's beforeAll).
import { createBulwark, createEventBus } from '@bulwark/core';
import { createRateLimiter } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createRedisLimiterStore } from '../../dist/index.js';

const [redisUrl, prefix, baseURL, durationText, rpmText, concurrencyText] = process.argv.slice(2);
const events = createEventBus();
let degraded = 0;
events.on('store:degraded', () => {
  degraded += 1;
});
// A generous command timeout: the test machine may be loaded, and this test is about sharing, not fail-over.
const store = createRedisLimiterStore({
  url: redisUrl,
  prefix,
  expectedReplicas: 3,
  commandTimeoutMs: 2000,
  events,
});
const limiter = createRateLimiter({
  limits: { main: { rpm: Number(rpmText) } },
  store,
  maxQueue: 10_000,
  maxWaitMs: 60_000,
});
const bulwark = createBulwark({
  providers: [createOpenAIProvider({ name: 'main', baseURL, apiKey: 'sk-test-shared-limit' })],
  middleware: [limiter],
});
while (store.client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 10));

// Start together: say ready, then wait for the parent's "go" (process start-up times differ a lot).
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const endAt = Date.now() + Number(durationText);

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
process.stdout.write(`${JSON.stringify({ ...counts, degraded })}\n`);
