/**
 * The baseline: a bare `node:http` pass-through proxy (keep-alive agent to the upstream, bodies piped
 * both ways, hop-by-hop headers dropped). Run as a child process; prints `listening <url>` on stdout.
 *
 * Usage: bare-proxy.ts <upstream origin, e.g. http://127.0.0.1:9001>
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = new URL(process.argv[2] ?? '');
if (upstream.hostname !== '127.0.0.1')
  throw new Error(`upstream must be on 127.0.0.1 (got ${process.argv[2]})`);
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
  'host',
]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const result: IncomingHttpHeaders = {};
  for (const name in headers) if (!hopByHop.has(name)) result[name] = headers[name];
  return result;
}

const server = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
  const outgoing = httpRequest(
    {
      agent,
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: forwardable(request.headers),
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(response);
    },
  );
  outgoing.on('error', (error) => {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
    response.end(`bare proxy: ${error.message}`);
  });
  response.on('close', () => {
    if (!response.writableFinished) outgoing.destroy();
  });
  request.pipe(outgoing);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  agent.destroy();
});
