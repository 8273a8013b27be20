import { describeProviderConformance } from '@bulwark/testkit';
import { createOpenAICompatibleProvider } from './openai-compatible-provider.js';

describeProviderConformance({
  name: 'openai-compatible',
  createProvider: (upstream) =>
    createOpenAICompatibleProvider({
      baseURL: upstream.openaiBaseURL,
      apiKey: 'sk-test-conformance-0123456789',
    }),
  model: 'gpt-4o-mini',
});

describeProviderConformance({
  name: 'openai-compatible without an API key (a local server)',
  createProvider: (upstream) => createOpenAICompatibleProvider({ baseURL: upstream.openaiBaseURL }),
  model: 'llama3.2',
});
