/**
 * Stalled readers: N clients each start a long streamed answer through the gateway and stop reading
 * at all once their request is sent. Measures the gateway process's RSS (from /proc) before and while they
 * hold their streams, and how many upstream answers ran to their end (with backpressure working end to
 * end, none: each stalled client stalls its upstream socket instead of the gateway reading it whole).
 *
 * The gateway is its CLI from apps/gateway/dist (plain Node, default config: memory cache with
 * coalescing, retry, breaker, limiter on) in its own process; the upstream is an OpenAI-style SSE server
 * in this process that makes its frames as the socket accepts them (so this process stays small and
 * its writes block when TCP backpressure reaches it).
 *
 * Run: `cd bench && npx tsx src/stalled-readers.ts` after building the gateway (`pnpm turbo run build
 * --filter=@bulwark/gateway...`). Results: bench/results/stalled-readers.md. Options: `--clients N` (default 200), `--answer-mb M` (default 5),
 * `--hold S` (seconds the clients stay stalled, default 10), `--no-cache` (cache section off),
 * `--max-entry-mb M` (the cache's maxEntryBytes), `--heap MB` (the gateway's `--max-old-space-size`: what
 * the gateway really holds must fit, the garbage of parsing the streams is collected sooner),
 * `--cli PATH` (another gateway build).
 * Prints a Markdown table; it writes nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGatewayProcess } from './gateway-bench/processes.js';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    'answer-mb': { type: 'string', default: '5' },
    hold: { type: 'string', default: '10' },
    'no-cache': { type: 'boolean', default: false },
    'max-entry-mb': { type: 'string' },
    heap: { type: 'string' },
    cli: { type: 'string', default: join(repositoryRoot, 'apps', 'gateway', 'dist', 'cli.js') },
  },
});
const clients = Number(flags.clients);
const answerBytes = Number(flags['answer-mb']) * 1024 * 1024;
const holdSeconds = Number(flags.hold);

/** Resident set size of a process, in bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

let upstreamStarted = 0;
let upstreamFinished = 0;
let upstreamBytes = 0;
const word = `${'x'.repeat(999)} `;
const upstream = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    upstreamStarted += 1;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const frame = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${JSON.stringify({ id: 'chatcmpl-stall', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    void (async () => {
      let sent = 0;
      response.write(frame({ role: 'assistant', content: '' }, null));
      while (sent < answerBytes && !response.destroyed) {
        const text = frame({ content: word }, null);
        await new Promise((done) => response.write(text, done));
        sent += word.length;
        upstreamBytes += text.length;
      }
      if (response.destroyed) return;
      response.write(frame({}, 'stop'));
      response.end('data: [DONE]\n\n');
      upstreamFinished += 1;
    })();
  });
});
await new Promise<void>((listening) => upstream.listen(0, '127.0.0.1', () => listening()));
const upstreamPort = (upstream.address() as { port: number }).port;

const configFile = join(tmpdir(), `bulwark-stalled-${process.pid}.json`);
writeFileSync(
  configFile,
  JSON.stringify({
    providers: {
      main: {
        plugin: 'openai',
        baseURL: `http://127.0.0.1:${upstreamPort}/v1`,
        apiKey: 'sk-bench-stalled-readers',
      },
    },
    models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
    limiter: false,
    ...(flags['no-cache']
      ? { cache: false }
      : flags['max-entry-mb']
        ? { cache: { maxEntryBytes: Math.round(Number(flags['max-entry-mb']) * 1024 * 1024) } }
        : {}),
    log: { level: 'error' },
  }),
);
const gateway = await startGatewayProcess({
  cli: flags.cli,
  configFile,
  ...(flags.heap ? { nodeFlags: [`--max-old-space-size=${flags.heap}`] } : {}),
});
const { port } = new URL(gateway.url);
await new Promise((settle) => setTimeout(settle, 1000));
const idleRss = rssOf(gateway.pid);

const body = JSON.stringify({ model: 'smart', stream: true, messages: [{ role: 'user', content: 'go' }] });
const sockets: Socket[] = [];
for (let index = 0; index < clients; index += 1) {
  const socket = connect(Number(port), '127.0.0.1');
  // Never read: the answer fills this socket's receive buffer, then the gateway's send buffer.
  socket.pause();
  socket.on('error', () => {});
  // Distinct prompts: no two clients share one coalesced upstream call.
  const text = body.replace('"go"', `"go ${index}"`);
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
  sockets.push(socket);
}

let peakRss = idleRss;
const started = performance.now();
while (performance.now() - started < holdSeconds * 1000) {
  await new Promise((settle) => setTimeout(settle, 250));
  peakRss = Math.max(peakRss, rssOf(gateway.pid));
}
const heldRss = rssOf(gateway.pid);

for (const socket of sockets) socket.destroy();
const exitCode = await gateway.stop(10_000);
upstream.closeAllConnections();
upstream.close();

console.log(
  `gateway: ${flags.cli}${flags.heap ? ` --max-old-space-size=${flags.heap}` : ''}; exit code ${exitCode}`,
);
console.log(
  `${clients} stalled clients, ${flags['answer-mb']} MiB answers, held ${holdSeconds} s, cache ${flags['no-cache'] ? 'off' : `on (maxEntryBytes ${flags['max-entry-mb'] ?? 4} MiB)`}`,
);
console.log(
  '| RSS idle (MiB) | RSS peak (MiB) | RSS at the end (MiB) | per client (MiB) | upstream answers finished | upstream MiB sent |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(
  `| ${mib(idleRss)} | ${mib(peakRss)} | ${mib(heldRss)} | ${((peakRss - idleRss) / clients / 1024 / 1024).toFixed(2)} | ${upstreamFinished} of ${upstreamStarted} | ${mib(upstreamBytes)} |`,
);
