import type { ToolCall } from '../types/chat-request.js';
import type { FinishReason, Usage } from '../types/chat-response.js';
import { BulwarkError, type BulwarkErrorOptions, hasErrorCode } from './bulwark-error.js';

type Options = Omit<BulwarkErrorOptions, 'message'> & { message?: string };

/** 429 from a provider, a Bulwark limiter rejection (`local`), or a spent quota (`quota`, not retryable). */
export class RateLimitError extends BulwarkError {
  /** `provider`: the provider said 429; `limiter`: Bulwark's own limiter refused; `quota`: billing quota spent. */
  readonly scope: 'provider' | 'limiter' | 'quota';
  constructor(options: Options & { scope?: 'provider' | 'limiter' | 'quota' } = {}) {
    const scope = options.scope ?? (options.local ? 'limiter' : 'provider');
    super('rate_limited', {
      ...options,
      message: options.message ?? 'Rate limited',
      local: options.local ?? scope === 'limiter',
      retryable: options.retryable ?? scope !== 'quota',
    });
    this.name = 'RateLimitError';
    this.scope = scope;
  }
  static override isInstance(error: unknown): error is RateLimitError {
    return hasErrorCode(error, 'rate_limited');
  }
}

/** The provider is over capacity for everyone (Anthropic 529, OpenAI 503 "overloaded"). */
export class OverloadedError extends BulwarkError {
  constructor(options: Options = {}) {
    super('overloaded', { ...options, message: options.message ?? 'Provider overloaded' });
    this.name = 'OverloadedError';
  }
  static override isInstance(error: unknown): error is OverloadedError {
    return hasErrorCode(error, 'overloaded');
  }
}

/** 5xx from a provider. */
export class ServerError extends BulwarkError {
  constructor(options: Options = {}) {
    super('server_error', { ...options, message: options.message ?? 'Provider server error' });
    this.name = 'ServerError';
  }
  static override isInstance(error: unknown): error is ServerError {
    return hasErrorCode(error, 'server_error');
  }
}

/**
 * A timeout. `phase` says which: `first-token` (no response headers or first token in time), `idle`
 * (a stream stalled between chunks), `attempt` (the whole attempt), `total` (the call's deadline; not
 * retryable, as no time is left).
 */
export class TimeoutError extends BulwarkError {
  readonly phase: 'first-token' | 'idle' | 'attempt' | 'total';
  readonly timeoutMs?: number;
  constructor(options: Options & { phase: TimeoutError['phase']; timeoutMs?: number }) {
    super('timeout', {
      ...options,
      message:
        options.message ??
        `Timed out (${options.phase}${options.timeoutMs === undefined ? '' : ` after ${options.timeoutMs} ms`})`,
      retryable: options.retryable ?? options.phase !== 'total',
      fallbackable: options.fallbackable ?? options.phase !== 'total',
    });
    this.name = 'TimeoutError';
    this.phase = options.phase;
    if (options.timeoutMs !== undefined) this.timeoutMs = options.timeoutMs;
  }
  static override isInstance(error: unknown): error is TimeoutError {
    return hasErrorCode(error, 'timeout');
  }
}

/** No usable response: connection refused or reset, DNS, TLS. */
export class ConnectionError extends BulwarkError {
  constructor(options: Options = {}) {
    super('connection_error', { ...options, message: options.message ?? 'Connection to provider failed' });
    this.name = 'ConnectionError';
  }
  static override isInstance(error: unknown): error is ConnectionError {
    return hasErrorCode(error, 'connection_error');
  }
}

/** 401: the key was refused. Another provider may still answer. */
export class AuthenticationError extends BulwarkError {
  constructor(options: Options = {}) {
    super('authentication', { ...options, message: options.message ?? 'Authentication failed' });
    this.name = 'AuthenticationError';
  }
  static override isInstance(error: unknown): error is AuthenticationError {
    return hasErrorCode(error, 'authentication');
  }
}

/** 403: the key may not do this. */
export class PermissionDeniedError extends BulwarkError {
  constructor(options: Options = {}) {
    super('permission', { ...options, message: options.message ?? 'Permission denied' });
    this.name = 'PermissionDeniedError';
  }
  static override isInstance(error: unknown): error is PermissionDeniedError {
    return hasErrorCode(error, 'permission');
  }
}

/** The request is invalid; `field` names the offending field when known (e.g. `messages[2].content[0].type`). */
export class InvalidRequestError extends BulwarkError {
  readonly field?: string;
  constructor(options: Options & { field?: string } = {}) {
    super('invalid_request', { ...options, message: options.message ?? 'Invalid request' });
    this.name = 'InvalidRequestError';
    if (options.field !== undefined) this.field = options.field;
  }
  static override isInstance(error: unknown): error is InvalidRequestError {
    return hasErrorCode(error, 'invalid_request');
  }
}

/** The prompt does not fit the model's context window; a target with a larger window may help. */
export class ContextLengthError extends BulwarkError {
  constructor(options: Options = {}) {
    super('context_length_exceeded', { ...options, message: options.message ?? 'Context length exceeded' });
    this.name = 'ContextLengthError';
  }
  static override isInstance(error: unknown): error is ContextLengthError {
    return hasErrorCode(error, 'context_length_exceeded');
  }
}

