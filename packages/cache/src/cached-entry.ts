import { type ChatResponse, responseToEvents, type StreamEvent } from '@bulwark/core';

/** What a cache entry holds: the response and, for streamed answers, the lengths of its text deltas. */
export interface CachedEntry {
  response: ChatResponse;
  /** Lengths of the text deltas as the provider streamed them, so a replay has the same rhythm. */
  deltas?: number[];
  /** Clock time (ms) the entry was stored. */
  storedAt: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const entryVersion = 1;

/**
 * Serializes an entry to compact JSON bytes. `attempts`, `cache` and `rateLimit` are left out: they
 * describe the call that filled the cache, not the answer. Throws when the response cannot be
 * serialized (a bigint or a cycle in a provider-added field).
 */
export function encodeEntry(entry: CachedEntry): Uint8Array {
  const { attempts: _attempts, cache: _cache, rateLimit: _rateLimit, ...answer } = entry.response;
  const payload: Record<string, unknown> = { v: entryVersion, t: entry.storedAt, r: answer };
  if (entry.deltas && entry.deltas.length > 1) payload.d = entry.deltas;
  return encoder.encode(JSON.stringify(payload));
}

/** Why bytes read from a backend are not a valid entry. */
export class CorruptEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptEntryError';
  }
}

const finishReasons = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'other']);

/** Parses bytes written by `encodeEntry`; throws `CorruptEntryError` when they are anything else. */
export function decodeEntry(bytes: Uint8Array): CachedEntry {
  let payload: { v?: unknown; t?: unknown; r?: Record<string, unknown>; d?: unknown };
  try {
    payload = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new CorruptEntryError(`entry is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof payload !== 'object' || payload === null || payload.v !== entryVersion) {
    throw new CorruptEntryError('entry has no known version');
  }
  const answer = payload.r;
  if (
    typeof answer !== 'object' ||
    answer === null ||
    typeof answer.text !== 'string' ||
    typeof answer.id !== 'string' ||
    typeof answer.provider !== 'string' ||
    typeof answer.model !== 'string' ||
    !Array.isArray(answer.toolCalls) ||
    !finishReasons.has(answer.finishReason as string)
  ) {
    throw new CorruptEntryError('entry does not hold a response');
  }
  const entry: CachedEntry = {
    response: { ...(answer as unknown as ChatResponse), attempts: [] },
    storedAt: typeof payload.t === 'number' ? payload.t : 0,
  };
  const deltas = payload.d;
  if (Array.isArray(deltas) && deltas.every((length) => Number.isInteger(length) && length > 0)) {
    let total = 0;
    for (const length of deltas as number[]) total += length;
    if (total === (answer.text as string).length) entry.deltas = deltas as number[];
  }
  return entry;
}

/**
 * Replays an entry as the stream that produced it: the same text deltas (when they were recorded),
 * tool calls, usage and finish, with `cache: 'hit'` on the start event.
 */
export function* entryToEvents(entry: CachedEntry, response: ChatResponse): Generator<StreamEvent> {
  if (!entry.deltas) {
    yield* responseToEvents(response);
    return;
  }
  let textDone = false;
  for (const event of responseToEvents(response)) {
    if (event.type !== 'text-delta') {
      yield event;
      continue;
    }
    if (textDone) continue;
    textDone = true;
    let at = 0;
    for (const length of entry.deltas) {
      yield { type: 'text-delta', text: response.text.slice(at, at + length) };
      at += length;
    }
  }
}
