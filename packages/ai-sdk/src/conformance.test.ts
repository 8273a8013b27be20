import { createAnthropic } from '@ai-sdk/anthropic';
import { createAnthropic as createAnthropicV3 } from '@ai-sdk/anthropic-v3';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAI as createOpenAIV3 } from '@ai-sdk/openai-v3';
import { describeProviderConformance } from '@bulwark/testkit';
import { createAISDKProvider } from './aisdk-provider.js';

const apiKey = 'sk-test-conformance-0123456789';

// Specification v4: ai 7, @ai-sdk/* 4.
describeProviderConformance({
  name: 'ai-sdk v4 @ai-sdk/openai (chat completions)',
  createProvider: (upstream) =>
    createAISDKProvider({
      name: 'openai-aisdk',
      model: (id) => createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey }).chat(id),
    }),
  model: 'gpt-4o-mini',
});

describeProviderConformance({
  name: 'ai-sdk v4 @ai-sdk/anthropic',
  createProvider: (upstream) =>
    createAISDKProvider({
      name: 'anthropic-aisdk',
      model: (id) => createAnthropic({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })(id),
    }),
  model: 'claude-haiku-4-5',
});

// Specification v3: ai 6, @ai-sdk/* 3 (installed under aliases).
describeProviderConformance({
  name: 'ai-sdk v3 @ai-sdk/openai (chat completions)',
  createProvider: (upstream) =>
    createAISDKProvider({
      name: 'openai-aisdk-v3',
      model: (id) => createOpenAIV3({ baseURL: upstream.openaiBaseURL, apiKey }).chat(id),
    }),
  model: 'gpt-4o-mini',
});

describeProviderConformance({
  name: 'ai-sdk v3 @ai-sdk/anthropic',
  createProvider: (upstream) =>
    createAISDKProvider({
      name: 'anthropic-aisdk-v3',
      model: (id) => createAnthropicV3({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })(id),
    }),
  model: 'claude-haiku-4-5',
});
