import {
  BulwarkError,
  ConnectionError,
  ContextLengthError,
  InvalidResponseError,
  OverloadedError,
  RateLimitError,
  redactSecrets,
  ServerError,
} from '@bulwark/core';
import {
  abortReason,
  describeErrorChain,
  errorFromHttpResponse,
  isConnectionFailure,
  isRecord,
} from '@bulwark/provider-utils';
import { rateLimitFromHeaders, requestIdFromHeaders } from './rate-limit.js';

/** Who failed, for the error's fields. */
export interface AISDKErrorScope {
  provider: string;
  model: string;
  signal: AbortSignal;
  now?: number;
}

/**
 * AI SDK errors carry a global-symbol marker (`vercel.ai.error.AI_APICallError`), so the check works
 * for errors of any installed copy and of both supported majors, without importing either.
 */
function hasMarker(error: unknown, name: string): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[Symbol.for(`vercel.ai.error.${name}`)] === true
  );
}

const googleContextLength = /input token count .*exceeds the maximum number of tokens/i;

interface APICallErrorShape extends Error {
  statusCode?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  isRetryable: boolean;
  data?: unknown;
}

/** The message and type/code of an error body in the OpenAI, Anthropic or Google shape. */
function errorDetail(body: string | undefined): { message?: string; errorType?: string } {
  if (body === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { message: body.slice(0, 500) };
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : parsed;
  if (!isRecord(error)) return {};
  const type = error.type ?? error.code ?? error.status;
  return {
    ...(typeof error.message === 'string' ? { message: error.message } : {}),
    ...(typeof type === 'string' ? { errorType: type } : {}),
  };
}

/** An error payload sent inside a 200 stream (`{ type: 'overloaded_error', message }` and the like). */
function fromStreamPayload(payload: unknown, scope: AISDKErrorScope): BulwarkError {
  const record = isRecord(payload) && isRecord(payload.error) ? payload.error : payload;
  const type = isRecord(record) ? String(record.type ?? record.status ?? record.code ?? '') : '';
  const message = isRecord(record) && typeof record.message === 'string' ? record.message : String(payload);
  const base = {
    provider: scope.provider,
    model: scope.model,
    message: `${scope.provider} sent an error in the stream: ${redactSecrets(message)}`,
    rawBody: redactSecrets(JSON.stringify(payload) ?? String(payload)),
    cause: payload,
  };
  if (/overloaded|unavailable/i.test(type)) return new OverloadedError(base);
  if (/rate_limit|resource_exhausted/i.test(type)) return new RateLimitError({ ...base, scope: 'provider' });
  return new ServerError(base);
}

/**
 * Maps anything an AI SDK model threw, or sent as a stream `error` part, to Bulwark's taxonomy. An abort
 * of the call's signal wins; `APICallError`s keep their status, headers (`retry-after`, rate limits),
 * request id and the SDK's `isRetryable` verdict where the status alone does not decide it; invalid
 * JSON becomes `InvalidResponseError` with the raw text; socket failures become `ConnectionError`.
 */
export function errorFromAISDK(error: unknown, scope: AISDKErrorScope): BulwarkError {
  if (scope.signal.aborted) return abortReason(scope.signal, error);
  if (BulwarkError.isInstance(error)) return error;
  const base = { provider: scope.provider, model: scope.model, cause: error };
  if (hasMarker(error, 'AI_APICallError')) {
    const apiError = error as APICallErrorShape;
    const status = apiError.statusCode;
    if (status === undefined || status < 300) {
      // A 200 whose body broke off (`Failed to process successful response`, cause `terminated`) is a
      // connection failure, not an invalid answer.
      const broken = isConnectionFailure(apiError.cause);
      if (!broken && (status !== undefined || apiError.responseBody !== undefined)) {
        return new InvalidResponseError({
          ...base,
          message: `${scope.provider} returned an invalid response: ${redactSecrets(apiError.message)}`,
          ...(apiError.responseBody === undefined ? {} : { rawBody: redactSecrets(apiError.responseBody) }),
          ...(status === undefined ? {} : { status }),
        });
      }
      return new ConnectionError({
        ...base,
        message: `${scope.provider}: connection failed (${redactSecrets(describeErrorChain(error))})`,
      });
    }
    const headers = apiError.responseHeaders;
    const rateLimit = rateLimitFromHeaders(headers, scope.now);
    const requestId = requestIdFromHeaders(headers);
    const mapped = errorFromHttpResponse({
      status,
      ...errorDetail(apiError.responseBody),
      ...(apiError.responseBody === undefined ? {} : { body: apiError.responseBody }),
      ...(headers === undefined ? {} : { headers }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(requestId === undefined ? {} : { requestId }),
      provider: scope.provider,
      model: scope.model,
      cause: error,
      ...(scope.now === undefined ? {} : { now: scope.now }),
    });
    // Gemini says "The input token count (…) exceeds the maximum number of tokens allowed (…)".
    if (mapped.code === 'invalid_request' && googleContextLength.test(mapped.message)) {
      return new ContextLengthError({
        message: mapped.message,
        status,
        provider: scope.provider,
        model: scope.model,
        cause: error,
        ...(mapped.rawBody === undefined ? {} : { rawBody: mapped.rawBody }),
        ...(mapped.requestId === undefined ? {} : { requestId: mapped.requestId }),
      });
    }
    return mapped;
  }
  if (hasMarker(error, 'AI_JSONParseError') || hasMarker(error, 'AI_TypeValidationError')) {
    const text = (error as { text?: unknown; value?: unknown }).text ?? (error as { value?: unknown }).value;
    const raw = typeof text === 'string' ? text : JSON.stringify(text);
    return new InvalidResponseError({
      ...base,
      message: `${scope.provider} returned an invalid response: ${redactSecrets((error as Error).message)}`,
      ...(raw === undefined
        ? {}
        : { rawBody: redactSecrets(raw.length > 4096 ? `${raw.slice(0, 4096)}…` : raw) }),
    });
  }
  if (isConnectionFailure(error)) {
    return new ConnectionError({
      ...base,
      message: `${scope.provider}: connection failed (${redactSecrets(describeErrorChain(error))})`,
    });
  }
  if (!(error instanceof Error)) return fromStreamPayload(error, scope);
  return new BulwarkError('unknown', { ...base, message: redactSecrets(error.message) });
}
