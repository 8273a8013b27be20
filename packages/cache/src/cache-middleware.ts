import type {
  CacheBackendV1,
  CacheStatus,
  CallContext,
  ChatRequest,
  ChatResponse,
  CompleteHandler,
  FinishReason,
  MiddlewareV1,
  StreamEvent,
} from '@bulwark/core';
import { abortable, ConfigError, InvalidRequestError, StreamAccumulator } from '@bulwark/core';
import './cache-events.js';
import { type CacheKeyOptions, computeCacheKey } from './cache-key.js';
import {
  type CachedEntry,
  CorruptEntryError,
  decodeEntry,
  encodeEntry,
  entryToEvents,
} from './cached-entry.js';
import { SingleFlight } from './single-flight.js';

/** What may be cached for a model or alias. Every field falls back to the cache-wide policy. */
export interface CachePolicy {
  /** Cache this model at all. Default true. */
  enabled?: boolean;
  /** How long stored answers live. Default: the cache's `ttlSeconds`. */
  ttlSeconds?: number;
  /**
   * Cache only deterministic requests: `temperature: 0` or a `seed`. An omitted temperature counts as
   * non-deterministic (providers default to 1). Default false: the cache serves whatever it stored.
   */
  deterministicOnly?: boolean;
  /**
   * Finish reasons whose answers may be stored. Default `['stop', 'tool_calls']`: answers cut by
   * `maxTokens` (`length`), withheld by a content filter or ending for an unknown reason are not stored.
   */
  storeFinishReasons?: readonly FinishReason[];
}

export interface CacheOptions extends CacheKeyOptions {
  /** Where entries live (`createMemoryCache()`, `createRedisCache()` or any `CacheBackendV1`). */
  backend: CacheBackendV1;
  /** Default lifetime of a stored answer in seconds. Default 3600. */
  ttlSeconds?: number;
  /**
   * One namespace for every tenant. Default false: each `context.metadata.tenant` gets its own
   * namespace (calls without a tenant share the `anonymous` one), so tenants never see each other's answers.
   */
  shared?: boolean;
  /** Derives the namespace from the call yourself (overrides `shared`). */
  namespace?: (context: CallContext) => string;
  /** Identical calls in flight at the same time make one provider call (single flight). Default true. */
  coalesce?: boolean;
  /** The cache-wide policy. */
  policy?: CachePolicy;
  /** Policies by the model name callers use (alias or provider model), over the cache-wide one. */
  models?: Record<string, CachePolicy>;
  /** Answers larger than this (bytes, serialized) are not stored. Default 4 MiB. */
  maxEntryBytes?: number;
}

/** Characters of output an event adds to the answer (an entry holds at least as many bytes). */
function outputCharacters(event: StreamEvent): number {
  if (event.type === 'text-delta') return event.text.length;
  if (event.type === 'tool-call-delta') return event.argumentsDelta.length;
  // Other output events (reasoning, raw wire frames) count by their text fields.
  const fields = event as { text?: unknown; data?: unknown; redacted?: unknown };
  let total = 0;
  for (const value of [fields.text, fields.data, fields.redacted])
    if (typeof value === 'string') total += value.length;
  return total;
}

/** Counters since the cache was created. Hit ratio is `hits / (hits + misses)`. */
export interface CacheStats {
  hits: number;
  misses: number;
  bypasses: number;
  /** Calls that joined an identical call in flight instead of calling the provider. */
  coalesced: number;
  stores: number;
  /** Answers not stored (policy, finish reason, size, unserializable, backend failure). */
  skippedStores: number;
  /** Serialized bytes served from the cache (what the provider did not have to send again). */
  bytesServed: number;
  /** Backend failures and corrupt entries (each counted as a miss or a dropped write). */
  errors: number;
}

/** The cache middleware, with counters and maintenance. */
export interface CacheMiddleware extends MiddlewareV1 {
  readonly stage: 'cache';
  readonly backend: CacheBackendV1;
  stats(): CacheStats;
  /** Waits for writes still in progress (stores are not awaited on the call path). */
  flush(): Promise<void>;
  /** Removes every entry of one tenant's namespace (or the shared one). */
  clear(tenant?: string): Promise<void>;
  /** The key a request gets (for debugging and tests). */
  keyOf(request: ChatRequest): string;
}

interface Plan {
  /** False when the policy keeps this request out of the cache: it then neither coalesces. */
  cacheable: boolean;
  namespace: string;
  key: string;
  lookup: boolean;
  store: boolean;
  ttlMs: number;
  storeFinishReasons: readonly FinishReason[];
  reason?: string;
}

