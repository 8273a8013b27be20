import type { CallContext, ChatRequest, MiddlewareV1 } from '@bulwark/core';
import './cache-events.js';
import { type CacheKeyOptions, computeCacheKey } from './cache-key.js';
import { SingleFlight } from './single-flight.js';

export interface CoalescingOptions extends CacheKeyOptions {
  /**
   * Let calls of different tenants share a flight. Default false: only calls of the same
   * `context.metadata.tenant` coalesce.
   */
  shared?: boolean;
  /**
   * Coalesce only deterministic requests (`temperature: 0` or a `seed`), so that concurrent random
   * samples of one prompt stay distinct. Default false: identical requests coalesce whatever their temperature.
   */
  deterministicOnly?: boolean;
  /** Whether a call may join or lead a flight. Default: every call. */
  when?: (context: CallContext) => boolean;
}

/** The coalescing middleware, with the number of flights in progress. */
export interface CoalescingMiddleware extends MiddlewareV1 {
  readonly stage: 'coalesce';
  /** Shared calls in flight now. */
  inFlight(): number;
}

/**
 * Single flight without a cache (stage `coalesce`): identical calls (same key as the cache uses, same
 * tenant) in flight at the same time make one provider call. The failure of that call reaches every
 * caller; one caller aborting leaves the others' call running; it is aborted when every caller left.
 * `createCache` coalesces by itself (its `coalesce` option), so use this only in pipelines without a cache.
 */
export function createCoalescing(options: CoalescingOptions = {}): CoalescingMiddleware {
  const flights = new SingleFlight();
  const keyOptions: CacheKeyOptions = {};
  if (options.modelKey) keyOptions.modelKey = options.modelKey;
  if (options.exclude) keyOptions.exclude = options.exclude;
  const flightKey = (
    request: Parameters<typeof computeCacheKey>[0],
    context: CallContext,
    stream: boolean,
  ) => {
    const tenant = options.shared ? '' : (context.metadata.tenant ?? '');
    return `${stream ? 's' : 'c'}\n${tenant}\n${computeCacheKey(request, keyOptions, context.wire)}`;
  };
  const report = (context: CallContext, key: string, stream: boolean): void => {
    if (!context.events.has('cache:coalesced')) return;
    const payload: Parameters<typeof context.events.emit<'cache:coalesced'>>[1] = {
      callId: context.callId,
      key: key.slice(key.lastIndexOf('\n') + 1),
      stream,
    };
    if (context.metadata.tenant !== undefined) payload.tenant = context.metadata.tenant;
    context.events.emit('cache:coalesced', payload);
  };
  const skip = (request: ChatRequest, context: CallContext): boolean =>
    (options.deterministicOnly === true && request.temperature !== 0 && request.seed === undefined) ||
    (options.when !== undefined && !options.when(context));
  return {
    specificationVersion: 'v1',
    name: 'coalesce',
    stage: 'coalesce',
    inFlight: () => flights.size,
    complete(request, context, next) {
      if (skip(request, context)) return next(request, context);
      const key = flightKey(request, context, false);
      const flight = flights.complete(key, context, (shared) => next(request, shared));
      if (flight.joined) report(context, key, false);
      return flight.promise;
    },
    async *stream(request, context, next) {
      if (skip(request, context)) {
        yield* next(request, context);
        return;
      }
      const key = flightKey(request, context, true);
      const flight = flights.stream(key, context, (shared) => next(request, shared));
      if (flight.joined) report(context, key, true);
      yield* flight.events;
    },
  };
}
