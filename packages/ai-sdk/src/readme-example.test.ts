import { readFileSync } from 'node:fs';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createBulwark } from '@bulwark/core';
import { createFakeUpstream } from '@bulwark/testkit';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { expect, it } from 'vitest';
import { createAISDKProvider } from './aisdk-provider.js';
import { bulwarkMiddleware } from './bulwark-middleware.js';
import { bulwarkModel } from './bulwark-model.js';

/** The README's TypeScript blocks in order, imports removed, as the body of one async function. */
function readmeExamples(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  if (blocks.length !== 3) throw new Error(`README.md should have 3 ts examples, has ${blocks.length}`);
  return blocks.join('\n').replace(/^import [\s\S]*?;$/gm, '');
}

it('runs the README examples: a Gemini model with a fallback, bulwarkModel, bulwarkMiddleware', async () => {
  const upstream = await createFakeUpstream();
  const logged: unknown[][] = [];
  let streamed = '';
  const fakeProcess = {
    env: {
      GEMINI_API_KEY: 'gemini-readme-key',
      GEMINI_BASE_URL: upstream.googleBaseURL,
      OPENAI_API_KEY: 'sk-readme-key',
      OPENAI_BASE_URL: upstream.openaiBaseURL,
    },
    stdout: { write: (text: string) => (streamed += text) },
  };
  const fakeConsole = { log: (...values: unknown[]) => logged.push(values) };
  const run = new Function(
    'createGoogleGenerativeAI',
    'createOpenAI',
    'createAISDKProvider',
    'createBulwark',
    'bulwarkModel',
    'generateText',
    'streamText',
    'bulwarkMiddleware',
    'wrapLanguageModel',
    'process',
    'console',
    `return (async () => {${readmeExamples()}})();`,
  ) as (...dependencies: unknown[]) => Promise<void>;
  // Gemini is down for the first call: the README's first example falls back to the OpenAI target.
  upstream.enqueue({ kind: 'status', status: 503 });
  try {
    await run(
      createGoogleGenerativeAI,
      createOpenAI,
      createAISDKProvider,
      createBulwark,
      bulwarkModel,
      generateText,
      streamText,
      bulwarkMiddleware,
      wrapLanguageModel,
      fakeProcess,
      fakeConsole,
    );
    expect(logged[0]).toEqual(['echo: Say hello in five words.', 'openai', 2]);
    expect(logged[1]?.[0]).toBe('echo: What is a bulwark?');
    expect(logged[1]?.[1]).toMatchObject({
      provider: 'gemini',
      cache: null,
      attempts: [{ provider: 'gemini' }],
    });
    expect(streamed).toBe('echo: Count to five.');
    expect(logged[2]?.[0]).toBe('echo: Hello from a wrapped model');
    expect(logged[2]?.[1]).toMatchObject({ provider: 'model' });
    expect(upstream.requests.map((request) => request.format)).toEqual([
      'google',
      'openai',
      'google',
      'google',
      'openai',
    ]);
  } finally {
    await upstream.close();
  }
});
