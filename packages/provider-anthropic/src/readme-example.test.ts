import { readFileSync } from 'node:fs';
import { createBulwark } from '@bulwark/core';
import { createFakeUpstream } from '@bulwark/testkit';
import { expect, it } from 'vitest';
import { createAnthropicProvider } from './anthropic-provider.js';

/** The README's first TypeScript block, imports removed, as the body of an async function. */
function readmeExample(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ts example');
  return block.replace(/^import .*$/gm, '');
}

it('runs the README example', async () => {
  const upstream = await createFakeUpstream();
  const logged: unknown[][] = [];
  let streamed = '';
  const fakeProcess = {
    env: {
      ANTHROPIC_API_KEY: 'sk-ant-test-readme-0123456789',
      ANTHROPIC_BASE_URL: upstream.anthropicBaseURL,
    },
    stdout: { write: (text: string) => (streamed += text) },
  };
  const fakeConsole = { log: (...values: unknown[]) => logged.push(values) };
  const run = new Function(
    'createBulwark',
    'createAnthropicProvider',
    'process',
    'console',
    `return (async () => {${readmeExample()}})();`,
  ) as (...dependencies: unknown[]) => Promise<void>;
  try {
    await run(createBulwark, createAnthropicProvider, fakeProcess, fakeConsole);
    expect(logged[0]?.[0]).toBe('echo: Why do retries need jitter?');
    expect(logged[0]?.[1]).toMatchObject({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
    expect(logged[0]?.[2]).toMatchObject({ remainingRequests: expect.any(Number) });
    expect(streamed).toBe('echo: Count to five.');
    expect(upstream.requests.map((request) => (request.body as { max_tokens: number }).max_tokens)).toEqual([
      1024, 1024,
    ]);
    expect(upstream.requests[0]!.body).toMatchObject({ system: 'Answer in one sentence.' });
  } finally {
    await upstream.close();
  }
});
