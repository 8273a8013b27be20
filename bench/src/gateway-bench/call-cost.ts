/**
 * Client-side CPU cost of one upstream call, layer by layer, in a child process (the fake upstream runs
 * in the parent, so `process.cpuUsage()` here counts only the caller's work): node:http, global fetch,
 * the OpenAI provider (official SDK on global fetch and on its default `createNodeFetch` transport),
 * `bulwark.chat` bare and with the gateway's default target-level policies. Tells how much of the
 * gateway's per-request CPU is the upstream transport.
 *
 * Receives `{ baseURL, calls, concurrency }` over IPC, answers with `CallCostRow[]`.
 */
import { Agent, request as httpRequest } from 'node:http';
import { createCircuitBreaker } from '@bulwark/breaker';
import { type CallContext, type ChatRequest, createBulwark, createEventBus } from '@bulwark/core';
import { createRateLimiter } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createRetry } from '@bulwark/retry';
import { createAttemptTimeout, createDeadline } from '@bulwark/timeout';

export interface CallCostJob {
  /** The fake upstream's OpenAI base URL (`…/v1`). */
  baseURL: string;
  calls: number;
  concurrency: number;
}

export interface CallCostRow {
  layer: string;
  callsPerSecond: number;
  cpuMicrosecondsPerCall: number;
}

const chatRequest: ChatRequest = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Say hello to the benchmark in a few short words, please.' },
  ],
  temperature: 0,
  maxTokens: 64,
};
const wireBody = JSON.stringify({
  model: chatRequest.model,
  messages: chatRequest.messages,
  temperature: 0,
  max_tokens: 64,
});

async function measure(layer: string, job: CallCostJob, call: () => Promise<unknown>): Promise<CallCostRow> {
  for (let index = 0; index < Math.min(500, job.calls); index += 1) await call();
  let started = 0;
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (started < job.calls) {
        started += 1;
        await call();
      }
    }),
  );
  const elapsed = performance.now() - wall;
  const used = process.cpuUsage(cpu);
  return {
    layer,
    callsPerSecond: (job.calls / elapsed) * 1000,
    cpuMicrosecondsPerCall: (used.user + used.system) / job.calls,
  };
}

async function run(job: CallCostJob): Promise<CallCostRow[]> {
  const target = new URL(`${job.baseURL}/chat/completions`);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const viaHttp = () =>
    new Promise<unknown>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(wireBody) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(wireBody);
    });
  const viaFetch = async () => {
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: wireBody,
    });
    return JSON.parse(await response.text());
  };
  const providerOptions = { name: 'openai', baseURL: job.baseURL, apiKey: 'sk-bench-not-a-secret' };
  const provider = createOpenAIProvider(providerOptions);
  const providerOnGlobalFetch = createOpenAIProvider({ ...providerOptions, fetch: globalThis.fetch });
  const events = createEventBus();
  const context = (): CallContext =>
    ({ signal: new AbortController().signal, events, metadata: {} }) as unknown as CallContext;
  const bare = createBulwark({
    providers: { openai: createOpenAIProvider(providerOptions) },
    passThrough: true,
    validateRequests: false,
  });
  const withPolicies = createBulwark({
    providers: { openai: createOpenAIProvider(providerOptions) },
    middleware: [
      createDeadline({ totalMs: 120_000 }),
      createRetry(),
      createCircuitBreaker(),
      createRateLimiter({ limits: { openai: { rpm: 100_000_000, tpm: 100_000_000_000 } } }),
      createAttemptTimeout(),
    ],
    passThrough: true,
    validateRequests: false,
  });
  const rows: CallCostRow[] = [];
  rows.push(await measure('node:http request (keep-alive agent) + JSON.parse', job, viaHttp));
  rows.push(await measure('global fetch + JSON.parse', job, viaFetch));
  rows.push(
    await measure('provider.complete, openai SDK on global fetch', job, () =>
      providerOnGlobalFetch.complete(chatRequest, context()),
    ),
  );
  rows.push(
    await measure('provider.complete, openai SDK on the default transport (createNodeFetch)', job, () =>
      provider.complete(chatRequest, context()),
    ),
  );
  rows.push(await measure('bulwark.chat, no middleware', job, () => bare.chat(chatRequest)));
  rows.push(
    await measure('bulwark.chat + deadline, retry, breaker, limiter, attempt timeout', job, () =>
      withPolicies.chat(chatRequest),
    ),
  );
  agent.destroy();
  return rows;
}

process.on('message', (job: CallCostJob) => {
  run(job).then(
    (rows) => process.send?.({ ok: true, rows }),
    (error: unknown) =>
      process.send?.({ ok: false, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
