import type { BulwarkError } from '@bulwark/core';
import {
  createSdkErrorMapper,
  type ErrorScope,
  errorFromSdkAnswer,
  type SdkErrorAnswer,
} from '@bulwark/provider-utils';
import { parseAnthropicRateLimit } from './rate-limit-headers.js';

const statusByType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** The HTTP status an Anthropic error `type` stands for, for `event: error` sent inside a 200 stream. */
export function statusForErrorType(type: string | undefined): number {
  return (type && statusByType[type]) || 500;
}

/**
 * Maps an HTTP error answer (status, parsed body, headers) to the taxonomy, refined for Anthropic.
 * `body` is the parsed body (`{ type: 'error', error: { type, message } }`) when it was JSON, `text`
 * the body otherwise.
 */
export function errorFromAnthropicAnswer(input: SdkErrorAnswer): BulwarkError {
  const inner = (input.body as { error?: unknown } | undefined)?.error;
  const detail = (typeof inner === 'object' && inner !== null ? inner : {}) as {
    type?: unknown;
    message?: unknown;
  };
  return errorFromSdkAnswer(input, {
    ...(typeof detail.message === 'string' ? { message: detail.message } : {}),
    ...(typeof detail.type === 'string' ? { errorType: detail.type } : {}),
    ...(input.body === undefined ? {} : { rawBody: JSON.stringify(input.body) }),
    ...(input.status === 429 ? { rateLimit: parseAnthropicRateLimit(input.headers) } : {}),
  });
}

/**
 * Turns anything the SDK (or the socket under it) threw into a Bulwark error. An abort of the call's
 * signal wins over whatever the SDK made of it.
 */
export const mapAnthropicError: (error: unknown, scope: ErrorScope) => BulwarkError = createSdkErrorMapper({
  fromAnswer: errorFromAnthropicAnswer,
  // `event: error` inside a 200 stream carries `{ type: 'error', error: { type, message } }`.
  streamErrorStatus: (body) => {
    const type = (body as { error?: { type?: unknown } } | undefined)?.error?.type;
    return statusForErrorType(typeof type === 'string' ? type : undefined);
  },
  streamUnit: 'event',
});
