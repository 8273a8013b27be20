import type { AttemptRecord, Usage } from '../types/chat-response.js';

const marker = Symbol.for('bulwark.error');

/**
 * Every error Bulwark raises has one of these codes. Plugins map provider failures into them, so retry,
 * breaker, router and limiter decide on the code and flags alone and never re-parse SDK errors.
 */
export type BulwarkErrorCode =
  | 'rate_limited'
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
  | 'aborted'
  | 'invalid_response'
  | 'stream_interrupted'
  | 'breaker_open'
  | 'budget_exceeded'
  | 'configuration'
  | 'plugin_not_found'
  | 'middleware'
  | 'unknown';

export interface BulwarkErrorOptions {
  message: string;
  cause?: unknown;
  /** Overrides the code's default: may the same target succeed if asked again? */
  retryable?: boolean;
  /** Overrides the code's default: may another target succeed? */
  fallbackable?: boolean;
  /** HTTP status the provider answered with. */
  status?: number;
  /** The provider's request id. */
  requestId?: string;
  /** Configured provider name. */
  provider?: string;
  model?: string;
  /** The provider's response body, with secrets removed. */
  rawBody?: string;
  /** How long the provider (or a Bulwark component) asked the caller to wait. */
  retryAfterMs?: number;
  /** Raised by Bulwark itself (breaker, limiter, budget), not by a provider: says nothing about its health. */
  local?: boolean;
  /** Tokens a failed attempt consumed, when the provider reported them. */
  usage?: Usage;
}

/** The default flags of each code. */
const defaults: Record<BulwarkErrorCode, { retryable: boolean; fallbackable: boolean }> = {
  rate_limited: { retryable: true, fallbackable: true },
  overloaded: { retryable: true, fallbackable: true },
  server_error: { retryable: true, fallbackable: true },
  timeout: { retryable: true, fallbackable: true },
  connection_error: { retryable: true, fallbackable: true },
  invalid_response: { retryable: true, fallbackable: true },
  authentication: { retryable: false, fallbackable: true },
  permission: { retryable: false, fallbackable: true },
  not_found: { retryable: false, fallbackable: true },
  context_length_exceeded: { retryable: false, fallbackable: true },
  content_filtered: { retryable: false, fallbackable: true },
  breaker_open: { retryable: false, fallbackable: true },
  invalid_request: { retryable: false, fallbackable: false },
  aborted: { retryable: false, fallbackable: false },
  stream_interrupted: { retryable: false, fallbackable: false },
  budget_exceeded: { retryable: false, fallbackable: false },
  configuration: { retryable: false, fallbackable: false },
  plugin_not_found: { retryable: false, fallbackable: false },
  middleware: { retryable: false, fallbackable: false },
  unknown: { retryable: false, fallbackable: false },
};

/**
 * Base of every Bulwark error. Recognise one with `BulwarkError.isInstance(error)` (or a subclass's
 * `isInstance`): it works across two installed copies of `@bulwark/core`, where `instanceof` does not.
 */
export class BulwarkError extends Error {
  /** Brand checked by `isInstance`; a registered symbol, so it is the same in every copy of core. */
  readonly [marker] = true;
  readonly code: BulwarkErrorCode;
  readonly retryable: boolean;
  readonly fallbackable: boolean;
  readonly status?: number;
  readonly requestId?: string;
  provider?: string;
  model?: string;
  readonly rawBody?: string;
  readonly retryAfterMs?: number;
  readonly local: boolean;
  usage?: Usage;
  /** The attempt trail of the call, attached by the router when the call fails. */
  attempts?: AttemptRecord[];

  constructor(code: BulwarkErrorCode, options: BulwarkErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BulwarkError';
    this.code = code;
    this.retryable = options.retryable ?? defaults[code].retryable;
    this.fallbackable = options.fallbackable ?? defaults[code].fallbackable;
    this.local = options.local ?? false;
    if (options.status !== undefined) this.status = options.status;
    if (options.requestId !== undefined) this.requestId = options.requestId;
    if (options.provider !== undefined) this.provider = options.provider;
    if (options.model !== undefined) this.model = options.model;
    if (options.rawBody !== undefined) this.rawBody = options.rawBody;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.usage !== undefined) this.usage = options.usage;
  }

  static isInstance(error: unknown): error is BulwarkError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /** A plain object for logs and HTTP error bodies: no stack, no cause chain, no secrets. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      fallbackable: this.fallbackable,
      status: this.status,
      provider: this.provider,
      model: this.model,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

/** True when `error` is a Bulwark error with `code` (works across copies of core). */
export function hasErrorCode<C extends BulwarkErrorCode>(
  error: unknown,
  code: C,
): error is BulwarkError & { code: C } {
  return BulwarkError.isInstance(error) && error.code === code;
}
