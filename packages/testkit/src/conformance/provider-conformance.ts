import {
  BulwarkError,
  type BulwarkErrorCode,
  type ChatRequest,
  type ChatResponse,
  type MaybePromise,
  type ProviderV1,
  type StreamEvent,
  type ToolCall,
} from '@bulwark/core';
import { createFakeUpstream } from '../fake-upstream/fake-upstream.js';
import type { FakeBehavior, FakeUpstream, FakeUpstreamOptions } from '../fake-upstream/types.js';
import { createTestCallContext } from './test-call-context.js';

type Vitest = typeof import('vitest');

// vitest is an optional peer: importing the package index must work without it (for the fake upstream).
let vitest: Vitest | undefined;
let vitestLoadError: unknown;
try {
  vitest = await import('vitest');
} catch (error) {
  vitestLoadError = error;
}

/** Capability flags: each skips the checks that need it. They skip, they never change what is checked. */
export interface ProviderConformanceSkip {
  /** The provider has no tool calling. */
  tools?: boolean;
  /** The provider cannot stream. */
  streaming?: boolean;
  /** Skip HTTP fault mapping (status codes, socket reset, malformed JSON, cut streams). */
  httpFaults?: boolean;
  /**
   * The provider does not call the fake upstream at all (an in-process provider such as the mock):
   * skips every check that inspects the upstream (request count, echoed text, sockets, rate-limit headers).
   */
  upstream?: boolean;
  /** Skip embeddings even when the provider has `embed`. */
  embeddings?: boolean;
}

export interface ProviderConformanceOptions {
  /** Suite name (the provider's kind, e.g. `openai`). */
  name: string;
  /** Creates the provider under test pointed at the fake upstream. Called once per test with a fresh upstream. */
  createProvider: (upstream: FakeUpstream) => MaybePromise<ProviderV1>;
  /** Model name sent in every request. */
  model: string;
  /** Embedding model for the embeddings checks. Default `text-embedding-3-small`. */
  embeddingModel?: string;
  skip?: ProviderConformanceSkip;
  /** Options of each test's fake upstream. */
  upstreamOptions?: FakeUpstreamOptions;
  /** How long an abort may take to reject the call (ms). Default 2000. */
  abortWithinMs?: number;
}

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/**
 * What each group of checks asks of a provider, and the `@bulwark/provider-utils` helper that does it:
 * failing assertions carry these, so a failure says what to fix and with what.
 */
export const providerObligations = {
  answer:
    'map the answer with chatResponse(meta, …) from @bulwark/provider-utils (provider name, usage, rate limit, request id from postJson meta)',
  request:
    'send the system prompt, every turn and the model in the body (see toWireBody in @bulwark/provider-openai-compatible)',
  streamShape:
    'yield exactly one start (startEvent(meta, id, model)), then deltas, at most one usage, and finish last — only after the terminator',
  streamUsage: 'ask the server for usage in streams (stream_options.include_usage) and yield one usage event',
  cutStream:
    "yield finish only after the stream's terminator ([DONE]); when the body ends first throw ConnectionError (sseData from @bulwark/provider-utils turns a cut socket into one)",
  inStreamError:
    'an error chunk inside the stream must throw the mapped error: errorFromHttpResponse({ status, body, message, errorType }) from @bulwark/provider-utils',
  httpError:
    'map an error status with errorFromHttpResponse from @bulwark/provider-utils (postJson does it for you and reads retry-after)',
  connectionError:
    'turn a transport failure into ConnectionError (postJson/readText from @bulwark/provider-utils call transportError for you)',
  invalidResponse:
    'an unparseable body must throw invalidResponse(meta, reason, rawBody) from @bulwark/provider-utils (InvalidResponseError with the raw body)',
  oneRequest:
    'one call makes one upstream request: switch SDK retries off (createSdkClient/createSdkCaller from @bulwark/provider-utils set maxRetries: 0)',
  secret:
    'register the API key with registerSecret from @bulwark/core (createSdkClient does) so errors redact it',
  rateLimit:
    'pass parseRateLimit (rateLimitInfo + parseHeaderCount/parseDuration/parseRetryAfter from @bulwark/provider-utils) to postJson; chatResponse and startEvent copy meta.rateLimit',
  abortBefore:
    "check the call's signal before sending (postJson from @bulwark/provider-utils throws abortReason(signal) when it is already aborted)",
  abortWaiting:
    "pass the call's signal to fetch (postJson does) so an abort rejects with AbortedError and closes the socket",
  abortStream:
    'read the stream with the signal (sseData(body, signal, meta) from @bulwark/provider-utils) so an abort mid-stream throws AbortedError and closes the socket',
  earlyBreak:
    "in stream(), make your own signal with linkSignals(call.signal) from @bulwark/core, pass it to postJson and sseData, and abort it in `finally` so a consumer's early break closes the socket",
  tools:
    'map tools and tool calls both ways (tool_calls with id, name, arguments; tool results by tool_call_id)',
  toolDeltas: 'yield tool-call-delta events by index; the first delta of each call carries id and name',
} as const;

