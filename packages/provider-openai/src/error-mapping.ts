import {
  AbortedError,
  BulwarkError,
  ConnectionError,
  InvalidResponseError,
  OverloadedError,
  redactSecrets,
  TimeoutError,
} from '@bulwark/core';
import {
  describeErrorChain,
  errorFromHttpResponse,
  getHeader,
  type HeaderSource,
  isConnectionFailure,
  waitFromResets,
} from '@bulwark/provider-utils';
import { parseOpenAIRateLimit } from './rate-limit-headers.js';

/** Who failed, for the error's fields. */
export interface ErrorScope {
  provider: string;
  model: string;
  signal: AbortSignal;
  /** The SDK timeout in force (for `TimeoutError.timeoutMs`). */
  timeoutMs?: number;
}

interface SdkApiError extends Error {
  status: number | undefined;
  headers: Headers | undefined;
  error: unknown;
  code?: string | null;
  type?: string;
  requestID?: string | null;
}

const overloadedPattern = /overloaded|over capacity/i;

/** The error an aborted signal stands for: its reason when Bulwark aborted it (a timeout), else `AbortedError`. */
export function abortReason(signal: AbortSignal, cause?: unknown): BulwarkError {
  const reason = signal.reason;
  return BulwarkError.isInstance(reason) ? reason : new AbortedError({ cause: cause ?? reason });
}

function constructorName(error: unknown): string {
  return (error as { constructor?: { name?: string } })?.constructor?.name ?? '';
}

function isSdkApiError(error: unknown): error is SdkApiError {
  return error instanceof Error && 'status' in error && 'error' in error && 'headers' in error;
}

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
export function errorFromOpenAIAnswer(input: {
  status: number;
  /** The `error` object of the body (`{ message, type, param, code }`), when it was JSON. */
  error?: unknown;
  /** The body text when it was not JSON. */
  text?: string;
  headers?: HeaderSource;
  requestId?: string;
  provider: string;
  model: string;
  cause?: unknown;
}): BulwarkError {
  const detail = (typeof input.error === 'object' && input.error !== null ? input.error : {}) as {
    message?: unknown;
    type?: unknown;
    code?: unknown;
  };
  const message = typeof detail.message === 'string' ? detail.message : input.text;
  const code = typeof detail.code === 'string' ? detail.code : undefined;
  const type = typeof detail.type === 'string' ? detail.type : undefined;
  const body = input.error !== undefined ? JSON.stringify({ error: input.error }) : input.text;
  let headers = input.headers;
  if (input.status === 429 && headers && getHeader(headers, 'retry-after-ms') === undefined) {
    if (getHeader(headers, 'retry-after') === undefined) {
      const wait = waitFromResets(parseOpenAIRateLimit(headers));
      if (wait !== undefined) {
        const shouldRetry = getHeader(headers, 'x-should-retry');
        headers = {
          'retry-after-ms': String(wait),
          ...(shouldRetry === undefined ? {} : { 'x-should-retry': shouldRetry }),
        };
      }
    }
  }
  const mapped = errorFromHttpResponse({
    status: input.status,
    ...(body === undefined ? {} : { body }),
    ...(message === undefined ? {} : { message }),
    errorType: [code, type].filter(Boolean).join(' '),
    headers,
    provider: input.provider,
    model: input.model,
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    ...(input.cause === undefined ? {} : { cause: input.cause }),
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
export function mapOpenAIError(error: unknown, scope: ErrorScope): BulwarkError {
  if (scope.signal.aborted) return abortReason(scope.signal, error);
  if (BulwarkError.isInstance(error)) return error;
  const base = { provider: scope.provider, model: scope.model, cause: error };
  const name = constructorName(error);
  if (name === 'APIConnectionTimeoutError') {
    return new TimeoutError({
      ...base,
      phase: 'first-token',
      ...(scope.timeoutMs === undefined ? {} : { timeoutMs: scope.timeoutMs }),
    });
  }
  if (name === 'APIUserAbortError') return new AbortedError({ cause: error });
  if (name === 'APIConnectionError') {
    return new ConnectionError({
      ...base,
      message: `${scope.provider}: ${redactSecrets(String((error as Error).message))}`,
    });
  }
  if (isSdkApiError(error)) {
    const requestId = error.requestID ?? undefined;
    if (typeof error.status === 'number') {
      const nonJsonText = error.error === undefined ? error.message.replace(/^\d{3}\s/, '') : undefined;
      return errorFromOpenAIAnswer({
        status: error.status,
        error: error.error,
        ...(nonJsonText === undefined ? {} : { text: nonJsonText }),
        headers: error.headers,
        ...(requestId === undefined ? {} : { requestId }),
        provider: scope.provider,
        model: scope.model,
        cause: error,
      });
    }
    // An error object sent inside a 200 stream: map it as its type's HTTP status would be.
    const detail = (error.error ?? {}) as { type?: unknown; code?: unknown };
    const typeText = [detail.code, detail.type].filter((value) => typeof value === 'string').join(' ');
    return errorFromOpenAIAnswer({
      status: statusForErrorType(typeText),
      error: error.error,
      headers: error.headers,
      ...(requestId === undefined ? {} : { requestId }),
      provider: scope.provider,
      model: scope.model,
      cause: error,
    });
  }
  if (error instanceof SyntaxError) {
    return new InvalidResponseError({
      ...base,
      message: `${scope.provider} sent a stream chunk that is not valid JSON: ${redactSecrets(error.message)}`,
    });
  }
  if (isConnectionFailure(error)) {
    return new ConnectionError({
      ...base,
      message: `${scope.provider}: connection failed (${redactSecrets(describeErrorChain(error))})`,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BulwarkError('unknown', { ...base, message: redactSecrets(message) });
}