const defaultFinishReasons: readonly FinishReason[] = ['stop', 'tool_calls'];

/**
 * The longest TTL the cache accepts: 365 days. Backends keep expiry times in milliseconds (Redis
 * refuses a `PX` past its range; a timer past 2^31 ms fires at once), and no answer stays right longer.
 */
export const maxTtlSeconds = 365 * 24 * 60 * 60;

const validTtl = (value: number): boolean => Number.isFinite(value) && value > 0 && value <= maxTtlSeconds;

function checkTtl(value: number | undefined, path: string): void {
  if (value !== undefined && !validTtl(value)) {
    throw new ConfigError({
      path,
      message: `${path} must be a positive number of seconds, at most ${maxTtlSeconds} (365 days) (got ${String(value)})`,
    });
  }
}

/**
 * The response cache: the outermost call-level middleware (stage `cache`). A hit returns at once and
 * never reaches budget, router, retry, breaker or limiter; a miss calls through and stores the answer
 * when it is complete and the policy allows. Streamed answers are stored when they finish and replayed
 * as streams. Identical concurrent misses coalesce into one provider call.
 *
 * ```ts
 * const cache = createCache({ backend: createMemoryCache({ maxBytes: 64 * 1024 * 1024 }) });
 * const bulwark = createBulwark({ providers: [openai], middleware: [cache] });
 * ```
 */
