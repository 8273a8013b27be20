import { type BulwarkError, OverloadedError } from '@bulwark/core';
import {
  createSdkErrorMapper,
  type ErrorScope,
  errorFromSdkAnswer,
  type SdkErrorAnswer,
} from '@bulwark/provider-utils';
import { parseOpenAIRateLimit } from './rate-limit-headers.js';

const overloadedPattern = /overloaded|over capacity/i;

/** The HTTP status an error `type`/`code` stands for, for errors sent inside a 200 stream. */
export function statusForErrorType(type: string | undefined): number {
  const text = type ?? '';
  if (/rate_limit|insufficient_quota/i.test(text)) return 429;
  if (overloadedPattern.test(text)) return 529;
  if (/authentication|invalid_api_key/i.test(text)) return 401;
  if (/permission/i.test(text)) return 403;
  if (/not_found|model_not_found/i.test(text)) return 404;
  if (/invalid_request|context_length|content_filter|content_policy/i.test(text)) return 400;
  if (/timeout/i.test(text)) return 408;
  return 500;
}

/** Maps an HTTP error answer (status, parsed body, headers) to the taxonomy, refined for OpenAI. */
export function errorFromOpenAIAnswer(
  input: Omit<SdkErrorAnswer, 'body'> & {
    /** The `error` object of the body (`{ message, type, param, code }`), when it was JSON. */
    error?: unknown;
  },
): BulwarkError {
  const detail = (typeof input.error === 'object' && input.error !== null ? input.error : {}) as {
    message?: unknown;
    type?: unknown;
    code?: unknown;
  };
  const message = typeof detail.message === 'string' ? detail.message : input.text;
  const type = typeof detail.type === 'string' ? detail.type : undefined;
  const mapped = errorFromSdkAnswer(input, {
    message,
    errorType: [detail.code, type].filter((value) => typeof value === 'string').join(' '),
    ...(input.error === undefined ? {} : { rawBody: JSON.stringify({ error: input.error }) }),
    ...(input.status === 429 ? { rateLimit: parseOpenAIRateLimit(input.headers) } : {}),
  });
  if (mapped.code === 'server_error' && overloadedPattern.test(`${type ?? ''} ${message ?? ''}`)) {
    return new OverloadedError({
      message: mapped.message,
      status: input.status,
      provider: input.provider,
      model: input.model,
      ...(mapped.rawBody === undefined ? {} : { rawBody: mapped.rawBody }),
      ...(mapped.requestId === undefined ? {} : { requestId: mapped.requestId }),
      ...(mapped.retryAfterMs === undefined ? {} : { retryAfterMs: mapped.retryAfterMs }),
      ...(input.cause === undefined ? {} : { cause: input.cause }),
    });
  }
  return mapped;
}

/**
 * Turns anything the SDK (or the socket under it) threw into a Bulwark error. An abort of the call's
 * signal wins over whatever the SDK made of it.
 */
export const mapOpenAIError: (error: unknown, scope: ErrorScope) => BulwarkError = createSdkErrorMapper({
  fromAnswer: ({ body, ...answer }) =>
    errorFromOpenAIAnswer({ ...answer, ...(body === undefined ? {} : { error: body }) }),
  streamErrorStatus: (body) => {
    const detail = (body ?? {}) as { type?: unknown; code?: unknown };
    return statusForErrorType(
      [detail.code, detail.type].filter((value) => typeof value === 'string').join(' '),
    );
  },
  streamUnit: 'chunk',
});
