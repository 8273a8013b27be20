// A client with every stateful middleware (cache, deadline, retry, breaker, limiter, attempt timeouts)
// that answers one call and abandons one stream without reading it, then has
// nothing in flight: the process must exit by itself, with no timer of Bulwark's holding it open.
import { createCircuitBreaker } from '@bulwark/breaker';
import { createCache } from '@bulwark/cache';
import { createMemoryCache } from '@bulwark/cache-memory';
import { createBulwark } from '@bulwark/core';
import { createRateLimiter } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createRetry } from '@bulwark/retry';
import { createAttemptTimeout, createDeadline } from '@bulwark/timeout';

const [baseURL, mode] = process.argv.slice(2);
if (!baseURL) throw new Error('usage: node idle-client.mjs <openai base URL> [constructed-only]');

const bulwark = createBulwark({
  providers: [createOpenAIProvider({ name: 'openai', apiKey: 'sk-test', baseURL })],
  models: { smart: [{ provider: 'openai', model: 'gpt-4o' }] },
  middleware: [
    createCache({ backend: createMemoryCache() }),
    createDeadline({ totalMs: 600_000 }),
    createRetry({ maxAttempts: 3 }),
    createCircuitBreaker({ failureThreshold: 5 }),
    createRateLimiter({ limits: { openai: { rpm: 600, concurrency: 4 } } }),
    createAttemptTimeout({ firstTokenMs: 600_000, idleMs: 600_000 }),
  ],
});

if (mode !== 'constructed-only') {
  const answer = await bulwark.chat(
    { model: 'smart', messages: [{ role: 'user', content: 'Hello' }] },
    { timeoutMs: 600_000 },
  );
  // A stream that is asked for and never read: its 10-minute deadline must not hold the process.
  bulwark.stream(
    { model: 'smart', messages: [{ role: 'user', content: 'never read' }] },
    { timeoutMs: 600_000 },
  );
  console.log(JSON.stringify({ text: answer.text }));
} else {
  console.log(JSON.stringify({ constructed: true }));
}
