/**
 * Secret removal for anything that may reach a log, an error body or a metric label.
 * Known provider key shapes and bearer tokens are masked; values registered with `registerSecret`
 * (API keys from config) are masked wherever they appear.
 */
const registered = new Set<string>();

/** Masks this exact value wherever `redactSecrets` sees it. Values shorter than 8 characters are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) registered.add(value);
}

const patterns: RegExp[] = [
  /\b(sk|pk|rk)-(ant-|proj-|live-|test-)?[A-Za-z0-9_-]{8,}/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /("?(?:api[_-]?key|x-api-key|authorization|password|secret|token)"?\s*[:=]\s*"?)([^"\s,}]{4,})/gi,
];

export function redactSecrets(text: string): string {
  let result = text;
  for (const secret of registered) {
    if (result.includes(secret)) result = result.split(secret).join('[REDACTED]');
  }
  result = result.replace(patterns[0]!, '[REDACTED]');
  result = result.replace(patterns[1]!, (_match, scheme: string) => `${scheme} [REDACTED]`);
  result = result.replace(
    patterns[2]!,
    (match, prefix: string, value: string, offset: number, text: string) =>
      isPathLabel(prefix, value, offset, text) ? match : `${prefix}[REDACTED]`,
  );
  return result;
}

/**
 * `providers.main.apiKey: environment variable NAME is not set`: a config path ending in a secret key,
 * used as the label of a sentence, not a `key: value` pair. Only that exact shape is let through: the
 * key is the last segment of a dotted path, `: ` follows, and what comes is a lower-case word followed
 * by another word. A value after `=`, in quotes, or with a digit, capital or symbol is still masked.
 */
function isPathLabel(prefix: string, value: string, offset: number, text: string): boolean {
  const before = text[offset - 1];
  if (before !== '.' && before !== ']') return false;
  if (!/^[A-Za-z_-]+: +$/.test(prefix)) return false;
  return /^[a-z]+$/.test(value) && /^ [a-z]/.test(text.slice(offset + prefix.length + value.length));
}

/** Header names whose values are never logged. */
export const secretHeaderNames: ReadonlySet<string> = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);
