import { toBulwarkError } from '../errors/classify.js';
import { InvalidResponseError } from '../errors/errors.js';
import type { CallContext, ProviderV1 } from '../provider.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { ChatResponse, FinishReason, Usage } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import type { ProviderPassthroughV1, WireFacts, WireHeadV1, WireRequestV1 } from './wire.js';

/**
 * The provider's passthrough when this call may use it: the call carries a wire request
 * (`context.wire`) in the provider's own format, streaming as the call does. Otherwise undefined, and
 * the normalized request goes to `complete` / `stream` (translation).
 */
export function passthroughFor(
  provider: ProviderV1,
  context: CallContext,
): { passthrough: ProviderPassthroughV1; wire: WireRequestV1 } | undefined {
  const wire = context.wire;
  const passthrough =
    provider.passthrough?.format === wire?.format
      ? provider.passthrough
      : provider.passthroughs?.find((candidate) => candidate.format === wire?.format);
  if (!wire || !passthrough) return undefined;
  if (context.target && passthrough.servesModel?.(context.target.model) === false) return undefined;
  if ((wire.body.stream === true) !== context.stream) return undefined;
  return { passthrough, wire };
}

function mismatch(provider: string, model: string, expected: string): InvalidResponseError {
  return new InvalidResponseError({
    message: `${provider} passthrough answered with the wrong kind of response (expected ${expected})`,
    provider,
    model,
  });
}

/**
 * A passthrough call as a `ChatResponse`: the upstream's body on `wire`, the tapped facts (id, model,
 * usage, finish reason) in the normalized fields so usage, cost and cache policies read them as usual.
 */
export async function completeThroughWire(
  provider: ProviderV1,
  route: { passthrough: ProviderPassthroughV1; wire: WireRequestV1 },
  request: ChatRequest,
  context: CallContext,
): Promise<ChatResponse> {
  const answer = await route.passthrough.call(route.wire, request.model, context);
  if (answer.kind !== 'json') {
    await closeFrames(answer.frames);
    throw mismatch(provider.name, request.model, 'a JSON answer');
  }
  const facts: WireFacts = answer.facts;
  const response: ChatResponse = {
    id: facts.id ?? '',
    provider: provider.name,
    model: facts.model ?? request.model,
    text: facts.text ?? '',
    toolCalls: [],
    finishReason: facts.finishReason ?? 'other',
    attempts: [],
    wire: { ...headOf(answer), body: answer.body },
  };
  if (facts.usage) response.usage = facts.usage;
  if (answer.requestId !== undefined) response.requestId = answer.requestId;
  return response;
}

function headOf(answer: WireHeadV1): WireHeadV1 {
  const head: WireHeadV1 = { format: answer.format, status: answer.status, headers: answer.headers };
  if (answer.requestId !== undefined) head.requestId = answer.requestId;
  return head;
}

async function closeFrames(frames: AsyncIterable<unknown>): Promise<void> {
  await frames[Symbol.asyncIterator]().return?.();
}

/**
 * A passthrough stream as stream events: `start` (with the answer's head on `wire`), one `wire` event
 * per frame the caller sees (frames with output mark `content`, which commits the stream under the
 * held-preamble rule), then the upstream's own `usage` and the `finish` it reported. A failure carries
 * the usage reported so far.
 */
export async function* streamThroughWire(
  provider: ProviderV1,
  route: { passthrough: ProviderPassthroughV1; wire: WireRequestV1 },
  request: ChatRequest,
  context: CallContext,
): AsyncGenerator<StreamEvent> {
  const answer = await route.passthrough.call(route.wire, request.model, context);
  if (answer.kind !== 'stream') throw mismatch(provider.name, request.model, 'a stream');
  const start: StreamEvent = {
    type: 'start',
    id: '',
    provider: provider.name,
    model: request.model,
    wire: headOf(answer),
  };
  if (answer.requestId !== undefined) start.requestId = answer.requestId;
  yield start;
  let usage: Usage | undefined;
  let finishReason: FinishReason | undefined;
  try {
    for await (const frame of answer.frames) {
      const facts = frame.facts;
      if (facts?.usage) usage = facts.usage;
      if (facts?.finishReason) finishReason = facts.finishReason;
      if (frame.data === '') continue;
      const event: StreamEvent = { type: 'wire', data: frame.data };
      if (facts?.content) event.content = true;
      if (facts?.text) event.text = facts.text;
      yield event;
    }
  } catch (thrown) {
    const error = toBulwarkError(thrown, context.signal);
    if (!error.usage && usage) error.usage = usage;
    throw error;
  }
  if (usage) yield { type: 'usage', usage };
  yield { type: 'finish', finishReason: finishReason ?? 'other' };
}
