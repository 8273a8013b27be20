import { describe, expect, it } from 'vitest';
import { envSubstitutionsOf } from '../config/env-substitutions.js';
import { substituteEnv } from '../config/load-config.js';
import { isSecretKey, maskConfig, maskEnvText } from './mask-secrets.js';

const reference = (name: string): string => `\${env:${name}}`;

describe('maskConfig and maskEnvText', () => {
  const env = { LONG: 'abcdefgh-long-value', PREFIX: 'abcdefgh', SHORT: 'x9q' };
  const config = substituteEnv(
    {
      providers: {
        // The shorter value is substituted first, so only the longest-first order keeps the longer one whole.
        main: { plugin: 'openai', baseURL: `http://h/${reference('PREFIX')}`, apiKey: reference('LONG') },
      },
      models: { smart: [{ provider: 'main', model: reference('SHORT') }] },
      retry: { maxAttempts: 123456789, token: 42 },
    },
    env,
  );
  const substitutions = envSubstitutionsOf(config);

  it('replaces a value that contains another whole, not piece by piece', () => {
    expect(maskEnvText('got abcdefgh-long-value and abcdefgh', substitutions)).toBe(
      `got ${reference('LONG')} and ${reference('PREFIX')}`,
    );
  });

  it('masks a short value only where it stands quoted, as error messages show values', () => {
    expect(maskEnvText('model "x9q" not found; x9q2 stays', substitutions)).toBe(
      `model "${reference('SHORT')}" not found; x9q2 stays`,
    );
  });

  it('shows env values by their reference and secret-key values as [REDACTED], whatever their type', () => {
    expect(maskConfig(config)).toEqual({
      providers: {
        main: { plugin: 'openai', apiKey: '[REDACTED]', baseURL: `http://h/${reference('PREFIX')}` },
      },
      models: { smart: [{ provider: 'main', model: reference('SHORT') }] },
      retry: { maxAttempts: 123456789, token: '[REDACTED]' },
    });
  });

  it('knows secret keys from ordinary ones', () => {
    for (const key of [
      'key',
      'keys',
      'apiKey',
      'x-api-key',
      'clientSecret',
      'token',
      'accessToken',
      'password',
    ])
      expect(isSecretKey(key), key).toBe(true);
    for (const key of ['keyPrefix', 'maxTokens', 'model', 'url', 'name', 'priority'])
      expect(isSecretKey(key), key).toBe(false);
  });
});
