// The root README's in-process client, pointed at the base URL given as the first argument (the fake
// upstream of the test that spawned this process). Imports the built packages.
import { createCircuitBreaker } from '@bulwark/breaker';
import { createCache } from '@bulwark/cache';
import { createMemoryCache } from '@bulwark/cache-memory';
import { createBulwark } from '@bulwark/core';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createRetry } from '@bulwark/retry';

export const baseURL = process.argv[2];
if (!baseURL) throw new Error('usage: node <script> <openai base URL>');

export const bulwark = createBulwark({
  providers: [createOpenAIProvider({ name: 'openai', apiKey: 'sk-test', baseURL })],
  models: { smart: [{ provider: 'openai', model: 'gpt-4o' }] },
  // Outermost first: cache (once per call) → retry → breaker (around each target).
  middleware: [
    createCache({ backend: createMemoryCache() }),
    createRetry({ maxAttempts: 3 }),
    createCircuitBreaker({ failureThreshold: 5 }),
  ],
});
