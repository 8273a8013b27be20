import type { PartialOutput } from '../errors/errors.js';
import type { ReasoningBlock, ToolCall } from '../types/chat-request.js';
import type {
  CacheStatus,
  ChatResponse,
  FinishReason,
  RateLimitInfo,
  TokenLogprob,
  Usage,
} from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import type { WireHeadV1 } from '../wire/wire.js';

/**
 * Folds stream events into a response, one event at a time. Tool-call deltas are assembled by index.
 * Use it to build the final response of a stream, or the partial output of a cut one.
 */
export class StreamAccumulator {
  id = '';
  provider = '';
  model = '';
  requestId: string | undefined;
  rateLimit: RateLimitInfo | undefined;
  cache: CacheStatus | undefined;
  usage: Usage | undefined;
  finishReason: FinishReason | undefined;
  stopSequence: string | undefined;
  /** Reasoning blocks in order; a block is open for more text until it gets its signature. */
  readonly reasoning: ReasoningBlock[] = [];
  refusal: string | undefined;
  logprobs: TokenLogprob[] | undefined;
  private reasoningOpen = false;
  private readonly textParts: string[] = [];
  private readonly calls = new Map<number, ToolCall>();
  /** Number of content events seen (text or tool-call deltas). */
  contentEvents = 0;
  /** The upstream's head, for a passthrough stream. */
  wire: WireHeadV1 | undefined;
  private readonly frames: string[] = [];

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'start':
        this.id = event.id;
        this.provider = event.provider;
        this.model = event.model;
        this.requestId = event.requestId;
        this.rateLimit = event.rateLimit;
        this.cache = event.cache;
        this.wire = event.wire;
        break;
      case 'wire':
        if (event.content) this.contentEvents += 1;
        if (event.text) this.textParts.push(event.text);
        this.frames.push(event.data);
        break;
      case 'text-delta':
        this.contentEvents += 1;
        if (event.refusal) this.refusal = (this.refusal ?? '') + event.text;
        else this.textParts.push(event.text);
        if (event.logprobs) {
          this.logprobs ??= [];
          this.logprobs.push(...event.logprobs);
        }
        break;
      case 'reasoning-delta': {
        this.contentEvents += 1;
        if (event.redacted !== undefined) {
          this.reasoning.push({ type: 'redacted-reasoning', data: event.redacted });
          this.reasoningOpen = false;
          break;
        }
        let block = this.reasoning[this.reasoning.length - 1];
        if (!this.reasoningOpen || block?.type !== 'reasoning') {
          block = { type: 'reasoning', text: '' };
          this.reasoning.push(block);
          this.reasoningOpen = true;
        }
        if (event.text) block.text += event.text;
        if (event.signature !== undefined) {
          block.signature = (block.signature ?? '') + event.signature;
          this.reasoningOpen = false;
        }
        break;
      }
      case 'tool-call-delta': {
        this.contentEvents += 1;
        const call = this.calls.get(event.index);
        if (call) {
          if (event.id) call.id = event.id;
          if (event.name) call.name = event.name;
          call.arguments += event.argumentsDelta;
        } else {
          this.calls.set(event.index, {
            id: event.id ?? '',
            name: event.name ?? '',
            arguments: event.argumentsDelta,
          });
        }
        break;
      }
      case 'usage':
        this.usage = event.usage;
        break;
      case 'finish':
        this.finishReason = event.finishReason;
        if (event.stopSequence !== undefined) this.stopSequence = event.stopSequence;
        break;
    }
  }

  get text(): string {
    if (this.textParts.length > 1) {
      const joined = this.textParts.join('');
      this.textParts.length = 0;
      this.textParts.push(joined);
    }
    return this.textParts[0] ?? '';
  }

  get toolCalls(): ToolCall[] {
    return [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ ...call }));
  }

  /** True once the stream ended with a `finish` event. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  partial(): PartialOutput {
    const partial: PartialOutput = { text: this.text, toolCalls: this.toolCalls };
    if (this.usage) partial.usage = this.usage;
    if (this.finishReason) partial.finishReason = this.finishReason;
    return partial;
  }

  /** The response the stream amounts to. `finishReason` is `other` when no finish event came. */
  toResponse(): ChatResponse {
    const response: ChatResponse = {
      id: this.id,
      provider: this.provider,
      model: this.model,
      text: this.text,
      toolCalls: this.toolCalls,
      finishReason: this.finishReason ?? 'other',
      attempts: [],
    };
    if (this.stopSequence !== undefined) response.stopSequence = this.stopSequence;
    if (this.reasoning.length > 0) response.reasoning = this.reasoning.map((block) => ({ ...block }));
    if (this.refusal !== undefined) response.refusal = this.refusal;
    if (this.logprobs) response.logprobs = this.logprobs;
    if (this.usage) response.usage = this.usage;
    if (this.rateLimit) response.rateLimit = this.rateLimit;
    if (this.cache) response.cache = this.cache;
    if (this.requestId) response.requestId = this.requestId;
    if (this.wire) response.wire = { ...this.wire, frames: [...this.frames] };
    return response;
  }
}

/** Consumes a stream and returns the response it amounts to. */
export async function collectStream(events: AsyncIterable<StreamEvent>): Promise<ChatResponse> {
  const accumulator = new StreamAccumulator();
  for await (const event of events) accumulator.add(event);
  return accumulator.toResponse();
}

/** Turns a complete response into the stream of events that would have produced it (cache replay, mocks). */
export function* responseToEvents(
  response: ChatResponse,
  options: { chunkSize?: number } = {},
): Generator<StreamEvent> {
  const start: StreamEvent = {
    type: 'start',
    id: response.id,
    provider: response.provider,
    model: response.model,
  };
  if (response.rateLimit) start.rateLimit = response.rateLimit;
  if (response.cache) start.cache = response.cache;
  if (response.requestId) start.requestId = response.requestId;
  const wire = response.wire;
  if (wire?.frames) {
    // A passthrough answer replays as the frames the upstream sent, byte for byte.
    start.wire = { format: wire.format, status: wire.status, headers: wire.headers };
    if (wire.requestId !== undefined) start.wire.requestId = wire.requestId;
    yield start;
    for (const data of wire.frames) yield { type: 'wire', data, content: true };
    if (response.usage) yield { type: 'usage', usage: response.usage };
    yield { type: 'finish', finishReason: response.finishReason };
    return;
  }
  yield start;
  for (const block of response.reasoning ?? []) {
    if (block.type === 'redacted-reasoning') yield { type: 'reasoning-delta', redacted: block.data };
    else {
      const event: StreamEvent = { type: 'reasoning-delta', text: block.text };
      if (block.signature !== undefined) event.signature = block.signature;
      yield event;
    }
  }
  const size = options.chunkSize ?? 0;
  if (response.text.length > 0) {
    if (size <= 0) {
      yield { type: 'text-delta', text: response.text };
    } else {
      for (let at = 0; at < response.text.length; at += size) {
        yield { type: 'text-delta', text: response.text.slice(at, at + size) };
      }
    }
  }
  for (let index = 0; index < response.toolCalls.length; index += 1) {
    const call = response.toolCalls[index]!;
    yield { type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta: call.arguments };
  }
  if (response.refusal) yield { type: 'text-delta', text: response.refusal, refusal: true };
  if (response.usage) yield { type: 'usage', usage: response.usage };
  const finish: StreamEvent = { type: 'finish', finishReason: response.finishReason };
  if (response.stopSequence !== undefined) finish.stopSequence = response.stopSequence;
  yield finish;
}
