import { describeProviderConformance } from '@bulwark/testkit';
import { createOpenAIProvider } from './openai-provider.js';

describeProviderConformance({
  name: 'openai',
  createProvider: (upstream) =>
    createOpenAIProvider({
      name: 'openai',
      baseURL: upstream.openaiBaseURL,
      apiKey: 'sk-test-conformance-0123456789',
    }),
  model: 'gpt-4o-mini',
});
