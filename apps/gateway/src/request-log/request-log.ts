import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { AttemptRecord, BulwarkError, ChatResponse, EventBus, Usage } from '@bulwark/core';
import type { UsageRecordedEvent } from '@bulwark/usage';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

/** The level of the gateway's logs, which also filters request lines (they are `info`, failures `warn`). */
export type RequestLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RequestLogOptions {
  /** Where the gateway's calls report `usage:recorded` (tokens and cost of each call). */
  events: EventBus;
  /** Share of requests written, 0 to 1. Default 1 (every request). */
  sample?: number;
  /** Append the lines to this file instead of stdout. */
  file?: string | undefined;
  /** Lowest level written. Default `info`. */
  level?: RequestLogLevel;
  /** Write here instead (tests, embedding); wins over `file`. */
  destination?: Writable;
  /** Decides sampling; default `Math.random`. */
  random?: () => number;
}

/** One attempt of a call as the request log shows it. */
export interface LoggedAttempt {
  /** `provider/model`. */
  target: string;
  /** Upstream HTTP status when the attempt failed with one. */
  status?: number;
  /** The error class (`BulwarkErrorCode`) when the attempt failed. */
  error?: string;
  /** True when no provider call was made (breaker open, limiter rejection). */
  local?: boolean;
}

/** What the request handler knows of a request as it goes; the request log reads it when the request ends. */
export interface RequestRecord {
  /** The request id (also the call id of its Bulwark call). */
  readonly id: string;
  tenant?: string | undefined;
  /** The model the caller asked for (alias or `provider/model`). */
  alias?: string | undefined;
  stream?: boolean;
  /** The answer (non-streamed), for its target, attempts, usage and cache status. */
  answer?: ChatResponse;
  /** `provider/model` that answered a stream (its start event). */
  target?: string;
  /** A stream's attempts, read when it ends. */
  trail?: readonly AttemptRecord[];
  /** Cache status of a stream (its start event). */
  cache?: string | undefined;
  /** True when the answer is the upstream's own bytes (same-format passthrough). */
  passthrough?: boolean;
  /** Time to the first byte of the answer (ms since the request arrived). */
  firstTokenMs?: number;
  /** What the call failed with. */
  error?: BulwarkError;
  /** Marks the time the first answer byte went out. */
  firstToken(): void;
  /** Writes the line (once): status, latency and everything gathered. */
  end(status: number): void;
}

export interface RequestLog {
  /** Starts the record of a request on `route` in `format`. */
  begin(route: string, format: string): RequestRecord;
  /** Flushes and stops listening. */
  close(): void;
}

interface CallCost {
  usage: Usage;
  costUsd?: number | undefined;
}

const attemptOf = (record: AttemptRecord): LoggedAttempt => ({
  target: `${record.provider}/${record.model}`,
  ...(record.status !== undefined ? { status: record.status } : {}),
  ...(record.error !== undefined ? { error: record.error } : {}),
  ...(record.local ? { local: true } : {}),
});

/**
 * The request log: one JSON line per request (pino) with who called, what was asked for, every
 * attempt's target and outcome, cache status, tokens, cost, latency and time to first token. It never
 * holds the prompt, the answer or a key: the record has no field for them, and the tokens and cost come
 * from the `usage:recorded` event of the request's call (matched by call id).
 */
export function createRequestLog(options: RequestLogOptions): RequestLog {
  const sample = options.sample ?? 1;
  const random = options.random ?? Math.random;
  const destination: DestinationStream =
    options.destination ??
    pino.destination(options.file ? { dest: options.file, sync: true, mkdir: true, append: true } : 1);
  const logger: PinoLogger = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  /** Requests still running, by id (= call id). */
  const open = new Set<string>();
  /** Costs reported by calls whose request is still running, by call id. */
  const costs = new Map<string, CallCost>();
  const stop = options.events.on('usage:recorded', (event: UsageRecordedEvent) => {
    if (open.has(event.callId)) costs.set(event.callId, { usage: event.usage, costUsd: event.costUsd });
  });

  return {
    begin(route, format) {
      const started = performance.now();
      const id = `req_${randomUUID().replaceAll('-', '')}`;
      open.add(id);
      const write = (record: RequestRecord, status: number): void => {
        const cost = costs.get(id);
        costs.delete(id);
        open.delete(id);
        if (sample < 1 && random() >= sample) return;
        const answer = record.answer;
        const trail = answer?.attempts ?? record.trail ?? record.error?.attempts ?? [];
        const usage = cost?.usage ?? answer?.usage;
        const costUsd = cost?.costUsd ?? answer?.costUsd;
        const line = {
          requestId: id,
          tenant: record.tenant,
          route,
          format,
          alias: record.alias,
          stream: record.stream ?? false,
          status,
          target: answer ? `${answer.provider}/${answer.model}` : record.target,
          attempts: trail.map(attemptOf),
          error: record.error ? { class: record.error.code, name: record.error.name } : undefined,
          cache: record.cache ?? answer?.cache,
          tokensIn: usage?.inputTokens,
          tokensOut: usage?.outputTokens,
          tokensEstimated: usage?.estimated ? true : undefined,
          costUsd,
          latencyMs: Math.round((performance.now() - started) * 10) / 10,
          firstTokenMs: record.firstTokenMs,
          // Passed through: the upstream got the caller's body and sent its own bytes back; else translated.
          mode: (record.passthrough ?? answer?.wire !== undefined) ? 'passthrough' : 'translated',
        };
        if (status >= 500) logger.warn(line, 'request');
        else logger.info(line, 'request');
      };
      let ended = false;
      const record: RequestRecord = {
        id,
        firstToken() {
          record.firstTokenMs ??= Math.round((performance.now() - started) * 10) / 10;
        },
        end(status) {
          if (ended) return;
          ended = true;
          write(record, status);
        },
      };
      return record;
    },
    close() {
      stop();
      costs.clear();
      open.clear();
      if (!options.destination && 'flushSync' in destination) {
        try {
          (destination as { flushSync(): void }).flushSync();
        } catch {
          // A sync destination has nothing buffered; flushSync throws only when it is not open yet.
        }
      }
    },
  };
}
