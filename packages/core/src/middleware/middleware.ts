import type { CallContext } from '../provider.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { ChatResponse } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';

export type CompleteHandler = (request: ChatRequest, context: CallContext) => Promise<ChatResponse>;
export type StreamHandler = (request: ChatRequest, context: CallContext) => AsyncIterable<StreamEvent>;

/** The two entry points every layer of the onion exposes. */
export interface Handler {
  complete: CompleteHandler;
  stream: StreamHandler;
}

/**
 * Where a middleware belongs in the pipeline. Outermost first:
 *
 * call level (once per call, above the router):
 *   `observe` → `cache` → `coalesce` → `budget` → `deadline`
 * target level (per target the router tries, around the provider):
 *   `retry` | `hedge` → `breaker` → `limiter` → `timeout`
 *
 * `custom` middleware may sit anywhere in its level. Why this order: the cache must not consume
 * quota or skew breaker statistics; retries must pay the limiter on every attempt; the breaker must
 * see each attempt, not each call; queue time must not count against attempt timeouts.
 */
export type MiddlewareStage =
  | 'observe'
  | 'cache'
  | 'coalesce'
  | 'budget'
  | 'deadline'
  | 'retry'
  | 'hedge'
  | 'breaker'
  | 'limiter'
  | 'timeout'
  | 'custom';

export type MiddlewareLevel = 'call' | 'target';

/** Rank of each stage within its level: a lower rank must be further out. */
export const stageOrder: Readonly<
  Record<Exclude<MiddlewareStage, 'custom'>, { level: MiddlewareLevel; rank: number }>
> = {
  observe: { level: 'call', rank: 0 },
  cache: { level: 'call', rank: 10 },
  coalesce: { level: 'call', rank: 20 },
  budget: { level: 'call', rank: 30 },
  deadline: { level: 'call', rank: 40 },
  retry: { level: 'target', rank: 50 },
  hedge: { level: 'target', rank: 50 },
  breaker: { level: 'target', rank: 60 },
  limiter: { level: 'target', rank: 70 },
  timeout: { level: 'target', rank: 80 },
};

/**
 * A middleware (version 1 of the contract): one onion layer around both `complete` and `stream`.
 * Leave out the one you do not care about and calls pass straight through. Call `next` once, unless
 * the middleware is `reentrant` (retry, hedge): calling it twice otherwise throws `MiddlewareError`.
 */
export interface MiddlewareV1 {
  readonly specificationVersion: 'v1';
  /** Name for errors, logs and `check-config`. */
  readonly name: string;
  /** Pipeline position; decides the level and is checked against the documented order. Default `custom`. */
  readonly stage?: MiddlewareStage;
  /** For `custom` middleware: run once per call (`call`, default) or around each target (`target`). */
  readonly level?: MiddlewareLevel;
  /** Declares that `next` may be called more than once per call. */
  readonly reentrant?: boolean;
  complete?(request: ChatRequest, context: CallContext, next: CompleteHandler): Promise<ChatResponse>;
  stream?(request: ChatRequest, context: CallContext, next: StreamHandler): AsyncIterable<StreamEvent>;
}

/** The latest middleware contract. */
export type Middleware = MiddlewareV1;

export function middlewareLevel(middleware: MiddlewareV1): MiddlewareLevel {
  const stage = middleware.stage ?? 'custom';
  return stage === 'custom' ? (middleware.level ?? 'call') : stageOrder[stage].level;
}
