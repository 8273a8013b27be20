import {
  type BreakerAcquireResult,
  type BreakerBucket,
  type BreakerOutcome,
  type BreakerPolicy,
  type BreakerRecordResult,
  type BreakerSnapshot,
  type BreakerStoreV1,
  type BreakerTicket,
  createMemoryBreakerStore,
  restoreSnapshot,
} from '@bulwark/breaker';
import type { EventBus, Logger } from '@bulwark/core';
import { breakerAcquireScript, breakerRecordScript } from './breaker-scripts.js';
import { createHealth, isScriptError, LimiterUnavailableError } from './degradation.js';
import { openRedisConnection, type RedisClient, type RedisConnectionOptions } from './redis-client.js';
import { storePrefix } from './redis-limiter-store.js';
import type { TimeSource } from './redis-script.js';

export interface RedisBreakerStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (no `{` or `}`). Default `bulwark:`; keys are `<prefix>breaker:v1:{<target>}`. */
  prefix?: string;
  /** @deprecated The whole key prefix of 0.1 (`bulwark:breaker:`); use `prefix`, which the store extends with `breaker:`. */
  keyPrefix?: string;
  /**
   * `redis` (default): the scripts read Redis `TIME`. `caller`: they use the `now` each method is given
   * (the breaker's clock), for virtual time in tests or synchronized hosts.
   */
  timeSource?: TimeSource;
  /** Longest a Redis command may take before the store falls back to its local breaker. Default 100 ms. */
  commandTimeoutMs?: number;
  events?: EventBus;
  logger?: Logger;
}

