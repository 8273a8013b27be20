/**
 * Which HTTP client carries a same-format passthrough call: client-side CPU per call of each candidate
 * against the same fake upstream (in this process's parent-less setup the upstream runs in a child,
 * so `process.cpuUsage()` counts only the caller). Candidates: Node's node:http request (the floor),
 * the project's `createNodeFetch`, the official openai SDK's raw-response mode (`client.post(…)
 * .asResponse()`) over `createNodeFetch` — what `@bulwark/provider-openai`'s passthrough uses —, the
 * provider's `passthrough.call` itself (SDK raw mode + tap), and undici's `Pool.request` when
 * `--undici PATH` points at an installed undici module (undici@7 runs on Node 20; undici@8 needs
 * Node ≥ 22.19; it is not a dependency of the bench).
 *
 * Run: `pnpm --filter @bulwark/bench bench:transport [--calls N] [--concurrency N] [--undici /path/to/undici/index.js]`.
 */
import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createEventBus, type WireRequestV1 } from '@bulwark/core';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createFakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
// Read from source: provider-utils is not a dependency of the bench.
import { createNodeFetch } from '../../packages/provider-utils/src/node-fetch.js';

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '10' },
    undici: { type: 'string' },
    upstream: { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
});

const body = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Say hello to the benchmark in a few short words, please.' },
  ],
  temperature: 0,
  max_tokens: 64,
};
const text = JSON.stringify(body);

async function measure(name: string, calls: number, concurrency: number, call: () => Promise<unknown>) {
  for (let index = 0; index < 500; index += 1) await call();
  let started = 0;
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < calls) {
        started += 1;
        await call();
      }
    }),
  );
  const elapsed = performance.now() - wall;
  const used = process.cpuUsage(cpu);
  return {
    name,
    cpuMicroseconds: (used.user + used.system) / calls,
    callsPerSecond: (calls / elapsed) * 1000,
  };
}

async function client(baseURL: string): Promise<void> {
  const calls = Number(flags.calls);
  const concurrency = Number(flags.concurrency);
  const url = new URL(`${baseURL}/chat/completions`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const rows = [];
  rows.push(
    await measure(
      'node:http request (keep-alive agent), body as text',
      calls,
      concurrency,
      () =>
        new Promise((resolve, reject) => {
          const outgoing = httpRequest(
            {
              agent,
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: 'POST',
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
            },
            (response) => {
              const chunks: Buffer[] = [];
              response.on('data', (chunk: Buffer) => chunks.push(chunk));
              response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
              response.on('error', reject);
            },
          );
          outgoing.on('error', reject);
          outgoing.end(text);
        }),
    ),
  );
  const nodeFetch = createNodeFetch({ env: {} });
  rows.push(
    await measure('createNodeFetch POST + text()', calls, concurrency, async () =>
      (
        await nodeFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })
      ).text(),
    ),
  );
  const sdk = new OpenAI({ apiKey: 'sk-bench', baseURL, fetch: nodeFetch, maxRetries: 0 });
  rows.push(
    await measure(
      'openai SDK raw-response mode (post().asResponse()) over createNodeFetch',
      calls,
      concurrency,
      async () =>
        (
          await sdk
            .post('/chat/completions', { body, signal: new AbortController().signal, maxRetries: 0 })
            .asResponse()
        ).text(),
    ),
  );
  const provider = createOpenAIProvider({ apiKey: 'sk-bench', baseURL, fetch: nodeFetch });
  const events = createEventBus();
  const wire: WireRequestV1 = { format: 'openai-chat', body, headers: {} };
  rows.push(
    await measure('provider.passthrough.call (SDK raw mode + JSON tap)', calls, concurrency, () =>
      // A signal per call, as the gateway gives each call its own.
      provider.passthrough!.call(wire, 'gpt-4o-mini', {
        signal: new AbortController().signal,
        events,
        callId: 'bench',
      }),
    ),
  );
  if (flags.undici) {
    const undici = (await import(flags.undici)) as typeof import('node:http') & {
      Pool: new (
        origin: string,
        options: object,
      ) => {
        request(options: object): Promise<{ body: { text(): Promise<string> } }>;
        close(): Promise<void>;
      };
    };
    const pool = new undici.Pool(url.origin, { connections: concurrency });
    rows.push(
      await measure('undici Pool.request + body.text()', calls, concurrency, async () => {
        const answer = await pool.request({
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: text,
        });
        return answer.body.text();
      }),
    );
    await pool.close();
  }
  agent.destroy();
  nodeFetch.close();
  process.stdout.write(
    `load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}, Node ${process.version}, ${calls} calls, ${concurrency} concurrent\n`,
  );
  process.stdout.write('| client | CPU µs/call | calls/s |\n|---|---:|---:|\n');
  for (const row of rows)
    process.stdout.write(
      `| ${row.name} | ${row.cpuMicroseconds.toFixed(0)} | ${row.callsPerSecond.toFixed(0)} |\n`,
    );
}

if (flags.serve) {
  const fake = await createFakeUpstream({ maxRecordedRequests: 10 });
  process.send?.(fake.openaiBaseURL);
} else if (flags.upstream) {
  await client(flags.upstream);
} else {
  // The fake upstream in its own process, so this one's CPU time is the client's alone.
  const upstream = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: process.execArgv });
  const baseURL = await new Promise<string>((resolve) =>
    upstream.once('message', (message) => resolve(String(message))),
  );
  try {
    await client(baseURL);
  } finally {
    upstream.kill();
  }
}
