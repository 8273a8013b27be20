import { type BulwarkError, ConnectionError, InvalidResponseError, TimeoutError } from '@bulwark/core';
import { errorFromHttpResponse } from '@bulwark/provider-utils';

/**
 * The provider failures the mock can raise, named after the core error codes (plus `quota`: a 429
 * for a spent billing quota, which is not retryable). Each is built the way a real provider plugin
 * builds it, from a status, headers and an error body, so every flag (`retryable`, `fallbackable`,
 * `retryAfterMs`, `status`, `rawBody`) is what production code sees.
 */
export type MockErrorCode =
  | 'rate_limited'
  | 'quota'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'connection_error'
  | 'authentication'
  | 'permission'
  | 'invalid_request'
  | 'context_length_exceeded'
  | 'content_filtered'
  | 'not_found'
  | 'invalid_response';

export const mockErrorCodes: readonly MockErrorCode[] = [
  'rate_limited',
  'quota',
  'overloaded',
  'server_error',
  'timeout',
  'connection_error',
  'authentication',
  'permission',
  'invalid_request',
  'context_length_exceeded',
  'content_filtered',
  'not_found',
  'invalid_response',
];

const httpShapes: Partial<Record<MockErrorCode, { status: number; type: string; message: string }>> = {
  rate_limited: { status: 429, type: 'rate_limit_exceeded', message: 'Rate limit reached for requests' },
  quota: { status: 429, type: 'insufficient_quota', message: 'You exceeded your current quota' },
  overloaded: { status: 529, type: 'overloaded_error', message: 'Overloaded' },
  server_error: { status: 500, type: 'server_error', message: 'The server had an error' },
  authentication: { status: 401, type: 'invalid_api_key', message: 'Incorrect API key provided' },
  permission: { status: 403, type: 'permission_error', message: 'You may not use this model' },
  invalid_request: { status: 400, type: 'invalid_request_error', message: 'Invalid request' },
  context_length_exceeded: {
    status: 400,
    type: 'context_length_exceeded',
    message: "This model's maximum context length was exceeded",
  },
  content_filtered: {
    status: 400,
    type: 'content_filter',
    message: 'The prompt was flagged by the content filter',
  },
  not_found: { status: 404, type: 'model_not_found', message: 'The model does not exist' },
};

export interface MockErrorInput {
  code: MockErrorCode;
  /** Overrides the status the code maps to (e.g. 503 instead of 500 for `server_error`). */
  status?: number;
  /** Sent as `retry-after-ms`. */
  retryAfterMs?: number;
  /** Sent as `retry-after` verbatim (seconds or an HTTP date). */
  retryAfter?: string;
  /** More response headers of the error (e.g. `x-should-retry`). */
  headers?: Record<string, string>;
  message?: string;
  provider: string;
  model: string;
  now: number;
}

/** Builds the error a real provider plugin would raise for this failure. */
export function createMockError(input: MockErrorInput): BulwarkError {
  const common = { provider: input.provider, model: input.model };
  switch (input.code) {
    case 'timeout':
      return new TimeoutError({
        ...common,
        phase: 'attempt',
        message: input.message ?? `${input.provider} timed out answering`,
      });
    case 'connection_error':
      return new ConnectionError({
        ...common,
        message: input.message ?? `${input.provider}: socket hang up (ECONNRESET)`,
      });
    case 'invalid_response':
      return new InvalidResponseError({
        ...common,
        status: 200,
        rawBody: '{"id":"mock","choices":[{"message":',
        message: input.message ?? `${input.provider} returned a body that is not valid JSON`,
      });
    default: {
      const shape = httpShapes[input.code]!;
      const headers: Record<string, string> = { ...input.headers };
      if (input.retryAfterMs !== undefined) headers['retry-after-ms'] = String(input.retryAfterMs);
      if (input.retryAfter !== undefined) headers['retry-after'] = input.retryAfter;
      const message = input.message ?? shape.message;
      const body = JSON.stringify({ error: { message, type: shape.type, code: shape.type } });
      return errorFromHttpResponse({
        status: input.status ?? shape.status,
        body,
        message,
        errorType: shape.type,
        headers,
        now: input.now,
        ...common,
      });
    }
  }
}
