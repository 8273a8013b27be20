import type { Usage, WireFacts } from '@bulwark/core';
import type { FrameTap, SseFrame } from '@bulwark/provider-utils';
import { mapFinishReason, mapUsage, type OpenAIUsage } from './response-mapping.js';

type Delta = {
  content?: unknown;
  refusal?: unknown;
  tool_calls?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  function_call?: unknown;
};
type Chunk = {
  id?: unknown;
  model?: unknown;
  choices?: Array<{ delta?: Delta; finish_reason?: string | null; message?: Delta }>;
  usage?: OpenAIUsage | null;
};

function nonEmpty(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0);
}

function showsOutput(delta: Delta | undefined): boolean {
  if (!delta) return false;
  return (
    nonEmpty(delta.content) ||
    nonEmpty(delta.refusal) ||
    nonEmpty(delta.tool_calls) ||
    nonEmpty(delta.reasoning_content) ||
    nonEmpty(delta.reasoning) ||
    (typeof delta.function_call === 'object' && delta.function_call !== null)
  );
}

function idAndModel(chunk: Chunk, facts: WireFacts): void {
  if (typeof chunk.id === 'string') facts.id = chunk.id;
  if (typeof chunk.model === 'string') facts.model = chunk.model;
}

/** The facts of a whole Chat Completions answer: id, model, the first choice's text and finish, usage. */
export function tapOpenAIJson(text: string): WireFacts {
  const facts: WireFacts = {};
  let body: Chunk;
  try {
    body = JSON.parse(text) as Chunk;
  } catch {
    return facts;
  }
  if (typeof body !== 'object' || body === null) return facts;
  idAndModel(body, facts);
  const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
  if (typeof choice?.message?.content === 'string') facts.text = choice.message.content;
  if (choice?.finish_reason) facts.finishReason = mapFinishReason(choice.finish_reason);
  const usage = mapUsage(body.usage);
  if (usage) facts.usage = usage;
  return facts;
}

/** True when the caller asked for usage chunks itself (`stream_options.include_usage: true`). */
export function callerAskedForUsage(body: Readonly<Record<string, unknown>>): boolean {
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  return options?.include_usage === true;
}

/**
 * The body of a streamed passthrough: usage is asked for (`stream_options.include_usage`) when the
 * caller did not ask and the provider may send `stream_options`, so cost is exact.
 */
export function withStreamUsage(body: Record<string, unknown>): Record<string, unknown> {
  if (callerAskedForUsage(body)) return body;
  const options =
    typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
  return { ...body, stream_options: { ...options, include_usage: true } };
}

/**
 * The tap of a Chat Completions stream. When Bulwark asked for usage itself, the usage chunk
 * (`choices: []`) is hidden and the `"usage":null` every other chunk then carries is taken out, so
 * the caller sees the stream it asked for.
 */
export class OpenAIFrameTap implements FrameTap {
  finished = false;
  usage: Usage | undefined;

  constructor(private readonly hideUsage: boolean) {}

  read(frame: SseFrame): { facts?: WireFacts; show: string } {
    const data = frame.data;
    if (data === '[DONE]') {
      this.finished = true;
      return { show: frame.raw };
    }
    if (data === '' || data.charCodeAt(0) !== 123) return { show: frame.raw };
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      return { show: frame.raw };
    }
    const facts: WireFacts = {};
    idAndModel(chunk, facts);
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      if (showsOutput(choice.delta)) {
        facts.content = true;
        if (typeof choice.delta?.content === 'string') facts.text = (facts.text ?? '') + choice.delta.content;
      }
      if (choice.finish_reason) {
        facts.finishReason = mapFinishReason(choice.finish_reason);
        // Compatible servers that never send [DONE] end here.
        this.finished = true;
      }
    }
    const usage = mapUsage(chunk.usage);
    if (usage) {
      facts.usage = usage;
      this.usage = usage;
    }
    let show = frame.raw;
    if (this.hideUsage) {
      if (usage && choices.length === 0) show = '';
      else if (chunk.usage === null) show = show.replace(/,"usage":null|"usage":null,?/, '');
    }
    return { facts, show };
  }
}
