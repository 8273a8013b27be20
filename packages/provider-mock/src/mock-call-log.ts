import {
  type BulwarkErrorCode,
  type ChatRequest,
  type Clock,
  type EmbeddingRequest,
  toBulwarkError,
} from '@bulwark/core';
import type { MockBehaviorSource, MockPlan } from './mock-behavior.js';

/** What the mock recorded about one call. */
export interface MockCallRecord {
  /** 0-based position among all calls this provider received. */
  index: number;
  operation: 'complete' | 'stream' | 'embed';
  model: string;
  /** The request as received (not copied). */
  request: ChatRequest | EmbeddingRequest;
  /** Clock time the call arrived. */
  startedAt: number;
  /** Clock time it settled (undefined while running). */
  endedAt?: number;
  outcome: 'pending' | 'success' | 'error' | 'aborted';
  /** Error code when it failed. */
  error?: BulwarkErrorCode;
  /** Where its behaviour came from. */
  source: MockBehaviorSource;
  /** Name of the window that applied, if any. */
  window?: string;
  /** Content chunks delivered (streams). */
  chunks: number;
  /** Call id from the context. */
  callId: string;
}

/** The calls a mock received: counted always, recorded when asked. */
export interface MockCallLog {
  readonly calls: readonly MockCallRecord[];
  readonly callCount: number;
  readonly inFlight: number;
  /** Opens the record of a call that starts now. */
  begin(
    operation: MockCallRecord['operation'],
    request: ChatRequest | EmbeddingRequest,
    callId: string,
    plan: MockPlan,
  ): MockCallRecord;
  /** Closes a record: success without `error`, else `aborted` or `error` with its code. */
  settle(record: MockCallRecord, error?: unknown, signal?: AbortSignal): void;
  /** Forgets the records and the count. */
  reset(): void;
}

export function createCallLog(options: { clock: Clock; recordCalls: boolean }): MockCallLog {
  const { clock, recordCalls } = options;
  const calls: MockCallRecord[] = [];
  let callCount = 0;
  let inFlight = 0;
  return {
    get calls() {
      return calls;
    },
    get callCount() {
      return callCount;
    },
    get inFlight() {
      return inFlight;
    },
    begin(operation, request, callId, { source, window }) {
      const record: MockCallRecord = {
        index: callCount,
        operation,
        model: request.model,
        request,
        startedAt: clock.now(),
        outcome: 'pending',
        source,
        chunks: 0,
        callId,
      };
      if (window !== undefined) record.window = window;
      callCount += 1;
      inFlight += 1;
      if (recordCalls) calls.push(record);
      return record;
    },
    settle(record, error, signal) {
      inFlight -= 1;
      record.endedAt = clock.now();
      if (error === undefined) {
        record.outcome = 'success';
        return;
      }
      const code = toBulwarkError(error).code;
      record.outcome = code === 'aborted' || signal?.aborted ? 'aborted' : 'error';
      record.error = code;
    },
    reset() {
      calls.length = 0;
      callCount = 0;
    },
  };
}
