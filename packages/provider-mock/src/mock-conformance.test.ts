import { describeProviderConformance } from '@bulwark/testkit';
import { createMockProvider } from './mock-provider.js';

// The mock never calls the fake upstream: the suite runs the parts that apply (contract, plain call,
// streaming well-formedness, tools, abort before any request, embeddings) on the system clock.
describeProviderConformance({
  name: 'mock',
  createProvider: () => createMockProvider({ name: 'mock' }),
  model: 'mock-model',
  skip: { upstream: true },
});
