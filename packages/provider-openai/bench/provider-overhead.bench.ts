import type { StreamEvent } from '@bulwark/core';
import { createFakeUpstream, createTestCallContext } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, bench, describe } from 'vitest';
import { createOpenAIProvider } from '../src/openai-provider.js';
import { toOpenAIChatBody } from '../src/request-mapping.js';
import { OpenAIChunkMapper, parseOpenAIChatResponse } from '../src/response-mapping.js';

const upstream = await createFakeUpstream();
afterAll(() => upstream.close());
const apiKey = 'sk-test-bench-0123456789';
const sdk = new OpenAI({ apiKey, baseURL: upstream.openaiBaseURL, maxRetries: 0 });
const provider = createOpenAIProvider({ apiKey, baseURL: upstream.openaiBaseURL });
const request = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'What is the weather in Oslo and in Rome today?' },
  ],
  tools: [
    {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  ],
  maxTokens: 200,
};
const body = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(400) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 30, completion_tokens: 100, total_tokens: 130 },
});
const mappingOptions = {
  name: 'openai',
  maxTokensField: 'max_tokens' as const,
  forwardMetadata: false,
  includeUsage: true,
};

describe('pure mapping', () => {
  bench('request + response mapping', () => {
    toOpenAIChatBody(request, mappingOptions, false);
    parseOpenAIChatResponse(body, { provider: 'openai', model: 'gpt-4o-mini' });
  });
  bench('100 stream chunks', () => {
    const mapper = new OpenAIChunkMapper({ provider: 'openai', model: 'gpt-4o-mini' });
    const out: StreamEvent[] = [];
    for (let index = 0; index < 100; index += 1) {
      mapper.map({ id: 'c', choices: [{ delta: { content: 'word ' } }] }, out);
      out.length = 0;
    }
  });
});

describe('over loopback HTTP (fake upstream)', () => {
  bench('raw openai SDK', async () => {
    await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  });
  bench('createOpenAIProvider().complete', async () => {
    await provider.complete(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      createTestCallContext(),
    );
  });
});
