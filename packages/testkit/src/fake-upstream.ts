/**
 * The fake upstream alone, without the conformance suites (which import vitest): what a program that
 * is not a test (the gateway's `bulwark demo`) imports.
 */
export { embedText } from './fake-upstream/embeddings-format.js';
export { createFakeUpstream } from './fake-upstream/fake-upstream.js';
export type {
  FakeBehavior,
  FakeRateLimit,
  FakeToolCall,
  FakeUpstream,
  FakeUpstreamOptions,
  FakeUsage,
  RawBehavior,
  RecordedRequest,
  ReplyBehavior,
  RequestFormat,
  StatusBehavior,
} from './fake-upstream/types.js';
