// Two calls through a limiter where the second must wait in the queue; prints both answers' order.
// Modes: `rpm` (one request per half second: the second waits on the limiter's refill), `concurrency`
// (one at a time: the second waits for the first to finish), `pause` (the first call is refused with a
// 429 + retry-after, which pauses the scope; the second waits out the pause).
import { createBulwark } from '@bulwark/core';
import { createRateLimiter } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';

const [baseURL, mode] = process.argv.slice(2);
const limits = {
  rpm: { rpm: 120, requestBurst: 1 },
  concurrency: { concurrency: 1 },
  pause: { rpm: 6000 },
}[mode];
if (!baseURL || !limits)
  throw new Error('usage: node limiter-queue.mjs <openai base URL> rpm|concurrency|pause');

const bulwark = createBulwark({
  providers: [createOpenAIProvider({ name: 'openai', apiKey: 'sk-test', baseURL })],
  models: { fast: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
  middleware: [createRateLimiter({ limits: { openai: limits } })],
});

const ask = async (label) => {
  try {
    await bulwark.chat({ model: 'fast', messages: [{ role: 'user', content: label }] });
    return `${label}:ok`;
  } catch (error) {
    return `${label}:${error.code}`;
  }
};

const started = Date.now();
const first = ask('first');
if (mode === 'pause') await first;
const results = await Promise.all([first, ask('second')]);
console.log(JSON.stringify({ results, elapsedMs: Date.now() - started }));
