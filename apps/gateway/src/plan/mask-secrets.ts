import { ConfigError, redactSecrets } from '@bulwark/core';
import { type EnvSubstitutions, envSubstitutionsOf } from '../config/env-substitutions.js';

/**
 * Keys whose values are secrets wherever they sit (and every value below them): `key`, `keys`,
 * `apiKey`, `x-api-key`, `*secret*`, `*token` (not `maxTokens`), `*password*`, `authorization`,
 * `*credential*`, `cookie`.
 */
const secretKeyPattern = /keys?$|secret|token$|password|passwd|authorization|credential|cookie/i;

/** True when a config key holds a secret (see `secretKeyPattern`). */
export function isSecretKey(key: string): boolean {
  return secretKeyPattern.test(key);
}

/** A URL with its password (and username) replaced, so `redis://:pw@host` prints as `redis://***@host`. */
export function maskUrl(text: string): string {
  if (!text.includes('@') || !text.includes('://')) return text;
  try {
    const url = new URL(text);
    if (!url.password && !url.username) return text;
    url.username = '';
    url.password = '';
    return url.toString().replace('://', '://***@');
  } catch {
    return text;
  }
}

/** Shortest environment value masked inside a longer string (shorter ones only when they are the whole string). */
const minimumEmbeddedLength = 8;

/** Longest values first, so a value that contains another is replaced whole. */
function longestFirst(substitutions: EnvSubstitutions): Array<[string, string]> {
  return [...substitutions.values].sort(([a], [b]) => b.length - a.length);
}

function maskEnvValues(text: string, substitutions: EnvSubstitutions | undefined): string {
  if (!substitutions) return text;
  const whole = substitutions.values.get(text);
  if (whole !== undefined) return whole;
  let result = text;
  for (const [value, reference] of longestFirst(substitutions)) {
    if (value.length >= minimumEmbeddedLength && result.includes(value))
      result = result.split(value).join(reference);
  }
  return result;
}

/**
 * A copy of `value` fit to print: every scalar under a secret-named key replaced by `[REDACTED]`,
 * values from `${env:…}` replaced by the reference as written, URL credentials and key shapes masked.
 */
export function maskSecrets(value: unknown, key = '', substitutions?: EnvSubstitutions): unknown {
  return maskAt(value, key, '', substitutions);
}

function maskAt(
  value: unknown,
  key: string,
  path: string,
  substitutions: EnvSubstitutions | undefined,
): unknown {
  const written = path === '' ? undefined : substitutions?.paths.get(path);
  if (written !== undefined && typeof value !== 'object') {
    // The reference as written (`${env:KEY}`), fit to print once the redactor has seen it.
    if (key !== '' && isSecretKey(key)) return '[REDACTED]';
    return redactSecrets(maskUrl(written));
  }
  if (value === null || value === undefined) return value;
  if (typeof value !== 'object') {
    if (key !== '' && isSecretKey(key)) return '[REDACTED]';
    if (typeof value !== 'string') return value;
    return redactSecrets(maskUrl(maskEnvValues(value, substitutions)));
  }
  if (Array.isArray(value))
    return value.map((item, index) => maskAt(item, key, `${path}[${index}]`, substitutions));
  const result: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    result[name] = maskAt(item, name, path === '' ? name : `${path}.${name}`, substitutions);
  }
  return result;
}

/**
 * Text (an error message) with every value of `substitutions` replaced by its reference: values of 8
 * characters or more wherever they appear, shorter ones where they stand quoted (`"abc"`), the way
 * error messages show values.
 */
export function maskEnvText(text: string, substitutions: EnvSubstitutions | undefined): string {
  if (!substitutions) return text;
  let result = text;
  for (const [value, reference] of longestFirst(substitutions)) {
    const target = value.length >= minimumEmbeddedLength ? value : JSON.stringify(value);
    const replacement = value.length >= minimumEmbeddedLength ? reference : JSON.stringify(reference);
    if (result.includes(target)) result = result.split(target).join(replacement);
  }
  return result;
}

/** A whole config (raw or validated) made printable, with the `${env:…}` substitutions behind it. */
export function maskConfig(config: unknown, substitutions = envSubstitutionsOf(config)): unknown {
  return maskAt(config, '', '', substitutions);
}

/** A masker for parts of one config: values from its `${env:…}` substitutions are masked wherever they appear. */
export function createMasker(config: unknown): (value: unknown) => unknown {
  const substitutions = envSubstitutionsOf(config);
  return (value) => maskAt(value, '', '', substitutions);
}

/**
 * An error about a config with every `${env:…}` value in its message (and issues) replaced by its
 * reference. A `ConfigError` whose text changed is rebuilt without its cause: the cause still holds
 * the value, and whoever logs the error with its causes would print it.
 */
export function maskConfigError(error: unknown, config: unknown): unknown {
  const substitutions = envSubstitutionsOf(config);
  if (!substitutions || !(error instanceof Error)) return error;
  const message = maskEnvText(error.message, substitutions);
  if (ConfigError.isInstance(error)) {
    const issues = error.issues.map((issue) => ({
      path: issue.path,
      message: maskEnvText(issue.message, substitutions),
    }));
    const changed =
      message !== error.message ||
      issues.some((issue, index) => issue.message !== error.issues[index]?.message);
    return changed ? new ConfigError({ path: error.path, issues, message }) : error;
  }
  if (message !== error.message) {
    error.message = message;
    if (error.stack) error.stack = maskEnvText(error.stack, substitutions);
  }
  return error;
}
