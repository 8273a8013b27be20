import {
  AbortedError,
  BulwarkError,
  ConnectionError,
  InvalidResponseError,
  type RateLimitInfo,
  redactSecrets,
  TimeoutError,
} from '@bulwark/core';
import type { HeaderSource } from './headers.js';
import { errorFromHttpResponse } from './http-errors.js';
import { describeErrorChain, isConnectionFailure } from './network-errors.js';

/** Who failed, for the error's fields. */
export interface ErrorScope {
  provider: string;
  model: string;
  signal: AbortSignal;
  /** The SDK timeout in force (for `TimeoutError.timeoutMs`). */
  timeoutMs?: number;
}

/** An HTTP error answer as an SDK reported it, for the provider's own mapping. */
export interface SdkErrorAnswer {
  status: number;
  /** The SDK's parsed error payload (its `error` property), when the body was JSON. */
  body?: unknown;
  /** The body text when it was not JSON. */
  text?: string;
  headers?: HeaderSource;
  requestId?: string;
  provider: string;
  model: string;
  cause?: unknown;
}

/** What a provider says about its API's errors; the rest of the SDK error mapping is shared. */
export interface SdkErrorMapping {
  /** Maps an HTTP error answer (or an error sent inside a 200 stream, with the status its type stands for). */
  fromAnswer(answer: SdkErrorAnswer): BulwarkError;
  /** The HTTP status an error payload sent inside a 200 stream stands for. */
  streamErrorStatus(body: unknown): number;
  /** What the API streams (`chunk`, `event`), for the message about one that is not valid JSON. */
  streamUnit: string;
}

/** The error an aborted signal stands for: its reason when Bulwark aborted it (a timeout), else `AbortedError`. */
export function abortReason(signal: AbortSignal, cause?: unknown): BulwarkError {
  const reason = signal.reason;
  return BulwarkError.isInstance(reason) ? reason : new AbortedError({ cause: cause ?? reason });
}

interface SdkApiError extends Error {
  status: number | undefined;
  headers: Headers | undefined;
  error: unknown;
  requestID?: string | null;
}

function isSdkApiError(error: unknown): error is SdkApiError {
  return error instanceof Error && 'status' in error && 'error' in error && 'headers' in error;
}

function constructorName(error: unknown): string {
  return (error as { constructor?: { name?: string } })?.constructor?.name ?? '';
}

/**
 * The error mapper of a provider on a Stainless-generated SDK (the official `openai` and
 * `@anthropic-ai/sdk`): turns anything the SDK, or the socket under it, threw into a Bulwark error.
 * An abort of the call's signal wins over whatever the SDK made of it; timeouts, aborts and
 * connection failures are recognised by the SDK's class names and the cause chain; HTTP answers
 * go to the provider's `fromAnswer`.
 */
export function createSdkErrorMapper(
  mapping: SdkErrorMapping,
): (error: unknown, scope: ErrorScope) => BulwarkError {
  return (error, scope) => {
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
        return error.error === undefined
          ? mapping.fromAnswer({
              ...common,
              status: error.status,
              text: error.message.replace(/^\d{3}\s/, ''),
            })
          : mapping.fromAnswer({ ...common, status: error.status, body: error.error });
      }
      // An error payload inside a 200 stream: mapped as the HTTP status of its type would be.
      return mapping.fromAnswer({
        ...common,
        status: mapping.streamErrorStatus(error.error),
        ...(typeof error.error === 'object' && error.error !== null
          ? { body: error.error }
          : { text: String(error.error ?? error.message) }),
      });
    }
    if (error instanceof SyntaxError) {
      return new InvalidResponseError({
        ...base,
        message: `${scope.provider} sent a stream ${mapping.streamUnit} that is not valid JSON: ${redactSecrets(error.message)}`,
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
  };
}

/** What a provider read from an answer's error payload, for {@link errorFromSdkAnswer}. */
export interface AnswerErrorDetail {
  /** The provider's message (default: the answer's text). */
  message?: string | undefined;
  /** The provider's error type or code (`rate_limit_error`, `context_length_exceeded`…). */
  errorType?: string | undefined;
  /** The body as text, kept redacted on the error (default: the answer's text). */
  rawBody?: string | undefined;
  /** The answer's rate-limit headers, for the wait of a 429 without `retry-after`. */
  rateLimit?: RateLimitInfo | undefined;
}

/** {@link errorFromHttpResponse} for an answer as the SDK error mapper hands it over, with the provider's reading of its payload. */
export function errorFromSdkAnswer(
  answer: Omit<SdkErrorAnswer, 'body'>,
  detail: AnswerErrorDetail,
): BulwarkError {
  const message = detail.message ?? answer.text;
  const rawBody = detail.rawBody ?? answer.text;
  return errorFromHttpResponse({
    status: answer.status,
    ...(rawBody === undefined ? {} : { body: rawBody }),
    ...(message === undefined ? {} : { message }),
    ...(detail.errorType ? { errorType: detail.errorType } : {}),
    ...(answer.headers === undefined ? {} : { headers: answer.headers }),
    ...(detail.rateLimit === undefined ? {} : { rateLimit: detail.rateLimit }),
    provider: answer.provider,
    model: answer.model,
    ...(answer.requestId === undefined ? {} : { requestId: answer.requestId }),
    ...(answer.cause === undefined ? {} : { cause: answer.cause }),
  });
}
