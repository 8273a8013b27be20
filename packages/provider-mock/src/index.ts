export type { MockAnswer } from './mock-answer.js';
export { answerFor, estimateTokens, exampleForSchema, hashText, promptText } from './mock-answer.js';
export type { MockErrorCode, MockErrorInput } from './mock-errors.js';
export { createMockError, mockErrorCodes } from './mock-errors.js';
export type {
  MockBehavior,
  MockCallRecord,
  MockProvider,
  MockProviderOptions,
  MockStep,
  MockWindow,
} from './mock-provider.js';
export { createMockProvider } from './mock-provider.js';
export type { MockProviderConfig } from './plugin.js';
export { mockProviderConfigSchema, plugin } from './plugin.js';
export type { MockLatency } from './seeded-random.js';
export { createSeededRandom, sampleLatency } from './seeded-random.js';
