import { BulwarkError, type BulwarkErrorCode } from './bulwark-error.js';
import { AbortedError } from './errors.js';

const healthCodes = new Set<BulwarkErrorCode>([
  'server_error',
  'overloaded',
  'timeout',
  'connection_error',
  'invalid_response',
]);

/**
 * Does this failure say something about the target's health? Provider 5xx, overload, timeouts,
 * connection errors and garbage responses do; rate limits do when `countRateLimits` is set. Caller
 * aborts, invalid requests and anything Bulwark raised itself (breaker, limiter, budget) never do.
 */
export function isHealthFailure(error: unknown, options: { countRateLimits?: boolean } = {}): boolean {
  if (!BulwarkError.isInstance(error) || error.local) return false;
  if (error.code === 'timeout' && (error as { phase?: string }).phase === 'total') return false;
  if (error.code === 'rate_limited') return options.countRateLimits ?? true;
  return healthCodes.has(error.code);
}

/** Turns anything thrown into a Bulwark error, keeping the original as `cause`. */
export function toBulwarkError(error: unknown, signal?: AbortSignal): BulwarkError {
  if (BulwarkError.isInstance(error)) return error;
  if (signal?.aborted || (error instanceof Error && error.name === 'AbortError')) {
    return new AbortedError({ cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BulwarkError('unknown', { message, cause: error });
}
