import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { errorFromHttpResponse } from './http-errors.js';
import { createNodeFetch } from './node-fetch.js';

/** The README's first TypeScript block, imports removed, as the body of an async function. */
function readmeExample(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ts example');
  return block.replace(/^import .*$/gm, '');
}

it('runs the README example against a loopback server answering 429', async () => {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(`${request.method} ${request.url}`);
    request.resume();
    response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
    response.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'rate_limit_error' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const logged: unknown[][] = [];
  const fakeProcess = { env: { API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } };
  const fakeConsole = { log: (...values: unknown[]) => logged.push(values) };
  const run = new Function(
    'createNodeFetch',
    'errorFromHttpResponse',
    'process',
    'console',
    `return (async () => {${readmeExample()}})();`,
  ) as (...dependencies: unknown[]) => Promise<void>;
  try {
    await run(createNodeFetch, errorFromHttpResponse, fakeProcess, fakeConsole);
    expect(logged).toEqual([['rate_limited', true, 2000]]);
    expect(paths).toEqual(['POST /v1/chat/completions']);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
