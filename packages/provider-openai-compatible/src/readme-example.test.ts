import { readFileSync } from 'node:fs';
import { createBulwark } from '@bulwark/core';
import { createFakeUpstream } from '@bulwark/testkit';
import { expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from './openai-compatible-provider.js';

/** The README's first TypeScript block, imports removed, as the body of an async function. */
function readmeExample(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ts example');
  return block.replace(/^import .*$/gm, '');
}

it('runs the README example against an OpenAI-compatible server', async () => {
  const upstream = await createFakeUpstream();
  const logged: unknown[][] = [];
  let streamed = '';
  const fakeProcess = {
    env: { OLLAMA_URL: upstream.openaiBaseURL },
    stdout: { write: (text: string) => (streamed += text) },
  };
  const fakeConsole = { log: (...values: unknown[]) => logged.push(values) };
  const run = new Function(
    'createBulwark',
    'createOpenAICompatibleProvider',
    'process',
    'console',
    `return (async () => {${readmeExample()}})();`,
  ) as (...dependencies: unknown[]) => Promise<void>;
  try {
    await run(createBulwark, createOpenAICompatibleProvider, fakeProcess, fakeConsole);
    expect(logged[0]?.[0]).toBe('echo: Say hello in five words.');
    expect(logged[0]?.[1]).toMatchObject({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
    expect(streamed).toBe('echo: Count to five.');
    expect(upstream.requests.map((request) => [request.path, request.headers.authorization])).toEqual([
      ['/v1/chat/completions', undefined],
      ['/v1/chat/completions', undefined],
    ]);
  } finally {
    await upstream.close();
  }
});
