import { redactSecrets } from '../util/redact.js';
import type { BulwarkError } from './bulwark-error.js';
import {
  AuthenticationError,
  ContentFilterError,
  ContextLengthError,
  InvalidRequestError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  TimeoutError,
} from './errors.js';

/** Header access that works for `Headers`, plain objects and SDK header maps. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined | null;

export function getHeader(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? record[name.toLowerCase()];
  if (value !== undefined) return Array.isArray(value) ? value[0] : value;
  const lower = name.toLowerCase();
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === lower) {
      const found = record[key];
      return Array.isArray(found) ? found[0] : found;
    }
  }
  return undefined;
}

/**
 * Parses durations as providers write them: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, or plain seconds (`"2"`).
 * Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const pattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    const value = Number(match[1]);
    const unit = match[2];
    total +=
      unit === 'h' ? value * 3_600_000 : unit === 'm' ? value * 60_000 : unit === 's' ? value * 1000 : value;
    consumed += match[0].length;
  }
  return consumed === trimmed.length ? total : undefined;
}

/**
 * How long the provider asked us to wait, in ms: `retry-after-ms` first, then `retry-after` as seconds
 * or an HTTP date (relative to `now`). Negative or unparseable values give undefined.
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const milliseconds = getHeader(headers, 'retry-after-ms');
  if (milliseconds !== undefined) {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = getHeader(headers, 'retry-after');
  if (retryAfter === undefined) return undefined;
  const seconds = Number(retryAfter);
  if (retryAfter.trim() !== '' && Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface HttpErrorInput {
  status: number;
  /** The response body as text (it is redacted before it is kept). */
  body?: string;
  /** The provider's error message, if already extracted. */
  message?: string;
  /** The provider's error type or code (`context_length_exceeded`, `overloaded_error`, …). */
  errorType?: string;
  headers?: HeaderSource;
  provider?: string;
  model?: string;
  requestId?: string;
  cause?: unknown;
  now?: number;
}

const contextLengthPattern =
  /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long/i;
const contentFilterPattern = /content[_ ]?(filter|policy|management)|safety system|flagged/i;
const quotaPattern = /insufficient_quota|quota|billing|spend[_ ]limit|credit balance/i;

/**
 * Maps an HTTP error answer to the taxonomy. Provider plugins call this with what they parsed and may
 * refine the result. `x-should-retry` overrides retryability, as both official SDKs do.
 */
export function errorFromHttpResponse(input: HttpErrorInput): BulwarkError {
  const { status } = input;
  const retryAfterMs = parseRetryAfter(input.headers, input.now);
  const typeText = `${input.errorType ?? ''} ${input.message ?? ''}`;
  const shouldRetry = getHeader(input.headers, 'x-should-retry');
  const base = {
    message: `${input.provider ?? 'provider'} answered ${status}${input.message ? `: ${redactSecrets(input.message)}` : ''}`,
    status,
    ...(input.provider === undefined ? {} : { provider: input.provider }),
    ...(input.model === undefined ? {} : { model: input.model }),
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    ...(input.body === undefined ? {} : { rawBody: redactSecrets(input.body) }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(input.cause === undefined ? {} : { cause: input.cause }),
    ...(shouldRetry === 'true' ? { retryable: true } : shouldRetry === 'false' ? { retryable: false } : {}),
  };
  if (status === 429) {
    return new RateLimitError({ ...base, scope: quotaPattern.test(typeText) ? 'quota' : 'provider' });
  }
  if (status === 529 || /overloaded/i.test(input.errorType ?? '')) return new OverloadedError(base);
  if (status === 408) return new TimeoutError({ ...base, phase: 'attempt' });
  if (status >= 500) return new ServerError(base);
  if (status === 401) return new AuthenticationError(base);
  if (status === 403) {
    return contentFilterPattern.test(typeText)
      ? new ContentFilterError(base)
      : new PermissionDeniedError(base);
  }
  if (status === 404) return new NotFoundError(base);
  if (status === 409) return new ServerError({ ...base, retryable: base.retryable ?? true });
  if (contextLengthPattern.test(typeText)) return new ContextLengthError(base);
  if (contentFilterPattern.test(typeText)) return new ContentFilterError(base);
  return new InvalidRequestError(base);
}