/** Rejects with an error naming `obligation` when `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, obligation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms — ${obligation}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `condition` holds, polling every 5 ms; rejects after `timeoutMs` naming `what`. */
async function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** How a promise settled within `ms`: `pending` when it did not. */
async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ state: 'fulfilled'; value: T } | { state: 'rejected'; error: unknown } | { state: 'pending' }> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<{ state: 'pending' }>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'pending' }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ state: 'fulfilled' as const, value }),
        (error: unknown) => ({ state: 'rejected' as const, error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Problems with the order and shape of stream events (empty when well formed). */
export function streamEventProblems(events: StreamEvent[]): string[] {
  const problems: string[] = [];
  if (events[0]?.type !== 'start')
    problems.push(`first event is ${events[0]?.type ?? 'missing'}, expected start`);
  if (events.filter((event) => event.type === 'start').length !== 1)
    problems.push('expected exactly one start');
  const finishes = events.filter((event) => event.type === 'finish').length;
  if (finishes !== 1) problems.push(`expected exactly one finish, got ${finishes}`);
  if (events.at(-1)?.type !== 'finish')
    problems.push(`last event is ${events.at(-1)?.type}, expected finish`);
  if (events.filter((event) => event.type === 'usage').length > 1) problems.push('more than one usage event');
  const seenIds = new Set<number>();
  for (const event of events) {
    if (event.type === 'text-delta' && typeof event.text !== 'string')
      problems.push('text-delta without text');
    if (event.type === 'tool-call-delta') {
      if (typeof event.argumentsDelta !== 'string') problems.push('tool-call-delta without argumentsDelta');
      if (!seenIds.has(event.index)) {
        if (!event.id || !event.name)
          problems.push(`first delta of tool call ${event.index} lacks id or name`);
        seenIds.add(event.index);
      }
    }
  }
  return problems;
}

/** Folds stream events into text, tool calls (by index), usage and finish reason. */
function fold(events: StreamEvent[]) {
  let text = '';
  const calls = new Map<number, ToolCall>();
  let usage: Extract<StreamEvent, { type: 'usage' }>['usage'] | undefined;
  let finishReason: string | undefined;
  for (const event of events) {
    if (event.type === 'text-delta') text += event.text;
    else if (event.type === 'tool-call-delta') {
      const call = calls.get(event.index) ?? { id: '', name: '', arguments: '' };
      if (event.id) call.id = event.id;
      if (event.name) call.name = event.name;
      call.arguments += event.argumentsDelta;
      calls.set(event.index, call);
    } else if (event.type === 'usage') usage = event.usage;
    else if (event.type === 'finish') finishReason = event.finishReason;
  }
  const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return { text, toolCalls, usage, finishReason };
}

/**
 * Registers the provider conformance suite with vitest: plain calls, streaming, tools, usage, aborts
 * (the call rejects with `AbortedError` and the upstream socket closes), the mapping of every HTTP
 * failure to the error taxonomy, exactly one upstream request per call, and rate-limit headers. Each
 * test gets a fresh fake upstream and a fresh provider from `createProvider`.
 */
export function describeProviderConformance(options: ProviderConformanceOptions): void {
  if (vitest === undefined) {
    throw new Error('describeProviderConformance needs vitest (>=3.2): install it as a dev dependency.', {
      cause: vitestLoadError,
    });
  }
  const { afterEach, beforeEach, describe, expect, it } = vitest;
  const skip = options.skip ?? {};
  const usesUpstream = !skip.upstream;
  const abortWithinMs = options.abortWithinMs ?? 2000;
  let upstream: FakeUpstream;
  let provider: ProviderV1;

  const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
    model: options.model,
    messages: [{ role: 'user', content: 'hello conformance' }],
    maxTokens: 64,
    ...overrides,
  });
  const complete = (body: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> =>
    provider.complete(
      body,
      createTestCallContext({
        ...(signal === undefined ? {} : { signal }),
        target: { provider: provider.name, model: options.model },
      }),
    );
  const openStream = (body: ChatRequest, signal?: AbortSignal): AsyncIterable<StreamEvent> =>
    provider.stream(
      body,
      createTestCallContext({
        ...(signal === undefined ? {} : { signal }),
        stream: true,
        target: { provider: provider.name, model: options.model },
      }),
    );
  const collect = async (events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> => {
    const collected: StreamEvent[] = [];
    for await (const event of events) collected.push(event);
    return collected;
  };
  const failure = async (work: Promise<unknown>, obligation: string): Promise<BulwarkError> => {
    const outcome = await within(
      work.then(
        () => undefined,
        (error: unknown) => error,
      ),
      abortWithinMs * 2,
      obligation,
    );
    expect(outcome, `the call should have failed — ${obligation}`).toBeDefined();
    expect(
      BulwarkError.isInstance(outcome),
      `expected a BulwarkError, got ${String(outcome)} — ${obligation}`,
    ).toBe(true);
    return outcome as BulwarkError;
  };
  /** Asserts the error's code, naming the obligation when it differs. */
  const expectCode = (error: BulwarkError, code: BulwarkErrorCode, obligation: string): void => {
    expect(error.code, `error code (${error.message}) — ${obligation}`).toBe(code);
  };
  /** The API key the provider sent must not appear in what the error shows (message, raw body, JSON). */
  const expectNoKeyIn = (error: BulwarkError): void => {
    const headers = upstream.requests[0]?.headers ?? {};
    const keys = [headers['x-api-key'], headers.authorization?.replace(/^Bearer /i, '')].filter(
      (key): key is string => typeof key === 'string' && key.length >= 8,
    );
    const shown = [error.message, error.rawBody ?? '', JSON.stringify(error), String(error.stack)].join('\n');
    for (const key of keys)
      expect(shown.includes(key), `the API key leaked into the error — ${providerObligations.secret}`).toBe(
        false,
      );
  };
  const expectOneUpstreamRequest = (): void => {
    if (usesUpstream)
      expect(
        upstream.requests,
        `upstream requests for one call — ${providerObligations.oneRequest}`,
      ).toHaveLength(1);
  };

  /** Waits for the upstream's sockets to close; fails naming the obligation that keeps one open. */
  const socketsClosed = async (obligation: string): Promise<void> => {
    try {
      await upstream.waitForConnections(0, abortWithinMs);
    } catch (error) {
      throw new Error(`${(error as Error).message} — ${obligation}`, { cause: error });
    }
  };

  describe(`provider conformance: ${options.name}`, () => {
    beforeEach(async () => {
      upstream = await createFakeUpstream(options.upstreamOptions);
      provider = await options.createProvider(upstream);
    });
    afterEach(async () => {
      await provider.close?.();
      await upstream.close();
    });

    it('implements the v1 provider contract', () => {
      expect(provider.specificationVersion).toBe('v1');
      expect(typeof provider.name).toBe('string');
      expect(provider.name.length).toBeGreaterThan(0);
      expect(typeof provider.system).toBe('string');
      expect(typeof provider.complete).toBe('function');
      expect(typeof provider.stream).toBe('function');
      expect(provider.capabilities.streaming).toBe(!skip.streaming);
      expect(provider.capabilities.tools).toBe(!skip.tools);
    });

    describe('plain call', () => {
      it('answers with text, finish reason, ids and usage', async () => {
        upstream.enqueue({
          kind: 'reply',
          usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 3 },
        });
        const response = await complete(request());
        const answer = providerObligations.answer;
        expect(response.provider, answer).toBe(provider.name);
        expect(response.id.length, answer).toBeGreaterThan(0);
        expect(response.finishReason, answer).toBe('stop');
        expect(response.toolCalls, answer).toEqual([]);
        expect(typeof response.text, answer).toBe('string');
        if (!usesUpstream) return;
        expect(response.text, answer).toBe('echo: hello conformance');
        expect(response.model, answer).toBe(options.model);
        expect(response.usage, answer).toMatchObject({
          inputTokens: 11,
          outputTokens: 7,
          totalTokens: 18,
          cachedInputTokens: 3,
        });
        expect(response.requestId, `x-request-id as response.requestId — ${answer}`).toBe(
          upstream.requests[0]?.id,
        );
        expectOneUpstreamRequest();
      });

      it('sends the system prompt and the conversation', async () => {
        if (!usesUpstream) return;
        await complete(
          request({
            messages: [
              { role: 'system', content: 'You are terse.' },
              { role: 'user', content: 'first question' },
              { role: 'assistant', content: 'first answer' },
              { role: 'user', content: 'second question' },
            ],
          }),
        );
        const sent = JSON.stringify(upstream.requests[0]?.body);
        for (const text of [
          'You are terse.',
          'first question',
          'first answer',
          'second question',
          options.model,
        ]) {
          expect(sent, providerObligations.request).toContain(text);
        }
      });

      it('reports the length finish reason', async () => {
        upstream.enqueue({ kind: 'reply', text: 'cut short', finishReason: 'length' });
        const response = await complete(request());
        if (usesUpstream) expect(response.finishReason, providerObligations.answer).toBe('length');
      });
    });

    describe.skipIf(skip.streaming)('streaming', () => {
      it('streams well-formed events whose text deltas join to the answer, with usage', async () => {
        upstream.enqueue({ kind: 'reply', usage: { inputTokens: 9, outputTokens: 5 } });
        const events = await collect(
          openStream(request({ messages: [{ role: 'user', content: 'stream three words' }] })),
        );
        const shape = providerObligations.streamShape;
        expect(streamEventProblems(events), shape).toEqual([]);
        const folded = fold(events);
        const start = events[0] as Extract<StreamEvent, { type: 'start' }>;
        expect(start.provider, shape).toBe(provider.name);
        expect(start.id.length, shape).toBeGreaterThan(0);
        expect(folded.finishReason, shape).toBe('stop');
        expect(folded.usage, `a usage event — ${providerObligations.streamUsage}`).toBeDefined();
        if (!usesUpstream) return;
        expect(folded.text, 'text deltas join to the answer').toBe('echo: stream three words');
        expect(
          events.filter((event) => event.type === 'text-delta').length,
          'one text-delta per upstream chunk (do not buffer the stream)',
        ).toBeGreaterThan(1);
        expect(folded.usage, providerObligations.streamUsage).toMatchObject({
          inputTokens: 9,
          outputTokens: 5,
          totalTokens: 14,
        });
        expect(start.model, shape).toBe(options.model);
        expect(start.requestId, `x-request-id on the start event — ${shape}`).toBe(upstream.requests[0]?.id);
        expectOneUpstreamRequest();
      });

      it.skipIf(skip.httpFaults || skip.upstream)(
        'throws the mapped error when the stream is refused',
        async () => {
          upstream.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '3' } });
          const error = await failure(collect(openStream(request())), providerObligations.httpError);
          expectCode(error, 'rate_limited', providerObligations.httpError);
          expect(error.retryAfterMs, providerObligations.httpError).toBe(3000);
          expectOneUpstreamRequest();
        },
      );

      it.skipIf(skip.httpFaults || skip.upstream)(
        'throws an overloaded error for an in-stream error event',
        async () => {
          upstream.enqueue({ kind: 'stream-error', afterChunks: 4 });
          const error = await failure(collect(openStream(request())), providerObligations.inStreamError);
          expectCode(error, 'overloaded', providerObligations.inStreamError);
        },
      );

      it.skipIf(skip.httpFaults || skip.upstream)(
        'throws a connection or interruption error when the socket is cut mid-stream',
        async () => {
          upstream.enqueue({ kind: 'cut', afterChunks: 4 });
          const events: StreamEvent[] = [];
          const error = await failure(
            (async () => {
              for await (const event of openStream(request())) events.push(event);
            })(),
            providerObligations.cutStream,
          );
          expect(['connection_error', 'stream_interrupted'], providerObligations.cutStream).toContain(
            error.code,
          );
          expect(
            events.some((event) => event.type === 'finish'),
            `a cut stream must not finish — ${providerObligations.cutStream}`,
          ).toBe(false);
        },
      );
    });

    describe.skipIf(skip.tools)('tools', () => {
      const toolCalls = [
        { id: 'call_conformance_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_conformance_2', name: 'get_weather', arguments: '{"city":"Tokyo","unit":"celsius"}' },
      ];

      it('returns the tool calls the model made', async () => {
        upstream.enqueue({ kind: 'reply', toolCalls });
        const response = await complete(request({ tools: [weatherTool] }));
        expect(response.finishReason, providerObligations.tools).toBe('tool_calls');
        expect(response.toolCalls.length, providerObligations.tools).toBeGreaterThan(0);
        if (!usesUpstream) return;
        expect(response.toolCalls, providerObligations.tools).toEqual(toolCalls);
        expect(JSON.stringify(upstream.requests[0]?.body), providerObligations.tools).toContain(
          'get_weather',
        );
      });

      it.skipIf(skip.streaming)('assembles streamed tool-call deltas by index', async () => {
        upstream.enqueue({ kind: 'reply', toolCalls });
        const events = await collect(openStream(request({ tools: [weatherTool] })));
        expect(streamEventProblems(events), providerObligations.toolDeltas).toEqual([]);
        const folded = fold(events);
        expect(folded.finishReason, providerObligations.toolDeltas).toBe('tool_calls');
        if (usesUpstream) expect(folded.toolCalls, providerObligations.toolDeltas).toEqual(toolCalls);
      });

      it('sends a tool result back and gets the answer (round trip)', async () => {
        const response = await complete(
          request({
            tools: [weatherTool],
            messages: [
              { role: 'user', content: 'weather in Paris?' },
              { role: 'assistant', content: null, toolCalls: [toolCalls[0] as ToolCall] },
              { role: 'tool', toolCallId: 'call_conformance_1', content: 'sunny, 21 C' },
            ],
          }),
        );
        expect(response.finishReason, providerObligations.tools).toBe('stop');
        if (!usesUpstream) return;
        expect(response.text, providerObligations.tools).toBe('echo: sunny, 21 C');
        const sent = JSON.stringify(upstream.requests[0]?.body);
        expect(
          sent.split('call_conformance_1').length - 1,
          `the call id in the assistant turn and the result — ${providerObligations.tools}`,
        ).toBe(2);
        expect(sent, providerObligations.tools).toContain('sunny, 21 C');
      });
    });

    describe('abort', () => {
      it('rejects with AbortedError before any request when the signal is already aborted', async () => {
        const controller = new AbortController();
        controller.abort();
        const error = await failure(complete(request(), controller.signal), providerObligations.abortBefore);
        expectCode(error, 'aborted', providerObligations.abortBefore);
        if (usesUpstream) expect(upstream.requests, providerObligations.abortBefore).toHaveLength(0);
      });

      it.skipIf(skip.upstream)(
        'aborts a call waiting for headers promptly and closes the socket',
        async () => {
          upstream.enqueue({ kind: 'hang' });
          const controller = new AbortController();
          const call = complete(request(), controller.signal);
          await until(() => upstream.requests.length === 1, 'the request to reach the upstream');
          controller.abort();
          const outcome = await settleWithin(call, abortWithinMs);
          expect(
            outcome.state,
            `the call rejects within ${abortWithinMs} ms of the abort — ${providerObligations.abortWaiting}`,
          ).toBe('rejected');
          const error = (outcome as { error: unknown }).error;
          expect(BulwarkError.isInstance(error) && error.code, providerObligations.abortWaiting).toBe(
            'aborted',
          );
          await socketsClosed(providerObligations.abortWaiting);
        },
      );

      it.skipIf(skip.upstream || skip.streaming)(
        'aborts mid-stream promptly and closes the socket',
        async () => {
          upstream.enqueue({ kind: 'stall', afterChunks: 4 });
          const controller = new AbortController();
          const iterator = openStream(
            request({
              messages: [{ role: 'user', content: 'please keep streaming words until the caller aborts' }],
            }),
            controller.signal,
          )[Symbol.asyncIterator]();
          const nextEvent = () => within(iterator.next(), abortWithinMs, providerObligations.streamShape);
          let next = await nextEvent();
          while (!next.done && next.value.type !== 'text-delta') next = await nextEvent();
          expect(next.done, `a text delta before the stall — ${providerObligations.streamShape}`).toBe(false);
          controller.abort();
          // Events already buffered may still arrive; then the stream must fail with AbortedError, never end
          // as if complete, and all of it within the bound.
          const deadline = Date.now() + abortWithinMs;
          let settled: Awaited<ReturnType<typeof settleWithin<IteratorResult<StreamEvent>>>>;
          do {
            settled = await settleWithin(iterator.next(), Math.max(1, deadline - Date.now()));
            if (settled.state === 'fulfilled') {
              expect(
                settled.value.done,
                `the aborted stream ended quietly instead of throwing — ${providerObligations.abortStream}`,
              ).toBe(false);
              expect(
                settled.value.value?.type,
                `an aborted stream must not finish — ${providerObligations.abortStream}`,
              ).not.toBe('finish');
            }
          } while (settled.state === 'fulfilled');
          expect(
            settled.state,
            `the stream fails within ${abortWithinMs} ms of the abort — ${providerObligations.abortStream}`,
          ).toBe('rejected');
          const error = (settled as { error: unknown }).error;
          expect(BulwarkError.isInstance(error) && error.code, providerObligations.abortStream).toBe(
            'aborted',
          );
          await socketsClosed(providerObligations.abortStream);
        },
      );

      it.skipIf(skip.upstream || skip.streaming)(
        'closes the socket when the consumer stops iterating early',
        async () => {
          upstream.enqueue({ kind: 'stall', afterChunks: 4 });
          const readUntilFirstDelta = async () => {
            for await (const event of openStream(
              request({ messages: [{ role: 'user', content: 'a b c d e f' }] }),
            )) {
              if (event.type === 'text-delta') break;
            }
          };
          // `break` calls the generator's return(): a provider that awaits the stalled body there never returns.
          await within(readUntilFirstDelta(), abortWithinMs, providerObligations.earlyBreak);
          await socketsClosed(providerObligations.earlyBreak);
        },
      );
    });

    describe.skipIf(skip.httpFaults || skip.upstream)('error mapping', () => {
      const cases: Array<{
        title: string;
        behavior: FakeBehavior;
        code: BulwarkErrorCode;
        status?: number;
        retryAfterMs?: number;
      }> = [
        {
          title: '429 with retry-after → RateLimitError with retryAfterMs',
          behavior: { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
          code: 'rate_limited',
          status: 429,
          retryAfterMs: 2000,
        },
        {
          title: '500 → ServerError',
          behavior: { kind: 'status', status: 500 },
          code: 'server_error',
          status: 500,
        },
        {
          title: '502 → ServerError',
          behavior: { kind: 'status', status: 502 },
          code: 'server_error',
          status: 502,
        },
        {
          title: '503 → ServerError',
          behavior: { kind: 'status', status: 503 },
          code: 'server_error',
          status: 503,
        },
        {
          title: '529 → OverloadedError',
          behavior: { kind: 'status', status: 529 },
          code: 'overloaded',
          status: 529,
        },
        {
          title: '400 context length → ContextLengthError',
          behavior: { kind: 'status', status: 400, error: 'context-length' },
          code: 'context_length_exceeded',
          status: 400,
        },
        {
          title: '400 → InvalidRequestError',
          behavior: { kind: 'status', status: 400 },
          code: 'invalid_request',
          status: 400,
        },
        {
          title: '401 → AuthenticationError',
          behavior: { kind: 'status', status: 401 },
          code: 'authentication',
          status: 401,
        },
        {
          title: '403 → PermissionDeniedError',
          behavior: { kind: 'status', status: 403 },
          code: 'permission',
          status: 403,
        },
        {
          title: '404 → NotFoundError',
          behavior: { kind: 'status', status: 404 },
          code: 'not_found',
          status: 404,
        },
        { title: 'socket reset → ConnectionError', behavior: { kind: 'reset' }, code: 'connection_error' },
      ];
      for (const testCase of cases) {
        it(testCase.title, async () => {
          upstream.enqueue(testCase.behavior);
          const obligation =
            testCase.behavior.kind === 'reset'
              ? providerObligations.connectionError
              : providerObligations.httpError;
          const error = await failure(complete(request()), obligation);
          expectCode(error, testCase.code, obligation);
          if (testCase.status !== undefined) expect(error.status, obligation).toBe(testCase.status);
          if (testCase.retryAfterMs !== undefined)
            expect(error.retryAfterMs, `retry-after as retryAfterMs — ${obligation}`).toBe(
              testCase.retryAfterMs,
            );
          expectOneUpstreamRequest();
          expectNoKeyIn(error);
        });
      }

      it('malformed JSON → InvalidResponseError with the raw body', async () => {
        upstream.enqueue({ kind: 'malformed' });
        const error = await failure(complete(request()), providerObligations.invalidResponse);
        expectCode(error, 'invalid_response', providerObligations.invalidResponse);
        expect(error.rawBody, providerObligations.invalidResponse).toContain('broken');
        expectOneUpstreamRequest();
      });
    });

    describe.skipIf(skip.upstream)('rate-limit headers', () => {
      it('parses the rate-limit headers of every answer into response.rateLimit', async () => {
        upstream.setRateLimit({ rpm: 120, tpm: 90_000 });
        const response = await complete(request());
        const rateLimit = response.rateLimit;
        expect(rateLimit, providerObligations.rateLimit).toMatchObject({
          limitRequests: 120,
          remainingRequests: 119,
          limitTokens: 90_000,
        });
        expect(rateLimit?.remainingTokens).toBeGreaterThan(0);
        expect(rateLimit?.remainingTokens).toBeLessThan(90_000);
        expect(rateLimit?.resetRequestsMs).toBeGreaterThanOrEqual(0);
        expect(rateLimit?.resetRequestsMs).toBeLessThanOrEqual(60_000);
        expect(rateLimit?.resetTokensMs).toBeGreaterThanOrEqual(0);
        expect(rateLimit?.resetTokensMs).toBeLessThanOrEqual(60_000);
      });

      it.skipIf(skip.streaming)('puts them on the start event of a stream', async () => {
        upstream.setRateLimit({ rpm: 50 });
        const events = await collect(openStream(request()));
        const start = events[0] as Extract<StreamEvent, { type: 'start' }>;
        expect(
          start.rateLimit,
          `rate limit on the start event — ${providerObligations.rateLimit}`,
        ).toMatchObject({
          limitRequests: 50,
          remainingRequests: 49,
        });
      });

      it.skipIf(skip.httpFaults)('maps the 429 of an exhausted bucket with its retry-after', async () => {
        upstream.setRateLimit({ rpm: 1 });
        await complete(request());
        const error = await failure(complete(request()), providerObligations.httpError);
        expectCode(error, 'rate_limited', providerObligations.httpError);
        expect(error.retryAfterMs, providerObligations.httpError).toBeGreaterThan(55_000);
        expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
        expect(upstream.stats).toEqual({ requests: 2, rateLimited: 1 });
      });
    });

    it.skipIf(skip.embeddings)('embeds deterministically when the provider supports it', async (context) => {
      if (provider.embed === undefined || !provider.capabilities.embeddings) {
        context.skip('the provider has no embeddings');
        return;
      }
      const embed = provider.embed.bind(provider);
      const model = options.embeddingModel ?? 'text-embedding-3-small';
      const first = await embed({ model, input: ['red apple', 'green pear'] }, createTestCallContext());
      const again = await embed({ model, input: ['red apple'] }, createTestCallContext());
      expect(first.embeddings).toHaveLength(2);
      expect(first.embeddings[0]?.length).toBeGreaterThan(0);
      expect(first.embeddings[0]?.length).toBe(first.embeddings[1]?.length);
      for (const [index, value] of (again.embeddings[0] ?? []).entries()) {
        expect(value).toBeCloseTo(first.embeddings[0]?.[index] ?? Number.NaN, 5);
      }
    });
  });
}
