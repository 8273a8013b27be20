import type { AttemptRecord, CacheStatus, RateLimitInfo, Usage } from '../types/chat-response.js';
import type { Logger } from '../util/logger.js';

/** Identifies one target: a configured provider and one of its models. */
export interface TargetRef {
  provider: string;
  model: string;
}

/** Fields every call-scoped event carries. */
export interface CallEventBase {
  /** Id of the logical call (same across attempts and fallbacks). */
  callId: string;
  tenant?: string;
}

/**
 * The events Bulwark emits. Plugins add their own through declaration merging:
 * `declare module '@bulwark/core' { interface BulwarkEventMap { 'my-plugin:thing': {...} } }`.
 */
export interface BulwarkEventMap {
  'call:start': CallEventBase & { model: string; stream: boolean };
  'call:end': CallEventBase & {
    model: string;
    stream: boolean;
    durationMs: number;
    error?: string;
    target?: TargetRef;
    usage?: Usage;
    attempts: AttemptRecord[];
    cache?: CacheStatus;
  };
  'attempt:start': CallEventBase & TargetRef & { attempt: number };
  'attempt:success': CallEventBase & TargetRef & { attempt: number; durationMs: number; usage?: Usage };
  'attempt:failure': CallEventBase &
    TargetRef & { attempt: number; durationMs: number; error: string; status?: number; usage?: Usage };
  'retry:scheduled': CallEventBase & TargetRef & { attempt: number; delayMs: number; error: string };
  'retry:budget-exhausted': CallEventBase & TargetRef & { error: string };
  'fallback:taken': CallEventBase & { from: TargetRef; to: TargetRef; error: string };
  'breaker:state': TargetRef & { from: BreakerState; to: BreakerState; reason?: string };
  'cache:lookup': CallEventBase & { status: CacheStatus; key?: string; bytes?: number; reason?: string };
  'cache:store': CallEventBase & { stored: boolean; bytes?: number; reason?: string };
  'cache:error': { operation: string; error: string };
  'limiter:wait': CallEventBase & TargetRef & { waitedMs: number; queueLength: number };
  'limiter:reject': CallEventBase & TargetRef & { reason: string; retryAfterMs?: number };
  'ratelimit:headers': TargetRef & { rateLimit: RateLimitInfo };
  'stream:interrupted': CallEventBase & TargetRef & { error: string; textLength: number };
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export type EventName = keyof BulwarkEventMap;
export type EventListener<K extends EventName> = (payload: BulwarkEventMap[K]) => void;

/**
 * Synchronous, typed publish/subscribe. A listener that throws is logged and never breaks the call.
 * `emit` with no listener costs one map lookup, so the hot path pays nothing for unused events.
 */
export interface EventBus {
  on<K extends EventName>(name: K, listener: EventListener<K>): () => void;
  /** Every event, with its name (for exporters and the dashboard). */
  onAny(listener: (name: EventName, payload: unknown) => void): () => void;
  off<K extends EventName>(name: K, listener: EventListener<K>): void;
  emit<K extends EventName>(name: K, payload: BulwarkEventMap[K]): void;
  /** True when someone listens to `name` (lets emitters skip building payloads). */
  has(name: EventName): boolean;
}

export function createEventBus(options: { logger?: Logger } = {}): EventBus {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const anyListeners = new Set<(name: EventName, payload: unknown) => void>();
  const report = (name: string, error: unknown): void => {
    options.logger?.warn('event listener threw', { event: name, error });
  };
  const bus: EventBus = {
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) {
        set = new Set();
        listeners.set(name, set);
      }
      set.add(listener as (payload: unknown) => void);
      return () => bus.off(name, listener);
    },
    onAny(listener) {
      anyListeners.add(listener);
      return () => anyListeners.delete(listener);
    },
    off(name, listener) {
      listeners.get(name)?.delete(listener as (payload: unknown) => void);
    },
    emit(name, payload) {
      const set = listeners.get(name);
      if (set) {
        for (const listener of set) {
          try {
            listener(payload);
          } catch (error) {
            report(name, error);
          }
        }
      }
      for (const listener of anyListeners) {
        try {
          listener(name, payload);
        } catch (error) {
          report(name, error);
        }
      }
    },
    has: (name) => anyListeners.size > 0 || (listeners.get(name)?.size ?? 0) > 0,
  };
  return bus;
}
