import type { StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { toAnthropicBody } from './request-mapping.js';
import { AnthropicEventMapper, parseAnthropicMessage } from './response-mapping.js';

const options = { name: 'anthropic', defaultMaxTokens: 4096 };
const meta = { provider: 'anthropic', model: 'claude-sonnet-4-5' };

describe('request fields beyond the basics', () => {
  it('keeps system blocks as blocks and carries cache_control on text, images, documents and tools', () => {
    const body = toAnthropicBody(
      {
        model: 'claude-sonnet-4-5',
        messages: [
          {
            role: 'system',
            content: [{ type: 'text', text: 'Long prompt', cacheControl: { type: 'ephemeral' } }],
          },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Read', cacheControl: { type: 'ephemeral', ttl: '1h' } },
              { type: 'file', data: 'JVBERi0=', mediaType: 'application/pdf', filename: 'a.pdf' },
              { type: 'file', data: Buffer.from('plain').toString('base64'), mediaType: 'text/plain' },
              { type: 'file', url: 'https://example.com/a.pdf', cacheControl: { type: 'ephemeral' } },
            ],
          },
        ],
        tools: [
          {
            name: 'lookup',
            parameters: { type: 'object', properties: {} },
            cacheControl: { type: 'ephemeral' },
          },
        ],
      },
      options,
      false,
    );
    expect(body.system).toEqual([
      { type: 'text', text: 'Long prompt', cache_control: { type: 'ephemeral' } },
    ]);
    expect(body.messages[0]!.content).toEqual([
      { type: 'text', text: 'Read', cache_control: { type: 'ephemeral', ttl: '1h' } },
      {
        type: 'document',
        source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' },
        title: 'a.pdf',
      },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain' } },
      {
        type: 'document',
        source: { type: 'url', url: 'https://example.com/a.pdf' },
        cache_control: { type: 'ephemeral' },
      },
    ]);
    expect(body.tools?.[0]?.cache_control).toEqual({ type: 'ephemeral' });
  });

  it('replays thinking blocks verbatim before the tool use of an assistant turn', () => {
    const body = toAnthropicBody(
      {
        model: 'claude-sonnet-4-5',
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: null,
            reasoning: [
              { type: 'reasoning', text: 'Use the tool.', signature: 'EqQBCkgIARABGAIiQ' },
              { type: 'redacted-reasoning', data: 'EmwKAhgBEgy3va' },
            ],
            toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: '{"city":"Paris"}' }],
          },
          { role: 'tool', toolCallId: 'toolu_1', content: 'sunny' },
        ],
        tools: [{ name: 'weather', parameters: { type: 'object', properties: {} } }],
        reasoning: { effort: 'medium' },
        maxTokens: 8000,
      },
      options,
      false,
    );
    expect(body.messages[1]!.content).toEqual([
      { type: 'thinking', thinking: 'Use the tool.', signature: 'EqQBCkgIARABGAIiQ' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va' },
      { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
    ]);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 4096 });
  });

  it('maps efforts to budgets below max_tokens, user to metadata.user_id, and refuses unsigned reasoning', () => {
    const base = { model: 'claude-sonnet-4-5', messages: [{ role: 'user' as const, content: 'x' }] };
    expect(toAnthropicBody({ ...base, reasoning: { effort: 'low' } }, options, false).thinking).toEqual({
      type: 'enabled',
      budget_tokens: 1024,
    });
    expect(
      toAnthropicBody({ ...base, reasoning: { effort: 'high' }, maxTokens: 10_000 }, options, false).thinking,
    ).toEqual({ type: 'enabled', budget_tokens: 9999 });
    expect(() =>
      toAnthropicBody({ ...base, reasoning: { effort: 'high' }, maxTokens: 500 }, options, false),
    ).toThrow(expect.objectContaining({ field: 'maxTokens' }));
    expect(toAnthropicBody({ ...base, user: 'u-1' }, options, false).metadata).toEqual({ user_id: 'u-1' });
    expect(() =>
      toAnthropicBody(
        {
          ...base,
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: 'y', reasoning: [{ type: 'reasoning', text: 'from elsewhere' }] },
            { role: 'user', content: 'z' },
          ],
        },
        options,
        false,
      ),
    ).toThrow(expect.objectContaining({ field: 'messages[1].reasoning[0].signature' }));
  });
});

describe('answer fields beyond the basics', () => {
  it('keeps thinking with its signature, redacted thinking, the stop sequence and thinking tokens', () => {
    const response = parseAnthropicMessage(
      JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [
          { type: 'thinking', thinking: 'Plan.', signature: 'sig==' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'text', text: 'Done', citations: null },
        ],
        stop_reason: 'stop_sequence',
        stop_sequence: '###',
        usage: { input_tokens: 3, output_tokens: 20, output_tokens_details: { thinking_tokens: 12 } },
      }),
      meta,
    );
    expect(response.reasoning).toEqual([
      { type: 'reasoning', text: 'Plan.', signature: 'sig==' },
      { type: 'redacted-reasoning', data: 'opaque' },
    ]);
    expect(response.stopSequence).toBe('###');
    expect(response.finishReason).toBe('stop');
    expect(response.usage?.reasoningTokens).toBe(12);
  });

  it('keeps the text of a refusal as the refusal, not as an answer', () => {
    const response = parseAnthropicMessage(
      JSON.stringify({
        id: 'msg_3',
        content: [{ type: 'text', text: 'I will not help with that.' }],
        stop_reason: 'refusal',
        usage: { input_tokens: 3, output_tokens: 7 },
      }),
      meta,
    );
    expect(response).toMatchObject({
      text: '',
      refusal: 'I will not help with that.',
      finishReason: 'content_filter',
    });
  });

  it('streams thinking deltas, the signature, redacted blocks and the stop sequence', () => {
    const mapper = new AnthropicEventMapper(meta);
    const out: StreamEvent[] = [];
    for (const event of [
      {
        type: 'message_start',
        message: { id: 'msg_2', model: 'claude-sonnet-4-5', usage: { input_tokens: 3 } },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Plan.' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig==' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'redacted_thinking', data: 'opaque' } },
      { type: 'content_block_stop', index: 1 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'stop_sequence', stop_sequence: '###' },
        usage: { output_tokens: 9 },
      },
      { type: 'message_stop' },
    ]) {
      mapper.map(event, out);
    }
    expect(out.slice(1)).toEqual([
      { type: 'reasoning-delta', text: 'Plan.' },
      { type: 'reasoning-delta', signature: 'sig==' },
      { type: 'reasoning-delta', redacted: 'opaque' },
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 9, totalTokens: 12 } },
      { type: 'finish', finishReason: 'stop', stopSequence: '###' },
    ]);
  });
});
