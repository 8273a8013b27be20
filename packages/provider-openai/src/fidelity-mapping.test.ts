import type { StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { effortForBudget, toOpenAIChatBody } from './request-mapping.js';
import { OpenAIChunkMapper, parseOpenAIChatResponse } from './response-mapping.js';

const options = {
  name: 'openai',
  maxTokensField: 'max_completion_tokens' as const,
  forwardMetadata: false,
  includeUsage: true,
};
const meta = { provider: 'openai', model: 'o4-mini' };

describe('request fields beyond the basics', () => {
  it('sends reasoning effort, user, logprobs, file parts and max_completion_tokens', () => {
    const body = toOpenAIChatBody(
      {
        model: 'o4-mini',
        maxTokens: 900,
        reasoning: { effort: 'high' },
        user: 'user-7',
        logprobs: true,
        topLogprobs: 2,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Summarize', cacheControl: { type: 'ephemeral' } },
              { type: 'file', data: 'JVBERi0=', mediaType: 'application/pdf', filename: 'a.pdf' },
              { type: 'file', fileId: 'file-abc' },
            ],
          },
          {
            role: 'assistant',
            content: 'ok',
            reasoning: [{ type: 'reasoning', text: 'hidden', signature: 'sig' }],
          },
          { role: 'user', content: 'go on' },
        ],
      },
      options,
      false,
    );
    expect(body).toMatchObject({
      max_completion_tokens: 900,
      reasoning_effort: 'high',
      user: 'user-7',
      logprobs: true,
      top_logprobs: 2,
    });
    expect(body).not.toHaveProperty('max_tokens');
    expect(body.messages[0]).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'Summarize' },
        { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
        { type: 'file', file: { file_id: 'file-abc' } },
      ],
    });
    expect(body.messages[1]).toEqual({ role: 'assistant', content: 'ok' });
  });

  it('maps a thinking budget to the nearest effort', () => {
    expect([1024, 2000, 3000, 4096, 9000, 12_000, 16_384, 64_000].map(effortForBudget)).toEqual([
      'low',
      'low',
      'medium',
      'medium',
      'medium',
      'high',
      'high',
      'high',
    ]);
    const body = toOpenAIChatBody(
      { model: 'o4-mini', reasoning: { budgetTokens: 4096 }, messages: [{ role: 'user', content: 'x' }] },
      options,
      false,
    );
    expect(body.reasoning_effort).toBe('medium');
  });

  it('refuses a file by URL, which Chat Completions cannot take, naming the field', () => {
    expect(() =>
      toOpenAIChatBody(
        {
          model: 'o4-mini',
          messages: [{ role: 'user', content: [{ type: 'file', url: 'https://example.com/a.pdf' }] }],
        },
        options,
        false,
      ),
    ).toThrow(expect.objectContaining({ field: 'messages[0].content[0].url' }));
  });
});

describe('answer fields beyond the basics', () => {
  it('keeps refusal, reasoning_content, logprobs and reasoning tokens apart from the text', () => {
    const response = parseOpenAIChatResponse(
      JSON.stringify({
        id: 'chatcmpl-1',
        model: 'o4-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Hi', refusal: null, reasoning_content: 'Thought.' },
            logprobs: {
              content: [
                {
                  token: 'Hi',
                  logprob: -0.01,
                  bytes: [72, 105],
                  top_logprobs: [{ token: 'Hi', logprob: -0.01 }],
                },
              ],
              refusal: null,
            },
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: 5,
          completion_tokens: 40,
          total_tokens: 45,
          completion_tokens_details: { reasoning_tokens: 32 },
        },
      }),
      meta,
    );
    expect(response.text).toBe('Hi');
    expect(response.reasoning).toEqual([{ type: 'reasoning', text: 'Thought.' }]);
    expect(response.logprobs).toEqual([
      { token: 'Hi', logprob: -0.01, bytes: [72, 105], topLogprobs: [{ token: 'Hi', logprob: -0.01 }] },
    ]);
    expect(response.usage?.reasoningTokens).toBe(32);
    expect(response.refusal).toBeUndefined();
  });

  it('streams reasoning deltas, refusal deltas and logprobs per text delta', () => {
    const mapper = new OpenAIChunkMapper(meta);
    const out: StreamEvent[] = [];
    mapper.map(
      { id: 'c', choices: [{ delta: { role: 'assistant', reasoning_content: 'Hmm' } as never }] },
      out,
    );
    mapper.map(
      {
        choices: [
          { delta: { content: 'A' }, logprobs: { content: [{ token: 'A', logprob: -1, bytes: [65] }] } },
        ],
      },
      out,
    );
    mapper.map({ choices: [{ delta: { refusal: 'No.' }, finish_reason: 'stop' }] }, out);
    mapper.end(out);
    expect(out.slice(1)).toEqual([
      { type: 'reasoning-delta', text: 'Hmm' },
      { type: 'text-delta', text: 'A', logprobs: [{ token: 'A', logprob: -1, bytes: [65] }] },
      { type: 'text-delta', text: 'No.', refusal: true },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });
});
