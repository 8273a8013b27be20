import { describe, expect, it } from 'vitest';
import { createJsonLogger } from './logger.js';
import { redactSecrets, registerSecret } from './redact.js';

describe('redactSecrets', () => {
  it('masks provider key shapes, bearer tokens and key fields', () => {
    const text = redactSecrets(
      'key sk-ant-api03-abcdefghijkl, auth: Bearer eyJhbGciOiJIUzI1NiJ9.payload {"api_key":"hunter2hunter2"} x-api-key=abcd1234',
    );
    expect(text).not.toMatch(/abcdefghijkl|eyJhbGci|hunter2|abcd1234/);
    expect(text).toContain('Bearer [REDACTED]');
  });

  it('masks registered secrets wherever they appear', () => {
    registerSecret('my-very-own-secret-value');
    expect(redactSecrets('url?page=2&k=my-very-own-secret-value')).toBe('url?page=2&k=[REDACTED]');
  });

  it('is applied by the JSON logger', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ write: (line) => lines.push(line), level: 'debug' });
    logger.info('calling', { headers: { authorization: 'Bearer sk-live-123456789abcdef' } });
    expect(lines[0]).not.toContain('123456789abcdef');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', message: 'calling' });
  });
});

describe('redactSecrets on config error messages', () => {
  it('keeps the sentence after a config path that ends in a secret key', () => {
    const message = 'providers.main.apiKey: environment variable OPENAI_KEY is not set';
    expect(redactSecrets(message)).toBe(message);
    expect(redactSecrets('auth.keys[0].token: must be a string')).toBe(
      'auth.keys[0].token: must be a string',
    );
  });

  it.each([
    ['apiKey: hunter2hunter2', 'apiKey: [REDACTED]'],
    ['apiKey: correcthorse and more', 'apiKey: [REDACTED] and more'],
    ['providers.main.apiKey=correcthorse battery', 'providers.main.apiKey=[REDACTED] battery'],
    ['providers.main.apiKey: "correcthorse" battery', 'providers.main.apiKey: "[REDACTED]" battery'],
    ['providers.main.apiKey: correcthorse', 'providers.main.apiKey: [REDACTED]'],
    ['providers.main.apiKey: Correcthorse battery', 'providers.main.apiKey: [REDACTED] battery'],
    ['providers.main.apiKey: hunter2 battery', 'providers.main.apiKey: [REDACTED] battery'],
    ['{"password":"hunter2hunter2"}', '{"password":"[REDACTED]"}'],
  ])('still masks the value in %j', (text, masked) => {
    expect(redactSecrets(text)).toBe(masked);
  });
});
