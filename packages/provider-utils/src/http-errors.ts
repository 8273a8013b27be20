import {
  AuthenticationError,
  type BulwarkError,
  ContentFilterError,
  ContextLengthError,
  InvalidRequestError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
  type RateLimitInfo,
  redactSecrets,
  ServerError,
  TimeoutError,
} from '@bulwark/core';
import { getHeader, type HeaderSource, parseRetryAfter } from './headers.js';
import { waitFromResets } from './rate-limit-headers.js';

export interface HttpErrorInput {
  status: number;
  /** The response body as text (it is redacted before it is kept). */
  body?: string;
  /** The provider's error message, if already extracted. */
  message?: string;
  /** The provider's error type or code (`context_length_exceeded`, `overloaded_error`, …). */
  errorType?: string;
  headers?: HeaderSource;
  /**
   * The answer's parsed rate-limit headers: a 429 that sent no `retry-after(-ms)` waits for the reset
   * of the exhausted allowance ({@link waitFromResets}).
   */
  rateLimit?: RateLimitInfo;
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
  const retryAfterMs =
    parseRetryAfter(input.headers, input.now) ??
    (status === 429 ? waitFromResets(input.rateLimit) : undefined);
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
