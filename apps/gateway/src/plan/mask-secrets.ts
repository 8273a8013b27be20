import { redactSecrets } from '@bulwark/core';

const secretKeyPattern = /key|secret|token|password|authorization|credential/i;

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

/** A copy of `value` fit to print: secret-named fields replaced, URL credentials and key shapes masked. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (key !== '' && secretKeyPattern.test(key)) return '[REDACTED]';
    return redactSecrets(maskUrl(value));
  }
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, key));
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) result[name] = maskSecrets(item, name);
    return result;
  }
  return value;
}
