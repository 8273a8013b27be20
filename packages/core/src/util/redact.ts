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
  result = result.replace(patterns[2]!, (_match, prefix: string) => `${prefix}[REDACTED]`);
  return result;
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
