import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { AuthenticationError, InvalidRequestError, PermissionDeniedError } from '@bulwark/core';
import { keyDigestOf, priorityBounds } from '../config/config-schema.js';
import { createModelAllowlist, type ModelAllowlist } from '../keys/model-allowlist.js';

/** What a key may reach: `api` (the /v1 routes), `metrics` (GET /metrics). */
export type KeyRole = 'api' | 'metrics';

/** The `x-bulwark-priority` values a caller may send, and the one used without the header. */
export interface PriorityRange {
  default: number;
  min: number;
  max: number;
}

/** Who a presented key belongs to. */
export interface KeyIdentity {
  /** The tenant name: logs, metrics, cache namespace, budgets. */
  tenant: string;
  roles: ReadonlySet<KeyRole>;
  priority: PriorityRange;
  /** The models the key may call (its `models`); absent: all. */
  models?: ModelAllowlist | undefined;
}

/** A key's own rate limits (`auth.keys[i].limits`). */
export interface KeyLimits {
  rpm?: number | undefined;
  tpm?: number | undefined;
  concurrency?: number | undefined;
}

/** A configured key as the config holds it: a bare string, or an entry with a name, roles and a priority range. */
export type ApiKeyConfig =
  | string
  | {
      /** The key, or give `keyHash`. */
      key?: string | undefined;
      /** SHA-256 of the key, hex. */
      keyHash?: string | undefined;
      name?: string | undefined;
      roles?: readonly KeyRole[] | undefined;
      priority?: PriorityRange | undefined;
      models?: readonly string[] | undefined;
      limits?: KeyLimits | undefined;
      /** ISO 8601 date-time after which the key is refused like a wrong one. */
      expiresAt?: string | undefined;
    };

export interface ApiKeyChecker {
  /** The tenant name of the presented key when it may call the /v1 routes; undefined otherwise. */
  check(headers: IncomingHttpHeaders): string | undefined;
  /** The identity of the presented key, whatever its roles; undefined when no key or a wrong key was sent. */
  identify(headers: IncomingHttpHeaders): KeyIdentity | undefined;
}

/** A configured key: its SHA-256 digest (the key itself is not kept) and who it belongs to. */
interface KeyEntry {
  digest: Buffer;
  identity: KeyIdentity;
  /** Epoch ms after which the key no longer works. */
  expiresAt: number;
}

/** A keyed caller may lower its priority, not raise it above 0, unless its key says otherwise. */
const keyedDefault: PriorityRange = { default: 0, min: priorityBounds.min, max: 0 };

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
  keys: readonly ApiKeyConfig[],
  options: { now?: () => number } = {},
): ApiKeyChecker {
  const now = options.now ?? Date.now;
  const entries: KeyEntry[] = keys.map((entry, index) =>
    typeof entry === 'string'
      ? {
          digest: digestOf(entry),
          identity: { tenant: `key-${index}`, roles: new Set<KeyRole>(['api']), priority: keyedDefault },
          expiresAt: Number.POSITIVE_INFINITY,
        }
      : {
          digest: Buffer.from(keyDigestOf(entry), 'hex'),
          identity: {
            tenant: entry.name ?? `key-${index}`,
            roles: new Set<KeyRole>(entry.roles ?? ['api']),
            priority: entry.priority ?? keyedDefault,
            models: entry.models ? createModelAllowlist(entry.models) : undefined,
          },
          expiresAt: entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(entry.expiresAt),
        },
  );
  const identify = (headers: IncomingHttpHeaders): KeyIdentity | undefined => {
    const key = presentedKey(headers);
    if (key === undefined) return undefined;
    const digest = digestOf(key);
    let found: KeyEntry | undefined;
    for (const entry of entries) {
      if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry;
    }
    // An expired key is refused like a wrong one.
    return found && now() < found.expiresAt ? found.identity : undefined;
  };
  return {
    identify,
    check(headers) {
      const identity = identify(headers);
      return identity?.roles.has('api') ? identity.tenant : undefined;
    },
  };
}

/**
 * The priority of a call from `x-bulwark-priority` and the caller's allowed range (a key's, or
 * -1000…1000 without auth). Without the header: the range's default (none without auth). A value
 * that is not a whole number, or is outside the range, is a 400 naming the header and the range.
 */
export function priorityFor(
  header: string | undefined,
  range: PriorityRange | undefined,
): number | undefined {
  if (header === undefined) return range?.default;
  const allowed = range ?? { min: priorityBounds.min, max: priorityBounds.max };
  // Plain decimal digits only (no `0x`, `1e3` or blanks).
  const value = /^[-+]?\d{1,4}$/.test(header) ? Number(header) : Number.NaN;
  if (!(value >= allowed.min && value <= allowed.max)) {
    const whose = range ? "this key's range" : 'the range';
    throw new InvalidRequestError({
      field: 'x-bulwark-priority',
      message: `Invalid header x-bulwark-priority: expected a whole number in ${whose}, ${allowed.min} to ${allowed.max} (got ${JSON.stringify(header.slice(0, 40))})`,
    });
  }
  return value;
}

/** Who calls a /v1 route, as far as its key says: nothing is known or limited when auth is off. */
export interface ApiCaller {
  tenant?: string;
  priorityRange?: PriorityRange;
  allowed?: KeyIdentity['models'];
}

/**
 * Checks the key of a call to `path`: throws `AuthenticationError` (401) without a valid key and
 * `PermissionDeniedError` (403) for a key without the `api` role. The body is drained before either,
 * so the connection stays usable.
 */
export function authorizeApiCall(
  auth: ApiKeyChecker | undefined,
  request: IncomingMessage,
  path: string,
): ApiCaller {
  if (!auth) return {};
  const identity = auth.identify(request.headers);
  if (identity === undefined) {
    request.resume();
    throw new AuthenticationError({
      local: true,
      message: 'Invalid or missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"',
    });
  }
  if (!identity.roles.has('api')) {
    request.resume();
    throw new PermissionDeniedError({
      local: true,
      message: `This key may not call ${path}: its roles do not include "api"`,
    });
  }
  return { tenant: identity.tenant, priorityRange: identity.priority, allowed: identity.models };
}
