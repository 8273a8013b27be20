import type { AttemptRecord, BulwarkError, ChatRequest, ChatResponse, StreamEvent } from '@bulwark/core';
import { checkJsonDepth } from '@bulwark/core';

/** A request as a client sent it, turned into Bulwark's normalized form. */
export interface ParsedClientRequest {
  request: ChatRequest;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`: send a final usage chunk. */
  includeUsage: boolean;
  /** Gives an `InvalidRequestError` the call raises (a provider's mapping) the wire name of its field. */
  wireError?: (error: unknown) => unknown;
  /** The caller's fields translation cannot carry (paths in the caller's request). */
  dropped?: DroppedFields;
}

/** Fields of a request that translation cannot carry, by the path the caller wrote them at. */
export interface DroppedFields {
  /** Lost on every translated call (no normalized field holds them). */
  always: readonly string[];
  /** Lost when the target speaks the other wire format (kept for a target of the caller's format). */
  crossFormat: readonly string[];
}

/** Collects dropped field paths while a parser walks a request. */
export interface DropLog {
  always(path: string): void;
  crossFormat(path: string): void;
  result(): DroppedFields | undefined;
}

export function createDropLog(): DropLog {
  const always: string[] = [];
  const crossFormat: string[] = [];
  return {
    always: (path) => {
      always.push(path);
    },
    crossFormat: (path) => {
      crossFormat.push(path);
    },
    result: () => (always.length === 0 && crossFormat.length === 0 ? undefined : { always, crossFormat }),
  };
}

/**
 * The caller's fields a target cannot carry: the cross-format ones unless the target's provider speaks
 * the caller's format (`system` of the provider: `openai`, `anthropic`, or another system, which gets
 * only what the normalized request holds).
 */
export function droppedFor(
  parsed: ParsedClientRequest,
  format: ClientFormat['name'],
  system: string | undefined,
): string[] {
  const dropped = parsed.dropped;
  if (!dropped) return [];
  return system === format ? [...dropped.always] : [...dropped.always, ...dropped.crossFormat];
}

/**
 * Encodes one streamed call into a client's SSE dialect. `encode` returns the bytes to write for an
 * event (possibly ''), `end` the closing bytes of a clean stream, `fail` those of a broken one.
 */
export interface StreamEncoder {
  encode(event: StreamEvent): string;
  end(): string;
  fail(error: BulwarkError, status: number): string;
}

/** A wire format the gateway serves (OpenAI Chat Completions, Anthropic Messages). */
export interface ClientFormat {
  readonly name: 'openai' | 'anthropic';
  /** Throws `InvalidRequestError` naming the wire field (e.g. `messages[1].content`). */
  parse(body: unknown): ParsedClientRequest;
  /** The JSON body of a complete answer. */
  response(response: ChatResponse): unknown;
  streamEncoder(parsed: ParsedClientRequest): StreamEncoder;
  /** The JSON error body in this format; `attempts` is the trail of a call that failed upstream. */
  errorBody(error: BulwarkError, status: number): unknown;
}

/** The attempt trail as it appears in error bodies: no secrets, only what helps an operator. */
export function publicAttempts(attempts: readonly AttemptRecord[] | undefined): unknown[] | undefined {
  if (!attempts || attempts.length === 0) return undefined;
  return attempts.map((attempt) => ({
    provider: attempt.provider,
    model: attempt.model,
    attempt: attempt.attempt,
    durationMs: Math.round(attempt.durationMs),
    ...(attempt.error === undefined ? {} : { error: attempt.error }),
    ...(attempt.status === undefined ? {} : { status: attempt.status }),
    ...(attempt.local ? { local: true } : {}),
  }));
}

/** A value as an error message shows it: JSON, cut at 80 characters; never throws (cycles, deep nesting, bigint). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    // A stack overflow inside JSON.stringify takes tens of milliseconds to unwind: bound the depth first.
    checkJsonDepth(value);
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
