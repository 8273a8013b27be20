import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A configured key: its SHA-256 digest (the key itself is not kept) and the tenant name it maps to. */
interface KeyEntry {
  digest: Buffer;
  name: string;
}

export interface ApiKeyChecker {
  /** The tenant name of the presented key, or undefined when no key or a wrong key was sent. */
  check(headers: IncomingHttpHeaders): string | undefined;
}

const digestOf = (key: string): Buffer => createHash('sha256').update(key).digest();

/** The key a client sent: `Authorization: Bearer <key>` (OpenAI SDK) or `x-api-key` (Anthropic SDK). */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (
    authorization !== undefined &&
    authorization.length > 7 &&
    authorization.slice(0, 7).toLowerCase() === 'bearer '
  )
    return authorization.slice(7).trim();
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}

/**
 * Compares keys in constant time: both sides are hashed to 32 bytes and compared with
 * `timingSafeEqual` against every configured key, with no early exit, so neither the length nor
 * the position of a match leaks through timing.
 */
export function createApiKeyChecker(
  keys: ReadonlyArray<string | { key: string; name?: string | undefined }>,
): ApiKeyChecker {
  const entries: KeyEntry[] = keys.map((entry, index) =>
    typeof entry === 'string'
      ? { digest: digestOf(entry), name: `key-${index}` }
      : { digest: digestOf(entry.key), name: entry.name ?? `key-${index}` },
  );
  return {
    check(headers) {
      const key = presentedKey(headers);
      if (key === undefined) return undefined;
      const digest = digestOf(key);
      let found: string | undefined;
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.name;
      }
      return found;
    },
  };
}
