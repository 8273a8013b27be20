import { readFileSync } from 'node:fs';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateTextTokens } from './token-estimator.js';

const sample = (name: string) =>
  readFileSync(new URL(`./calibration-samples/${name}`, import.meta.url), 'utf8');

// The fast estimator against OpenAI's o200k tokenizer on the committed samples: within ±25 % on each.
describe('estimateTextTokens calibration against o200k', () => {
  const cases: Array<[string, string]> = [
    ['English prose with Markdown', sample('english.txt')],
    ['TypeScript code', sample('code.txt')],
    ['Chinese', sample('chinese.txt')],
    ['Japanese', sample('japanese.txt')],
    ['base64', sample('base64.txt')],
    [
      'hex',
      Buffer.from(Array.from({ length: 700 }, (_, index) => (index * 7919 + 13) % 256)).toString('hex'),
    ],
    [
      'Korean',
      '속도 제한기는 각 호출 전에 토큰을 예약하고 공급자가 사용량을 보고하면 예약을 수정합니다. '.repeat(20),
    ],
    ['Russian', 'Ограничитель резервирует токены перед каждым вызовом и исправляет резерв. '.repeat(20)],
    [
      'German',
      'Der Begrenzer reserviert Tokens vor jedem Aufruf und korrigiert die Reservierung. '.repeat(20),
    ],
  ];
  for (const [name, text] of cases) {
    it(`${name}: within ±25 % of o200k`, () => {
      const exact = encode(text).length;
      const ratio = estimateTextTokens(text) / exact;
      expect(ratio, `${name}: estimate ${estimateTextTokens(text)} vs o200k ${exact}`).toBeGreaterThanOrEqual(
        0.75,
      );
      expect(ratio, `${name}: estimate ${estimateTextTokens(text)} vs o200k ${exact}`).toBeLessThanOrEqual(
        1.25,
      );
    });
  }
});
