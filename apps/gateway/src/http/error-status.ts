import type { BulwarkError } from '@bulwark/core';

/**
 * The HTTP status the gateway answers for an error. Errors the gateway raised itself (`local`)
 * keep their status (401 bad key, 408 body too slow, 413 body too large); upstream failures become 502/503/504, since
 * a provider refusing the gateway's own credentials is not the caller's fault. The rule is the same
 * for every provider: an upstream 503 (or an overloaded provider, Anthropic 529) is a 503, so the
 * caller backs off; an upstream 504 stays 504; any other upstream 5xx is a 502.
 */
export function httpStatusFor(error: BulwarkError): number {
  switch (error.code) {
    case 'invalid_request':
      return error.status === 413 || error.status === 408 ? error.status : 400;
    case 'context_length_exceeded':
    case 'content_filtered':
      return 400;
    case 'authentication':
      return error.local ? 401 : 502;
    case 'permission':
      return error.local ? 403 : 502;
    case 'not_found':
      return 404;
    case 'rate_limited':
      return 429;
    case 'budget_exceeded':
      return 402;
    case 'timeout':
      return 504;
    case 'overloaded':
    case 'breaker_open':
      return 503;
    case 'server_error':
      return error.status === 503 || error.status === 504 ? error.status : 502;
    case 'aborted':
      return 499;
    case 'configuration':
    case 'plugin_not_found':
    case 'middleware':
      return 500;
    default:
      return 502;
  }
}
