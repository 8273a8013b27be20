import { describeProviderConformance } from '@bulwark/testkit';
import { createAnthropicProvider } from './anthropic-provider.js';

describeProviderConformance({
  name: 'anthropic',
  createProvider: (upstream) =>
    createAnthropicProvider({
      name: 'anthropic',
      baseURL: upstream.anthropicBaseURL,
      apiKey: 'sk-ant-test-conformance-0123456789',
    }),
  model: 'claude-sonnet-4-20250514',
});