/** A breaker store shared through Redis, with `close` for the connection it opened. */
export interface RedisBreakerStore extends BreakerStoreV1 {
  acquire(key: string, now: number, policy: BreakerPolicy): Promise<BreakerAcquireResult>;
  record(
    key: string,
    ticket: BreakerTicket,
    outcome: BreakerOutcome,
    now: number,
    policy: BreakerPolicy,
  ): Promise<BreakerRecordResult>;
  get(key: string): Promise<BreakerSnapshot | undefined>;
  set(key: string, snapshot: BreakerSnapshot): Promise<void>;
  keys(): Promise<string[]>;
  delete(key: string): Promise<void>;
  readonly client: RedisClient;
  readonly degraded: boolean;
  /** True when Redis is connected and answers `PING`. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

function policyArgs(policy: BreakerPolicy): number[] {
  const ttlMs =
    2 * Math.max(policy.windowMs, policy.maxCooldownMs, policy.cooldownMs, policy.probeTimeoutMs) + 60_000;
  return [
    policy.failureThreshold,
    policy.failureRatio,
    policy.minimumCalls,
    policy.windowMs,
    policy.bucketMs,
    policy.cooldownMs,
    policy.maxCooldownMs,
    policy.cooldownMultiplier,
    policy.halfOpenProbes,
    policy.probeTimeoutMs,
    Math.ceil(ttlMs),
  ];
}

/** Lua's JSON encoder writes an empty array as `{}`: turn the snapshot back into the documented shape. */
function normalizeSnapshot(value: Record<string, unknown>): BreakerSnapshot {
  const snapshot: BreakerSnapshot = {
    state: value.state === 'open' || value.state === 'half-open' ? value.state : 'closed',
    epoch: Number(value.epoch ?? 0),
    consecutiveFailures: Number(value.consecutiveFailures ?? 0),
    buckets: Array.isArray(value.buckets) ? (value.buckets as BreakerBucket[]) : [],
    opens: Number(value.opens ?? 0),
    probes: Array.isArray(value.probes) ? (value.probes as Array<[number, number]>) : [],
    probeSuccesses: Number(value.probeSuccesses ?? 0),
    nextProbeId: Number(value.nextProbeId ?? 1),
  };
  if (typeof value.openedAt === 'number') snapshot.openedAt = value.openedAt;
  if (typeof value.openUntil === 'number') snapshot.openUntil = value.openUntil;
  return snapshot;
}

function withoutNulls<T extends object>(value: T): T {
  for (const [key, entry] of Object.entries(value)) {
    if (entry === null) delete (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * `BreakerStoreV1` on Redis, so every replica sees the same circuit: one JSON snapshot per target
 * and one Lua script per `acquire`/`record` (the reference semantics of `@bulwark/breaker`), time from
 * Redis `TIME`, keys hash-tagged. The half-open probe slots live in the snapshot, so across replicas only
 * `halfOpenProbes` calls probe. When Redis is unreachable the store falls back to a local in-memory
 * breaker (logged and evented) and returns to Redis once it answers again.
 */
export function createRedisBreakerStore(options: RedisBreakerStoreOptions = {}): RedisBreakerStore {
  const keyPrefix = storePrefix(options, 'breaker');
  const callerTime = options.timeSource === 'caller';
  const commandTimeoutMs = options.commandTimeoutMs ?? 100;
  const connection = openRedisConnection({ ...options, commandTimeoutMs });
  const client = connection.client;
  const health = createHealth({
    connection,
    component: 'breaker',
    mode: 'open',
    commandTimeoutMs,
    now: Date.now,
    events: options.events,
    logger: options.logger,
  });
  const local = createMemoryBreakerStore();
  const redisKey = (key: string): string => `${keyPrefix}v1:{${key}}`;

  const attempt = async <T>(command: () => Promise<T>, fallback: () => T): Promise<T> => {
    try {
      return await health.run(command);
    } catch (error) {
      if (isScriptError(error)) throw new LimiterUnavailableError({ reason: 'script-error', cause: error });
      health.degraded(error);
      return fallback();
    }
  };

  return {
    specificationVersion: 'v1',
    client,
    get degraded() {
      return health.isDegraded;
    },
    acquire(key, now, policy) {
      return attempt(
        async () => {
          const reply = await connection.run(
            breakerAcquireScript,
            [redisKey(key)],
            [...policyArgs(policy), callerTime ? now : ''],
          );
          const parsed = withoutNulls(JSON.parse(String(reply)) as Record<string, unknown>);
          if (parsed.transition) withoutNulls(parsed.transition as object);
          if (parsed.allowed === true) {
            const ticket: BreakerTicket = { epoch: Number(parsed.epoch) };
            if (parsed.probe !== undefined) ticket.probe = Number(parsed.probe);
            return { ...parsed, ticket } as unknown as BreakerAcquireResult;
          }
          return parsed as unknown as BreakerAcquireResult;
        },
        () => local.acquire(key, now, policy),
      );
    },
    record(key, ticket, outcome, now, policy) {
      return attempt(
        async () => {
          const reply = await connection.run(
            breakerRecordScript,
            [redisKey(key)],
            [...policyArgs(policy), ticket.epoch, ticket.probe ?? '', outcome, callerTime ? now : ''],
          );
          return withoutNulls(
            JSON.parse(String(reply)) as Record<string, unknown>,
          ) as unknown as BreakerRecordResult;
        },
        () => local.record(key, ticket, outcome, now, policy),
      );
    },
    get(key) {
      return attempt(
        async () => {
          const raw = await client.get(redisKey(key));
          return raw === null ? undefined : normalizeSnapshot(JSON.parse(raw) as Record<string, unknown>);
        },
        () => local.get(key),
      );
    },
    set(key, snapshot) {
      return attempt(
        async () => {
          await client.set(redisKey(key), JSON.stringify(restoreSnapshot(snapshot)));
        },
        () => local.set(key, snapshot),
      );
    },
    keys() {
      return attempt(
        async () => {
          const nodes = 'nodes' in client ? client.nodes('master') : [client];
          const found = new Set<string>();
          const start = `${keyPrefix}v1:{`;
          for (const node of nodes) {
            let cursor = '0';
            do {
              const [next, batch] = await node.scan(cursor, 'MATCH', `${start}*`, 'COUNT', 1000);
              cursor = next;
              for (const name of batch) found.add(name.slice(start.length, -1));
            } while (cursor !== '0');
          }
          return [...found];
        },
        () => local.keys(),
      );
    },
    delete(key) {
      return attempt(
        async () => {
          await client.del(redisKey(key));
        },
        () => local.delete(key),
      );
    },
    ready: () => connection.ready(),
    async close() {
      await connection.close();
    },
  };
}
