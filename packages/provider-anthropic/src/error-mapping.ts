import {
  AbortedError,
  BulwarkError,
  ConnectionError,
  InvalidResponseError,
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
import { parseAnthropicRateLimit } from './rate-limit-headers.js';

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
  requestID?: string | null;
}

/** The error an aborted signal stands for: its reason when Bulwark aborted it (a timeout), else `AbortedError`. */
export function abortReason(signal: AbortSignal, cause?: unknown): BulwarkError {
  const reason = signal.reason;
  return BulwarkError.isInstance(reason) ? reason : new AbortedError({ cause: cause ?? reason });
}

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

/** Maps an HTTP error answer (status, parsed body, headers) to the taxonomy, refined for Anthropic. */
export function errorFromAnthropicAnswer(input: {
  status: number;
  /** The parsed body (`{ type: 'error', error: { type, message } }`), when it was JSON. */
  body?: unknown;
  /** The body text when it was not JSON. */
  text?: string;
  headers?: HeaderSource;
  requestId?: string;
  provider: string;
  model: string;
  cause?: unknown;
}): BulwarkError {
  const inner = (input.body as { error?: unknown } | undefined)?.error;
  const detail = (typeof inner === 'object' && inner !== null ? inner : {}) as {
    type?: unknown;
    message?: unknown;
  };
  const message = typeof detail.message === 'string' ? detail.message : input.text;
  const type = typeof detail.type === 'string' ? detail.type : undefined;
  const raw = input.body !== undefined ? JSON.stringify(input.body) : input.text;
  let headers = input.headers;
  if (input.status === 429 && headers && getHeader(headers, 'retry-after') === undefined) {
    if (getHeader(headers, 'retry-after-ms') === undefined) {
      const wait = waitFromResets(parseAnthropicRateLimit(headers));
      if (wait !== undefined) {
        const shouldRetry = getHeader(headers, 'x-should-retry');
        headers = {
          'retry-after-ms': String(wait),
          ...(shouldRetry === undefined ? {} : { 'x-should-retry': shouldRetry }),
        };
      }
    }
  }
  return errorFromHttpResponse({
    status: input.status,
    ...(raw === undefined ? {} : { body: raw }),
    ...(message === undefined ? {} : { message }),
    ...(type === undefined ? {} : { errorType: type }),
    headers,
    provider: input.provider,
    model: input.model,
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    ...(input.cause === undefined ? {} : { cause: input.cause }),
  });
}

function constructorName(error: unknown): string {
  return (error as { constructor?: { name?: string } })?.constructor?.name ?? '';
}

function isSdkApiError(error: unknown): error is SdkApiError {
  return error instanceof Error && 'status' in error && 'error' in error && 'headers' in error;
}

/**
 * Turns anything the SDK (or the socket under it) threw into a Bulwark error. An abort of the call's
 * signal wins over whatever the SDK made of it.
 */
export function mapAnthropicError(error: unknown, scope: ErrorScope): BulwarkError {
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
    const common = {
      headers: error.headers,
      ...(requestId === undefined ? {} : { requestId }),
      provider: scope.provider,
      model: scope.model,
      cause: error,
    };
    if (typeof error.status === 'number') {
      if (error.error === undefined) {
        return errorFromAnthropicAnswer({
          ...common,
          status: error.status,
          text: error.message.replace(/^\d{3}\s/, ''),
        });
      }
      return errorFromAnthropicAnswer({ ...common, status: error.status, body: error.error });
    }
    // `event: error` inside a 200 stream: mapped as the HTTP status of its type would be.
    const type = (error.error as { error?: { type?: unknown } } | undefined)?.error?.type;
    return errorFromAnthropicAnswer({
      ...common,
      status: statusForErrorType(typeof type === 'string' ? type : undefined),
      ...(typeof error.error === 'object'
        ? { body: error.error }
        : { text: String(error.error ?? error.message) }),
    });
  }
  if (error instanceof SyntaxError) {
    return new InvalidResponseError({
      ...base,
      message: `${scope.provider} sent a stream event that is not valid JSON: ${redactSecrets(error.message)}`,
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
