import {
  type CacheKeyOptions,
  computeCacheKey,
  decodeEntry,
  encodeEntry,
  entryToEvents,
} from '@bulwark/cache';
import {
  type CallContext,
  type CallEventBase,
  type ChatRequest,
  type ChatResponse,
  ConfigError,
  type FinishReason,
  type MiddlewareV1,
  StreamAccumulator,
  type StreamEvent,
} from '@bulwark/core';
import type { EmbeddingFunction } from './embedding-function.js';
import { sameNegation } from './negation-guard.js';
import { createMemoryVectorIndex, normalize, type VectorIndexV1 } from './vector-index.js';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** The semantic layer compared a message: the best score found and whether it served it. */
    'cache:semantic': CallEventBase & { hit: boolean; score?: number; threshold: number; reason?: string };
  }
}

export interface SemanticCacheOptions extends CacheKeyOptions {
  /** Turns the compared message into a vector (`createProviderEmbeddings(openai, { model })` or your own). */
  embed: EmbeddingFunction;
  /** Where vectors and answers live. Default: `createMemoryVectorIndex()`. */
  index?: VectorIndexV1;
  /**
   * Smallest cosine similarity that counts as the same question. Default 0.95. Lower values serve more
   * hits and more wrong answers; embeddings of unrelated texts often score 0.6 or more.
   */
  threshold?: number;
  /** Lifetime of stored answers in seconds. Default 3600. */
  ttlSeconds?: number;
  /** One namespace for every tenant. Default false: namespaces follow `context.metadata.tenant`. */
  shared?: boolean;
  /**
   * Last check of a near match: both messages are given, return false to refuse it. Default
   * `sameNegation` (refuses "not X" for "X"). Pass `() => true` to switch it off.
   */
  guard?: (query: string, candidate: string) => boolean;
  /** Only requests with `temperature: 0` or a `seed` take part. Default true. */
  deterministicOnly?: boolean;
  /** Finish reasons whose answers are stored. Default `['stop', 'tool_calls']`. */
  storeFinishReasons?: readonly FinishReason[];
  /** Messages longer than this (characters) are not compared. Default 8000. */
  maxMessageChars?: number;
}

/** The semantic cache middleware. */
export interface SemanticCacheMiddleware extends MiddlewareV1 {
  readonly stage: 'cache';
  readonly index: VectorIndexV1;
  /** Waits for stores still in progress. */
  flush(): Promise<void>;
}

interface Plan {
  partition: string;
  text: string;
  lookup: boolean;
  store: boolean;
}

const defaultFinishReasons: readonly FinishReason[] = ['stop', 'tool_calls'];
const comparedPlaceholder = '\u0000compared';

/** The text of the last message when it is a user message made only of text; undefined otherwise. */
function lastUserText(request: ChatRequest): string | undefined {
  const last = request.messages.at(-1);
  if (last?.role !== 'user') return undefined;
  if (typeof last.content === 'string') return last.content;
  let text = '';
  for (const part of last.content) {
    if (part.type !== 'text') return undefined;
    text += part.text;
  }
  return text;
}

/**
 * An optional cache layer for near-duplicate prompts (stage `cache`; put it after the exact cache).
 * Only the last user message is compared by embedding similarity; everything else (model, parameters,
 * tools, system prompt, earlier messages, tenant) must match exactly. Off unless you add it.
 *
 * Risks: embeddings place a question and its negation, or two questions that differ in one name or
 * number, close together, so a near match can be the answer to a different question. Keep the
 * threshold high, keep the guard, and use it only where a slightly wrong answer is acceptable.
 */
