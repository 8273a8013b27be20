// Gateway overhead against a bare node:http proxy, both in front of the same minimal upstream.
// Run after a build: node apps/gateway/bench/overhead.mjs [sequentialRequests] [loadSeconds] [concurrency]
import http from 'node:http';
import { startGateway } from '../dist/index.js';

const sequential = Number(process.argv[2] ?? 2000);
const loadSeconds = Number(process.argv[3] ?? 5);
const concurrency = Number(process.argv[4] ?? 32);

const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 0,
  model: 'gpt-4o',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'hello world' },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});
const chunk = (delta, finish = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const streamBody = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'hello' }),
  chunk({ content: ' world' }),
  chunk({}, 'stop'),
  'data: [DONE]\n\n',
].join('');

const upstream = http.createServer((request, response) => {
  let text = '';
  request.on('data', (part) => (text += part));
  request.on('end', () => {
    if (text.includes('"stream":true')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(streamBody);
    } else {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(completion),
      });
      response.end(completion);
    }
  });
});
await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamPort = upstream.address().port;

const proxyAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = http.createServer((request, response) => {
  const forward = http.request(
    {
      host: '127.0.0.1',
      port: upstreamPort,
      path: request.url,
      method: request.method,
      headers: request.headers,
      agent: proxyAgent,
    },
    (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    },
  );
  request.pipe(forward);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));

const gateway = await startGateway({
  config: {
    server: { port: 0 },
    providers: {
      main: { plugin: 'openai', baseURL: `http://127.0.0.1:${upstreamPort}/v1`, apiKey: 'sk-bench-000000' },
    },
    models: { m: [{ provider: 'main', model: 'gpt-4o' }] },
    log: { level: 'error' },
    // BENCH_OFF=cache,limiter switches sections off, to see what each one costs.
    ...Object.fromEntries(
      (process.env.BENCH_OFF ?? '')
        .split(',')
        .filter(Boolean)
        .map((section) => [section, false]),
    ),
  },
});

const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let sequence = 0;
function call(port, stream) {
  const body = JSON.stringify({
    model: stream === undefined ? 'm' : 'm',
    messages: [{ role: 'user', content: `question ${sequence++}` }],
    ...(stream ? { stream: true } : {}),
  });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByte = 0;
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent: clientAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.on('data', () => {
          if (firstByte === 0) firstByte = performance.now() - started;
        });
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
          else resolve({ total: performance.now() - started, firstByte });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
};

async function latency(port, stream) {
  for (let index = 0; index < 200; index += 1) await call(port, stream);
  const totals = [];
  const firstBytes = [];
  for (let index = 0; index < sequential; index += 1) {
    const result = await call(port, stream);
    totals.push(result.total);
    firstBytes.push(result.firstByte);
  }
  return {
    p50: percentile(totals, 0.5),
    p99: percentile(totals, 0.99),
    firstByteP50: percentile(firstBytes, 0.5),
  };
}

async function throughput(port) {
  const end = performance.now() + loadSeconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call(port, false);
        done += 1;
      }
    }),
  );
  return done / loadSeconds;
}

const proxyPort = proxy.address().port;
const gatewayPort = Number(new URL(gateway.url).port);
const rows = [];
for (const [name, port] of [
  ['bare proxy', proxyPort],
  ['gateway', gatewayPort],
]) {
  const plain = await latency(port, false);
  const streamed = await latency(port, true);
  const rate = await throughput(port);
  rows.push({ name, plain, streamed, rate });
}
const format = (value) => value.toFixed(3);
console.log(`sequential requests: ${sequential}, load: ${loadSeconds}s at concurrency ${concurrency}`);
for (const { name, plain, streamed, rate } of rows) {
  console.log(
    `${name.padEnd(10)}  plain p50 ${format(plain.p50)} ms p99 ${format(plain.p99)} ms | stream first byte p50 ${format(streamed.firstByteP50)} ms | ${rate.toFixed(0)} req/s`,
  );
}
const [base, ours] = rows;
console.log(
  `overhead: plain p50 +${format(ours.plain.p50 - base.plain.p50)} ms, stream first byte p50 +${format(ours.streamed.firstByteP50 - base.streamed.firstByteP50)} ms`,
);
await gateway.close({ drainTimeoutMs: 0 });
proxy.close();
upstream.close();
proxyAgent.destroy();
clientAgent.destroy();
