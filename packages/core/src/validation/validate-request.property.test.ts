import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../errors/errors.js';
import type { ChatRequest } from '../types/chat-request.js';
import { validateChatRequest } from './validate-request.js';

/**
 * Any text: Latin-1, the BMP (lone surrogates included) and astral code points. (fast-check's
 * `unit: 'binary'` strings take seconds to generate.)
 */
const anyText = (minLength = 0) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0x10000, max: 0x10ffff }),
      ),
      { minLength, maxLength: 24 },
    )
    .map((codes) => String.fromCodePoint(...codes));

/** Fixed so a failure replays; fast-check prints the seed and the counterexample path when one fails. */
const seed = Number(process.env.BULWARK_PROPERTY_SEED ?? 20_261_204);

const valid: ChatRequest = {
  model: 'm',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'What is here?' }] },
    { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'look', arguments: '{}' }] },
    { role: 'tool', toolCallId: 'c1', content: 'a cat' },
  ],
  tools: [{ name: 'look', parameters: { type: 'object', properties: { at: { type: 'string' } } } }],
  toolChoice: { type: 'tool', name: 'look' },
  temperature: 0.2,
  maxTokens: 100,
  stop: ['END'],
  responseFormat: { type: 'json_schema', name: 'answer', schema: { type: 'object' } },
  metadata: { user: 'u1' },
  providerOptions: { openai: { logprobs: true } },
};

/** Paths into the valid request where a hostile value goes (top-level fields and nested ones). */
const targets: ReadonlyArray<readonly (string | number)[]> = [
  ['model'],
  ['messages'],
  ['messages', 0],
  ['messages', 0, 'role'],
  ['messages', 1, 'content'],
  ['messages', 1, 'content', 0],
  ['messages', 1, 'content', 0, 'type'],
  ['messages', 2, 'toolCalls'],
  ['messages', 2, 'toolCalls', 0, 'name'],
  ['messages', 3, 'toolCallId'],
  ['tools'],
  ['tools', 0, 'parameters'],
  ['tools', 0, 'parameters', 'properties'],
  ['tools', 0, 'parameters', 'properties', 'at', 'type'],
  ['toolChoice'],
  ['temperature'],
  ['topP'],
  ['maxTokens'],
  ['seed'],
  ['stop'],
  ['responseFormat'],
  ['responseFormat', 'schema'],
  ['metadata'],
  ['providerOptions'],
  ['providerOptions', 'openai'],
  ['extraField'],
];

/** Arrays nested around the boundary (60 to 70 levels) and far past it. */
const nested = fc
  .oneof(fc.integer({ min: 55, max: 70 }), fc.constant(5000))
  .map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown);

/** Anything a JavaScript caller can hand over: JSON, plus undefined, NaN, -0, bigint, sparse arrays… */
const hostile = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 3 }) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: anyText() },
);

function withValue(path: readonly (string | number)[], value: unknown): Record<string, unknown> {
  const request = structuredClone(valid) as unknown as Record<string, unknown>;
  let parent: Record<string | number, unknown> = request;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path.at(-1)!] = value;
  return request;
}

describe('validateChatRequest, property-based', () => {
  it('accepts or throws InvalidRequestError naming a field of the request, for any value anywhere', () => {
    fc.assert(
      fc.property(fc.constantFrom(...targets), hostile, (path, value) => {
        const request = withValue(path, value);
        try {
          validateChatRequest(request as unknown as ChatRequest);
        } catch (error) {
          expect(InvalidRequestError.isInstance(error)).toBe(true);
          const field = (error as InvalidRequestError).field;
          expect(typeof field).toBe('string');
          const top = /^[A-Za-z]+/.exec(field!)?.[0];
          expect(top !== undefined && top in request).toBe(true);
          expect((error as Error).message).toContain(field);
        }
      }),
      { seed, numRuns: 600 },
    );
  });

  it('accepts any request whose nesting is within the bound and whose fields are well typed', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), fc.string(), (extra, text) => {
        const request = withValue(['providerOptions', 'openai'], { extra });
        (request.messages as Array<Record<string, unknown>>)[1]!.content = [{ type: 'text', text }];
        expect(() => validateChatRequest(request as unknown as ChatRequest)).not.toThrow();
      }),
      { seed, numRuns: 200 },
    );
  });
});
