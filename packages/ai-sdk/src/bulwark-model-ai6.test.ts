import { createOpenAI } from '@ai-sdk/openai';
import { createBulwark } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { generateText, type LanguageModel, streamText } from 'ai-v6';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createAISDKProvider } from './aisdk-provider.js';
import { type BulwarkProviderMetadata, bulwarkModel } from './bulwark-model.js';

// ai 6 (the previous major) with a v3 bulwarkModel: the same bridge for users who have not moved to ai 7.
let upstream: FakeUpstream;
beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const bulwarkFor = () =>
  createBulwark({
    providers: [
      createAISDKProvider({
        name: 'main',
        model: (id) =>
          createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-ai6-0123456789' }).chat(id),
      }),
    ],
    models: { smart: [{ provider: 'main', model: 'gpt-4o-mini' }] },
  });

it('ai 6 generateText and streamText run on a v3 bulwarkModel', async () => {
  const bulwark = bulwarkFor();
  // See bridge.test-d.ts: ai 6 types LanguageModelV3 from @ai-sdk/provider 3.
  const model = bulwarkModel(bulwark, 'smart', { specificationVersion: 'v3' }) as unknown as LanguageModel;
  const answer = await generateText({ model, prompt: 'hello from ai 6', maxRetries: 0 });
  expect(answer.text).toBe('echo: hello from ai 6');
  expect((answer.providerMetadata!.bulwark as unknown as BulwarkProviderMetadata).provider).toBe('main');
  const stream = streamText({ model, prompt: 'stream from ai 6', maxRetries: 0 });
  expect(await stream.text).toBe('echo: stream from ai 6');
  expect(await stream.finishReason).toBe('stop');
  await bulwark.close();
});
