import type { StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { describeProviderConformance, streamEventProblems } from './provider-conformance.js';
import { createFetchOpenAIProvider } from './test-helpers/fetch-openai-provider.js';

describeProviderConformance({
  name: 'reference fetch provider',
  createProvider: (upstream) =>
    createFetchOpenAIProvider({ baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-reference' }),
  model: 'gpt-4o-mini',
});

describe('streamEventProblems', () => {
  const start: StreamEvent = { type: 'start', id: 'x', provider: 'p', model: 'm' };
  const finish: StreamEvent = { type: 'finish', finishReason: 'stop' };

  it('accepts a well-formed stream', () => {
    expect(
      streamEventProblems([
        start,
        { type: 'text-delta', text: 'a' },
        { type: 'tool-call-delta', index: 0, id: 'c', name: 'n', argumentsDelta: '{' },
        { type: 'tool-call-delta', index: 0, argumentsDelta: '}' },
        { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } },
        finish,
      ]),
    ).toEqual([]);
  });

  it('names what is wrong with a malformed stream', () => {
    expect(
      streamEventProblems([
        { type: 'text-delta', text: 'a' },
        { type: 'tool-call-delta', index: 1, argumentsDelta: '{' },
        finish,
        finish,
      ]),
    ).toEqual([
      'first event is text-delta, expected start',
      'expected exactly one start',
      'expected exactly one finish, got 2',
      'first delta of tool call 1 lacks id or name',
    ]);
    expect(streamEventProblems([start])).toContain('last event is start, expected finish');
  });
});