export function createCache(options: CacheOptions): CacheMiddleware {
  const backend = options.backend;
  if (backend?.specificationVersion !== 'v1') {
    throw new ConfigError({
      path: 'backend',
      message: 'backend must be a v1 cache backend (CacheBackendV1)',
    });
  }
  checkTtl(options.ttlSeconds, 'ttlSeconds');
  checkTtl(options.policy?.ttlSeconds, 'policy.ttlSeconds');
  for (const [model, policy] of Object.entries(options.models ?? {})) {
    checkTtl(policy.ttlSeconds, `models.${model}.ttlSeconds`);
  }
  if (
    options.maxEntryBytes !== undefined &&
    !(Number.isInteger(options.maxEntryBytes) && options.maxEntryBytes > 0)
  ) {
    throw new ConfigError({
      path: 'maxEntryBytes',
      message: `maxEntryBytes must be a positive integer (got ${String(options.maxEntryBytes)})`,
    });
  }
  const ttlSeconds = options.ttlSeconds ?? 3600;
  const maxEntryBytes = options.maxEntryBytes ?? 4 * 1024 * 1024;
  const coalesce = options.coalesce ?? true;
  const flights = new SingleFlight();
  const pending = new Set<Promise<void>>();
  const keyOptions: CacheKeyOptions = {};
  if (options.modelKey) keyOptions.modelKey = options.modelKey;
  if (options.exclude) keyOptions.exclude = options.exclude;
  const stats: CacheStats = {
    hits: 0,
    misses: 0,
    bypasses: 0,
    coalesced: 0,
    stores: 0,
    skippedStores: 0,
    bytesServed: 0,
    errors: 0,
  };

  const namespaceOf = (context: CallContext): string => {
    if (options.namespace) return options.namespace(context);
    if (options.shared) return 'shared';
    const tenant = context.metadata.tenant;
    return tenant === undefined ? 'anonymous' : `tenant:${tenant}`;
  };

  const policyFor = (model: string): CachePolicy => {
    const specific = options.models?.[model];
    return specific ? { ...options.policy, ...specific } : (options.policy ?? {});
  };

  const plan = (request: ChatRequest, context: CallContext): Plan => {
    const policy = policyFor(request.model);
    const control = context.cacheControl;
    const overrideTtl = control?.ttlSeconds;
    if (overrideTtl !== undefined && !validTtl(overrideTtl)) {
      throw new InvalidRequestError({
        field: 'cache.ttlSeconds',
        message: `Invalid request: cache.ttlSeconds must be a positive number of seconds, at most ${maxTtlSeconds} (got ${String(overrideTtl)})`,
      });
    }
    const ttl = overrideTtl ?? policy.ttlSeconds ?? ttlSeconds;
    const result: Plan = {
      cacheable: true,
      namespace: namespaceOf(context),
      key: '',
      lookup: control?.noCache !== true,
      store: control?.noStore !== true,
      ttlMs: Math.round(ttl * 1000),
      storeFinishReasons: policy.storeFinishReasons ?? defaultFinishReasons,
    };
    if (policy.enabled === false) {
      result.lookup = false;
      result.store = false;
      result.cacheable = false;
      result.reason = 'disabled for this model';
    } else if (policy.deterministicOnly && request.temperature !== 0 && request.seed === undefined) {
      result.lookup = false;
      result.store = false;
      result.cacheable = false;
      result.reason = 'non-deterministic request (temperature not 0 and no seed)';
    } else if (!result.lookup) {
      result.reason = 'no-cache';
    } else if (!result.store) {
      result.reason = 'no-store';
    }
    if (result.cacheable) {
      try {
        result.key = computeCacheKey(request, keyOptions, context.wire);
      } catch (error) {
        result.lookup = false;
        result.store = false;
        result.cacheable = false;
        result.reason = `request cannot be keyed: ${(error as Error).message}`;
      }
    }
    return result;
  };

  const reportError = (context: CallContext, operation: string, error: unknown): void => {
    stats.errors += 1;
    if (context.events.has('cache:error')) {
      context.events.emit('cache:error', {
        operation: `${backend.name}:${operation}`,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  const lookupEvent = (context: CallContext, status: CacheStatus, step: Plan, bytes?: number): void => {
    if (status === 'hit') stats.hits += 1;
    else if (status === 'miss') stats.misses += 1;
    else stats.bypasses += 1;
    if (!context.events.has('cache:lookup')) return;
    const payload: Parameters<typeof context.events.emit<'cache:lookup'>>[1] = {
      callId: context.callId,
      status,
    };
    if (step.key !== '') payload.key = step.key;
    if (context.metadata.tenant !== undefined) payload.tenant = context.metadata.tenant;
    if (bytes !== undefined) payload.bytes = bytes;
    if (step.reason !== undefined && status !== 'hit') payload.reason = step.reason;
    context.events.emit('cache:lookup', payload);
  };

  const storeEvent = (context: CallContext, stored: boolean, reason?: string, bytes?: number): void => {
    if (stored) stats.stores += 1;
    else stats.skippedStores += 1;
    if (!context.events.has('cache:store')) return;
    const payload: Parameters<typeof context.events.emit<'cache:store'>>[1] = {
      callId: context.callId,
      stored,
    };
    if (context.metadata.tenant !== undefined) payload.tenant = context.metadata.tenant;
    if (bytes !== undefined) payload.bytes = bytes;
    if (reason !== undefined) payload.reason = reason;
    context.events.emit('cache:store', payload);
  };

  const read = async (
    step: Plan,
    context: CallContext,
  ): Promise<{ entry: CachedEntry; bytes: number } | undefined> => {
    let bytes: Uint8Array | undefined;
    try {
      const pendingGet = backend.get(step.namespace, step.key);
      // A backend lookup that hangs must not hold a caller who has left.
      bytes = pendingGet instanceof Promise ? await abortable(pendingGet, context.signal) : pendingGet;
    } catch (error) {
      if (context.signal.aborted) throw error;
      reportError(context, 'get', error);
      return undefined;
    }
    if (!bytes) return undefined;
    try {
      return { entry: decodeEntry(bytes), bytes: bytes.byteLength };
    } catch (error) {
      reportError(
        context,
        'decode',
        error instanceof CorruptEntryError ? error : new CorruptEntryError(String(error)),
      );
      track(
        (async () => {
          try {
            await backend.delete(step.namespace, step.key);
          } catch (deleteError) {
            reportError(context, 'delete', deleteError);
          }
        })(),
      );
      return undefined;
    }
  };

  const track = (work: Promise<void>): void => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const write = (step: Plan, context: CallContext, response: ChatResponse, deltas?: number[]): void => {
    if (!step.storeFinishReasons.includes(response.finishReason)) {
      storeEvent(context, false, `finish reason ${response.finishReason}`);
      return;
    }
    let bytes: Uint8Array;
    try {
      const entry: CachedEntry = { response, storedAt: context.clock.now() };
      if (deltas) entry.deltas = deltas;
      bytes = encodeEntry(entry);
    } catch (error) {
      storeEvent(context, false, `unserializable response: ${(error as Error).message}`);
      return;
    }
    if (bytes.byteLength > maxEntryBytes) {
      storeEvent(context, false, `entry of ${bytes.byteLength} bytes exceeds maxEntryBytes ${maxEntryBytes}`);
      return;
    }
    track(
      (async () => {
        try {
          await backend.set(step.namespace, step.key, bytes, step.ttlMs);
          storeEvent(context, true, undefined, bytes.byteLength);
        } catch (error) {
          reportError(context, 'set', error);
          storeEvent(context, false, `backend failed: ${(error as Error).message}`);
        }
      })(),
    );
  };

  const fetchComplete = async (
    step: Plan,
    request: ChatRequest,
    context: CallContext,
    next: CompleteHandler,
  ): Promise<ChatResponse> => {
    const response = await next(request, context);
    // An inner cache layer (semantic) answered: storing its near match under this exact key would cement it.
    if (step.store && response.cache !== 'hit') write(step, context, response);
    return response;
  };

  async function* recordStream(
    step: Plan,
    events: AsyncIterable<StreamEvent>,
    context: CallContext,
  ): AsyncGenerator<StreamEvent> {
    if (!step.store) {
      yield* events;
      return;
    }
    let accumulator: StreamAccumulator | undefined = new StreamAccumulator();
    let deltas: number[] = [];
    let characters = 0;
    // An inner cache layer answered when its start event says `hit`: that stream is not stored here.
    let innerHit = false;
    for await (const event of events) {
      if (event.type === 'start' && event.cache === 'hit') innerHit = true;
      if (!innerHit && accumulator) {
        accumulator.add(event);
        if (event.type === 'text-delta' && event.text.length > 0) deltas.push(event.text.length);
        characters += outputCharacters(event);
        if (characters > maxEntryBytes) {
          // It can no longer fit an entry: stop holding a copy of a long answer for the whole stream.
          accumulator = undefined;
          deltas = [];
          storeEvent(context, false, `streamed answer exceeds maxEntryBytes ${maxEntryBytes}`);
        }
        // Stored on `finish`, before handing it on: a consumer that stops right after it still fills the cache.
        else if (event.type === 'finish') write(step, context, accumulator.toResponse(), deltas);
      }
      yield event;
    }
  }

  const withStatus = (event: StreamEvent, status: CacheStatus): StreamEvent =>
    event.type === 'start' && event.cache !== 'hit' ? { ...event, cache: status } : event;

  const middleware: CacheMiddleware = {
    specificationVersion: 'v1',
    name: 'cache',
    stage: 'cache',
    backend,

    async complete(request, context, next) {
      const step = plan(request, context);
      if (step.lookup) {
        const found = await read(step, context);
        if (found) {
          stats.bytesServed += found.bytes;
          lookupEvent(context, 'hit', step, found.bytes);
          return { ...found.entry.response, cache: 'hit' };
        }
      }
      const status: CacheStatus = step.lookup && step.store ? 'miss' : 'bypass';
      lookupEvent(context, status, step);
      let response: ChatResponse;
      // Concurrent random samples are wanted distinct: only what the policy lets into the cache coalesces.
      if (coalesce && step.cacheable) {
        const flight = flights.complete(`${step.namespace}\n${step.key}`, context, (shared) =>
          fetchComplete(step, request, shared, next),
        );
        if (flight.joined) coalescedEvent(context, step, false);
        response = await flight.promise;
      } else {
        response = await fetchComplete(step, request, context, next);
      }
      if (response.cache !== 'hit') response.cache = status;
      return response;
    },

    async *stream(request, context, next) {
      const step = plan(request, context);
      if (step.lookup) {
        const found = await read(step, context);
        if (found) {
          stats.bytesServed += found.bytes;
          lookupEvent(context, 'hit', step, found.bytes);
          yield* entryToEvents(found.entry, { ...found.entry.response, cache: 'hit' });
          return;
        }
      }
      const status: CacheStatus = step.lookup && step.store ? 'miss' : 'bypass';
      lookupEvent(context, status, step);
      let events: AsyncIterable<StreamEvent>;
      // Concurrent random samples are wanted distinct: only what the policy lets into the cache coalesces.
      if (coalesce && step.cacheable) {
        const flight = flights.stream(`${step.namespace}\n${step.key}`, context, (shared) =>
          recordStream(step, next(request, shared), shared),
        );
        if (flight.joined) coalescedEvent(context, step, true);
        events = flight.events;
      } else {
        events = recordStream(step, next(request, context), context);
      }
      for await (const event of events) yield withStatus(event, status);
    },

    stats: () => ({ ...stats }),
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async clear(tenant) {
      await backend.clear(
        options.shared ? 'shared' : tenant === undefined ? 'anonymous' : `tenant:${tenant}`,
      );
    },
    keyOf: (request) => computeCacheKey(request, keyOptions),
  };

  const coalescedEvent = (context: CallContext, step: Plan, stream: boolean): void => {
    stats.coalesced += 1;
    if (!context.events.has('cache:coalesced')) return;
    const payload: Parameters<typeof context.events.emit<'cache:coalesced'>>[1] = {
      callId: context.callId,
      key: step.key,
      stream,
    };
    if (context.metadata.tenant !== undefined) payload.tenant = context.metadata.tenant;
    context.events.emit('cache:coalesced', payload);
  };

  return middleware;
}