/** The provider's content filter refused the prompt or withheld the completion. */
export class ContentFilterError extends BulwarkError {
  constructor(options: Options = {}) {
    super('content_filtered', { ...options, message: options.message ?? 'Content filtered by the provider' });
    this.name = 'ContentFilterError';
  }
  static override isInstance(error: unknown): error is ContentFilterError {
    return hasErrorCode(error, 'content_filtered');
  }
}

/** 404: unknown model or endpoint on this provider, or an unknown model alias. */
export class NotFoundError extends BulwarkError {
  constructor(options: Options = {}) {
    super('not_found', { ...options, message: options.message ?? 'Not found' });
    this.name = 'NotFoundError';
  }
  static override isInstance(error: unknown): error is NotFoundError {
    return hasErrorCode(error, 'not_found');
  }
}

/** The caller aborted. Never retried, never falls back, never counts against a provider. */
export class AbortedError extends BulwarkError {
  constructor(options: Options = {}) {
    super('aborted', { ...options, message: options.message ?? 'The call was aborted', local: true });
    this.name = 'AbortedError';
  }
  static override isInstance(error: unknown): error is AbortedError {
    return hasErrorCode(error, 'aborted');
  }
}

/** The provider answered with something that is not what its API documents (bad JSON, missing fields). */
export class InvalidResponseError extends BulwarkError {
  constructor(options: Options = {}) {
    super('invalid_response', {
      ...options,
      message: options.message ?? 'Provider returned an invalid response',
    });
    this.name = 'InvalidResponseError';
  }
  static override isInstance(error: unknown): error is InvalidResponseError {
    return hasErrorCode(error, 'invalid_response');
  }
}

/** What a stream had delivered when it broke. */
export interface PartialOutput {
  text: string;
  toolCalls: ToolCall[];
  usage?: Usage;
  finishReason?: FinishReason;
}

/**
 * A stream failed after output reached the caller. Not retried (the caller saw output); `partial` holds
 * what was delivered and `cause` the underlying error.
 */
export class StreamInterruptedError extends BulwarkError {
  readonly partial: PartialOutput;
  constructor(options: Options & { partial: PartialOutput }) {
    super('stream_interrupted', {
      ...options,
      message: options.message ?? 'The stream was interrupted after output was sent',
      usage: options.usage ?? options.partial.usage,
    });
    this.name = 'StreamInterruptedError';
    this.partial = options.partial;
  }
  static override isInstance(error: unknown): error is StreamInterruptedError {
    return hasErrorCode(error, 'stream_interrupted');
  }
}

/** The target's circuit breaker is open: failed fast with no I/O. The router moves to the next target. */
export class BreakerOpenError extends BulwarkError {
  constructor(options: Options = {}) {
    super('breaker_open', { ...options, message: options.message ?? 'Circuit breaker is open', local: true });
    this.name = 'BreakerOpenError';
  }
  static override isInstance(error: unknown): error is BreakerOpenError {
    return hasErrorCode(error, 'breaker_open');
  }
}

/** A hard budget would be exceeded. Raised before any provider call. */
export class BudgetExceededError extends BulwarkError {
  readonly budget: string;
  constructor(options: Options & { budget: string }) {
    super('budget_exceeded', {
      ...options,
      message: options.message ?? `Budget "${options.budget}" exceeded`,
      local: true,
    });
    this.name = 'BudgetExceededError';
    this.budget = options.budget;
  }
  static override isInstance(error: unknown): error is BudgetExceededError {
    return hasErrorCode(error, 'budget_exceeded');
  }
}

/** A configuration value is wrong. `path` is where (e.g. `providers.main.baseURL`). */
export class ConfigError extends BulwarkError {
  readonly path: string;
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(
    options: Options & { path: string; issues?: ReadonlyArray<{ path: string; message: string }> },
  ) {
    super('configuration', {
      ...options,
      message: options.message ?? `Invalid configuration at ${options.path}`,
    });
    this.name = 'ConfigError';
    this.path = options.path;
    this.issues = options.issues ?? [{ path: options.path, message: this.message }];
  }
  static override isInstance(error: unknown): error is ConfigError {
    return hasErrorCode(error, 'configuration');
  }
}

/** A plugin was asked for that is not registered or whose package is not installed. */
export class PluginNotFoundError extends BulwarkError {
  readonly packageName?: string;
  constructor(options: Options & { packageName?: string }) {
    super('plugin_not_found', { ...options, message: options.message ?? 'Plugin not found' });
    this.name = 'PluginNotFoundError';
    if (options.packageName !== undefined) this.packageName = options.packageName;
  }
  static override isInstance(error: unknown): error is PluginNotFoundError {
    return hasErrorCode(error, 'plugin_not_found');
  }
}

/** A middleware broke the composition contract (for example called `next()` twice without declaring it). */
export class MiddlewareError extends BulwarkError {
  constructor(options: Options = {}) {
    super('middleware', { ...options, message: options.message ?? 'Middleware contract violated' });
    this.name = 'MiddlewareError';
  }
  static override isInstance(error: unknown): error is MiddlewareError {
    return hasErrorCode(error, 'middleware');
  }
}
