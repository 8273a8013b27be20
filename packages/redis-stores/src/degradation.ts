import { type EventBus, type Logger, RateLimitError, silentLogger } from '@bulwark/core';
import type { RedisConnection } from './redis-client.js';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** A Redis-backed store could not reach Redis and switched to its fail mode. */
    'store:degraded': {
      store: string;
      component: 'limiter' | 'breaker';
      mode: 'open' | 'closed';
      error: string;
    };
    /** Redis answered again; the shared state is authoritative again. */
    'store:recovered': { store: string; component: 'limiter' | 'breaker'; degradedMs: number };
  }
}

/** What a store does while Redis is unreachable. */
export type FailMode = 'open' | 'closed';

/**
 * The Redis-backed limiter could not decide: Redis is unreachable in fail-closed mode, or a script failed.
 * A local refusal (`local: true`), so it never counts against a provider's health.
 */
export class LimiterUnavailableError extends RateLimitError {
  readonly reason: 'unreachable' | 'script-error';
  constructor(options: { reason: 'unreachable' | 'script-error'; cause?: unknown; retryAfterMs?: number }) {
    super({
      scope: 'limiter',
      local: true,
      retryAfterMs: options.retryAfterMs ?? 1000,
      cause: options.cause,
      message:
        options.reason === 'unreachable'
          ? 'The shared rate limiter is unavailable (Redis unreachable, fail-closed)'
          : `The shared rate limiter failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
    });
    this.name = 'LimiterUnavailableError';
    this.reason = options.reason;
  }
}

/** Errors Redis answered that say the script or the data is wrong (not an outage). */
export function isScriptError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  return /^(WRONGTYPE|ERR (Error running script|user_script|.*script))/.test(error.message);
}

/** Tracks whether Redis is usable, runs commands with a deadline, and reports degradation and recovery. */
export interface Health {
  /** Runs `command` once the client is ready, within the command timeout; throws the cause otherwise. */
  run<T>(command: () => Promise<T>): Promise<T>;
  /** Marks the store degraded (once per outage: logged and evented). */
  degraded(error: unknown): void;
  readonly isDegraded: boolean;
}

export function createHealth(options: {
  connection: RedisConnection;
  component: 'limiter' | 'breaker';
  mode: FailMode;
  commandTimeoutMs: number;
  now: () => number;
  events?: EventBus;
  logger?: Logger;
}): Health {
  const logger = options.logger ?? silentLogger;
  let degradedSince: number | undefined;
  const health: Health = {
    get isDegraded() {
      return degradedSince !== undefined;
    },
    async run<T>(command: () => Promise<T>): Promise<T> {
      await options.connection.connected();
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        command(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer within ${options.commandTimeoutMs} ms`)),
            options.commandTimeoutMs,
          );
          timer.unref();
        }),
      ]).finally(() => clearTimeout(timer));
      if (degradedSince !== undefined) {
        const degradedMs = options.now() - degradedSince;
        degradedSince = undefined;
        logger.info('redis store recovered', { component: options.component, degradedMs });
        if (options.events?.has('store:recovered')) {
          options.events.emit('store:recovered', {
            store: 'redis',
            component: options.component,
            degradedMs,
          });
        }
      }
      return result;
    },
    degraded(error) {
      if (degradedSince !== undefined) return;
      degradedSince = options.now();
      const message = error instanceof Error ? error.message : String(error);
      logger.warn('redis store unreachable', {
        component: options.component,
        mode: options.mode,
        error: message,
      });
      if (options.events?.has('store:degraded')) {
        options.events.emit('store:degraded', {
          store: 'redis',
          component: options.component,
          mode: options.mode,
          error: message,
        });
      }
    },
  };
  return health;
}
