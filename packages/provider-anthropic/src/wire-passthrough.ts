import type { Usage, WireFacts } from '@bulwark/core';
import { errorFromHttpResponse, type FrameTap, type SseFrame } from '@bulwark/provider-utils';
import { type AnthropicUsage, mapStopReason, mapUsage } from './response-mapping.js';

type Block = { type?: unknown; text?: unknown };
type Message = {
  id?: unknown;
  model?: unknown;
  content?: Block[];
  stop_reason?: string | null;
  usage?: AnthropicUsage | null;
};
type Event = {
  type?: unknown;
  message?: Message;
  content_block?: Block;
  delta?: { type?: unknown; text?: unknown; stop_reason?: string | null };
  usage?: AnthropicUsage | null;
  error?: { type?: unknown; message?: unknown };
};

function idAndModel(message: Message | undefined, facts: WireFacts): void {
  if (typeof message?.id === 'string') facts.id = message.id;
  if (typeof message?.model === 'string') facts.model = message.model;
}

/** The facts of a whole Messages answer: id, model, its text blocks joined, stop reason, usage. */
export function tapAnthropicJson(text: string): WireFacts {
  const facts: WireFacts = {};
  let body: Message;
  try {
    body = JSON.parse(text) as Message;
  } catch {
    return facts;
  }
  if (typeof body !== 'object' || body === null) return facts;
  idAndModel(body, facts);
  if (Array.isArray(body.content)) {
    let joined = '';
    for (const block of body.content)
      if (block?.type === 'text' && typeof block.text === 'string') joined += block.text;
    facts.text = joined;
  }
  if (body.stop_reason) facts.finishReason = mapStopReason(body.stop_reason);
  const usage = mapUsage(body.usage);
  if (usage) facts.usage = usage;
  return facts;
}

const errorStatus: Record<string, number> = {
  overloaded_error: 529,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
};

/**
 * The tap of a Messages stream: output starts with the first content block that is not an empty
 * text block (tool use, thinking, redacted thinking) or the first delta; usage is `message_start`'s
 * input counts with `message_delta`'s output count; `message_stop` completes the answer; an `error`
 * event is thrown as the error it names (overloaded is retryable before output).
 */
export class AnthropicFrameTap implements FrameTap {
  finished = false;
  usage: Usage | undefined;
  private counts: AnthropicUsage = {};

  constructor(private readonly provider: string) {}

  read(frame: SseFrame): { facts?: WireFacts; show: string } {
    const data = frame.data;
    if (data === '' || data.charCodeAt(0) !== 123) return { show: frame.raw };
    let event: Event;
    try {
      event = JSON.parse(data) as Event;
    } catch {
      return { show: frame.raw };
    }
    const facts: WireFacts = {};
    switch (event.type ?? frame.event) {
      case 'message_start':
        idAndModel(event.message, facts);
        this.count(event.message?.usage, facts);
        break;
      case 'content_block_start': {
        const block = event.content_block;
        if (block && !(block.type === 'text' && (block.text === '' || block.text === undefined)))
          facts.content = true;
        break;
      }
      case 'content_block_delta':
        facts.content = true;
        if (event.delta?.type === 'text_delta' && typeof event.delta.text === 'string')
          facts.text = event.delta.text;
        break;
      case 'message_delta':
        if (event.delta?.stop_reason) facts.finishReason = mapStopReason(event.delta.stop_reason);
        this.count(event.usage, facts);
        break;
      case 'message_stop':
        this.finished = true;
        break;
      case 'error': {
        const type = typeof event.error?.type === 'string' ? event.error.type : 'api_error';
        throw errorFromHttpResponse({
          status: errorStatus[type] ?? 500,
          errorType: type,
          message:
            typeof event.error?.message === 'string' ? event.error.message : 'the stream reported an error',
          body: data,
          provider: this.provider,
        });
      }
    }
    return { facts, show: frame.raw };
  }

  private count(usage: AnthropicUsage | null | undefined, facts: WireFacts): void {
    if (!usage || typeof usage !== 'object') return;
    for (const [key, value] of Object.entries(usage))
      if (typeof value === 'number') (this.counts as Record<string, number>)[key] = value;
    const mapped = mapUsage(this.counts);
    if (mapped) {
      this.usage = mapped;
      facts.usage = mapped;
    }
  }
}
