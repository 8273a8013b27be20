import { readFileSync } from 'node:fs';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateTokens, textTokens } from './token-estimator.js';

describe('estimateTokens', () => {
  it('counts narrow scripts at four characters a token and others one each', () => {
    expect(textTokens('')).toBe(0);
    expect(textTokens('abcd')).toBe(1);
    expect(textTokens('abcde')).toBe(2);
    expect(textTokens('héllo')).toBe(2);
    expect(textTokens('日本語')).toBe(3);
  });

  it('adds per-message and per-request overhead, images, tool calls and tool schemas', () => {
    expect(estimateTokens({ model: 'm', messages: [{ role: 'user', content: 'abcd' }] })).toBe(3 + 4 + 1);
    const rich = estimateTokens({
      model: 'm',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'abcdefgh' }] },
        {
          role: 'user',
          content: [
            { type: 'image', url: 'https://example.invalid/a.png' },
            { type: 'image', url: 'https://example.invalid/b.png', detail: 'low' },
          ],
        },
        { role: 'assistant', content: null, toolCalls: [{ id: '1', name: 'abcd', arguments: '{}' }] },
      ],
      tools: [{ name: 'abcd', parameters: { type: 'object' } }],
    });
    expect(rich).toBe(3 + (4 + 2) + (4 + 765 + 85) + (4 + 1 + 1 + 3) + (1 + 0 + 5));
  });

  const english = [
    'Providers limit requests and tokens per minute for each key, and they enforce those limits over much',
    'shorter windows than a minute. A client that sends its whole quota at once is refused even though it',
    'stays under the documented number. The limiter therefore spreads calls evenly, keeps a small burst for',
    'interactive traffic, and reserves the tokens a call may use before it is sent. When the answer arrives,',
    'the reservation is corrected with the usage the provider reported, so a short reply gives back what it',
    'did not need. Queued callers wait in order of priority, and nobody waits longer than they allowed.',
    "When the provider still answers with a 429, every caller of that scope pauses until the provider's",
    'retry-after has passed, and the backlog then leaves at the steady pace rather than all at once.',
  ]
    .join(' ')
    .repeat(5);

  // The error documented on `estimateTokens`, measured against a real tokenizer (OpenAI o200k).
  const sample = (sentence: string) => sentence.repeat(40);
  const cases: Array<[string, string, number, number]> = [
    ['English prose', english, 0.85, 1.3],
    ['TypeScript', readFileSync(new URL('./rate-limiter.ts', import.meta.url), 'utf8'), 0.9, 1.1],
    [
      'German',
      sample('Der Begrenzer reserviert Tokens vor jedem Aufruf und korrigiert die Reservierung. '),
      1,
      1.4,
    ],
    [
      'French',
      sample('Le limiteur réserve des jetons avant chaque appel et corrige la réservation. '),
      1,
      1.45,
    ],
    [
      'Russian',
      sample('Ограничитель резервирует токены перед каждым вызовом и исправляет резерв. '),
      1,
      1.45,
    ],
    ['Chinese', sample('速率限制器在每次调用之前预留令牌，并在提供商报告使用情况时更正预留。'), 1, 1.4],
    [
      'base64',
      Buffer.from(Array.from({ length: 3000 }, (_, index) => (index * 7919) % 256)).toString('base64'),
      0.3,
      1,
    ],
  ];
  for (const [name, text, low, high] of cases) {
    it(`stays within the documented error for ${name}`, () => {
      const ratio = textTokens(text) / encode(text).length;
      expect(ratio).toBeGreaterThanOrEqual(low);
      expect(ratio).toBeLessThanOrEqual(high);
    });
  }
});
