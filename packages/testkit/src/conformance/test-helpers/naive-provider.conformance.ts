import { describeProviderConformance } from '../provider-conformance.js';
import { createNaiveProvider } from './naive-provider.js';

// Run only by provider-conformance.test.ts in a child vitest (naive-provider.vitest.config.ts): every test may fail.
describeProviderConformance({
  name: 'naive provider',
  createProvider: (upstream) =>
    createNaiveProvider({ baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-naive-0123456789' }),
  model: 'gpt-4o-mini',
});