export function createSemanticCache(options: SemanticCacheOptions): SemanticCacheMiddleware {
  if (typeof options.embed !== 'function') {
    throw new ConfigError({ path: 'embed', message: 'embed must be an embedding function' });
  }
  const threshold = options.threshold ?? 0.95;
  if (!(threshold > 0 && threshold <= 1)) {
    throw new ConfigError({
      path: 'threshold',
      message: `threshold must be in (0, 1] (got ${String(threshold)})`,
    });
  }
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!(ttlSeconds > 0)) {
    throw new ConfigError({
      path: 'ttlSeconds',
      message: `ttlSeconds must be positive (got ${String(ttlSeconds)})`,
    });
  }
  const index = options.index ?? createMemoryVectorIndex();
  const guard = options.guard ?? sameNegation;
  const deterministicOnly = options.deterministicOnly ?? true;
  const storeFinishReasons = options.storeFinishReasons ?? defaultFinishReasons;
  const maxChars = options.maxMessageChars ?? 8000;
  const keyOptions: CacheKeyOptions = {};
  if (options.modelKey) keyOptions.modelKey = options.modelKey;
  if (options.exclude) keyOptions.exclude = options.exclude;
  const pending = new Set<Promise<void>>();

  const namespaceOf = (context: CallContext): string =>
    options.shared
      ? 'shared'
      : context.metadata.tenant === undefined
        ? 'anonymous'
        : `tenant:${context.metadata.tenant}`;

  const plan = (request: ChatRequest, context: CallContext): Plan | string => {
    const control = context.cacheControl;
    if (control?.noCache && control.noStore) return 'no-cache and no-store';
    if (deterministicOnly && request.temperature !== 0 && request.seed === undefined) {
      return 'non-deterministic request (temperature not 0 and no seed)';
    }
    const text = lastUserText(request);
    if (text === undefined) return 'last message is not a text-only user message';
    if (text.length > maxChars) return `last message longer than ${maxChars} characters`;
    const last = request.messages.at(-1)!;
    const rest: ChatRequest = {
      ...request,
      messages: [...request.messages.slice(0, -1), { ...last, content: comparedPlaceholder }],
    };
    return {
      partition: `${namespaceOf(context)}\n${computeCacheKey(rest, keyOptions)}`,
      text,
      lookup: control?.noCache !== true,
      store: control?.noStore !== true,
    };
  };

  const report = (context: CallContext, hit: boolean, score?: number, reason?: string): void => {
    if (!context.events.has('cache:semantic')) return;
    const payload: Parameters<typeof context.events.emit<'cache:semantic'>>[1] = {
      callId: context.callId,
      hit,
      threshold,
    };
    if (context.metadata.tenant !== undefined) payload.tenant = context.metadata.tenant;
    if (score !== undefined) payload.score = score;
    if (reason !== undefined) payload.reason = reason;
    context.events.emit('cache:semantic', payload);
  };

  const reportError = (context: CallContext, operation: string, error: unknown): void => {
    if (context.events.has('cache:error')) {
      context.events.emit('cache:error', {
        operation: `semantic:${operation}`,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  const embedOne = async (text: string, context: CallContext): Promise<Float32Array | undefined> => {
    try {
      const [vector] = await options.embed([text], context);
      if (!vector || vector.length === 0) throw new Error('the embedding function returned no vector');
      return normalize(vector);
    } catch (error) {
      if (context.signal.aborted) throw error;
      reportError(context, 'embed', error);
      return undefined;
    }
  };

  /** Looks up a near match; returns the cached response, or undefined (with the vector for a later store). */
  const lookup = async (
    step: Plan,
    context: CallContext,
  ): Promise<{ hit?: ChatResponse; events?: Iterable<StreamEvent>; vector?: Float32Array }> => {
    const vector = await embedOne(step.text, context);
    if (!vector) return {};
    if (!step.lookup) return { vector };
    let match: Awaited<ReturnType<VectorIndexV1['search']>>;
    try {
      match = await index.search(step.partition, vector, threshold);
    } catch (error) {
      reportError(context, 'search', error);
      return { vector };
    }
    if (!match) {
      report(context, false);
      return { vector };
    }
    if (!guard(step.text, match.text)) {
      report(context, false, match.score, 'refused by the guard');
      return { vector };
    }
    try {
      const entry = decodeEntry(match.value);
      const hit: ChatResponse = { ...entry.response, cache: 'hit' };
      report(context, true, match.score);
      return { hit, events: entryToEvents(entry, hit) };
    } catch (error) {
      reportError(context, 'decode', error);
      return { vector };
    }
  };

  const store = (
    step: Plan,
    vector: Float32Array,
    response: ChatResponse,
    context: CallContext,
    deltas?: number[],
  ): void => {
    if (!storeFinishReasons.includes(response.finishReason) || response.cache === 'hit') return;
    let value: Uint8Array;
    try {
      value = encodeEntry({ response, storedAt: context.clock.now(), ...(deltas ? { deltas } : {}) });
    } catch (error) {
      reportError(context, 'encode', error);
      return;
    }
    const work = (async () => {
      try {
        await index.add(step.partition, { vector, text: step.text, value, ttlMs: ttlSeconds * 1000 });
      } catch (error) {
        reportError(context, 'add', error);
      }
    })();
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  return {
    specificationVersion: 'v1',
    name: 'semantic-cache',
    stage: 'cache',
    index,
    async complete(request, context, next) {
      const step = plan(request, context);
      if (typeof step === 'string') return next(request, context);
      const found = await lookup(step, context);
      if (found.hit) return found.hit;
      const response = await next(request, context);
      if (step.store && found.vector) store(step, found.vector, response, context);
      return response;
    },
    async *stream(request, context, next) {
      const step = plan(request, context);
      if (typeof step === 'string') {
        yield* next(request, context);
        return;
      }
      const found = await lookup(step, context);
      if (found.events) {
        yield* found.events;
        return;
      }
      const vector = step.store ? found.vector : undefined;
      if (!vector) {
        yield* next(request, context);
        return;
      }
      const accumulator = new StreamAccumulator();
      const deltas: number[] = [];
      for await (const event of next(request, context)) {
        accumulator.add(event);
        if (event.type === 'text-delta' && event.text.length > 0) deltas.push(event.text.length);
        if (event.type === 'finish') store(step, vector, accumulator.toResponse(), context, deltas);
        yield event;
      }
    },
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
