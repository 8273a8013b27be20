import { type ResolvedReply, randomId, splitArguments, splitText } from './reply-content.js';
import type { StatusBehavior } from './types.js';

export const anthropicMessageId = (): string => `msg_01${randomId(22)}`;
export const anthropicToolUseId = (): string => `toolu_01${randomId(22)}`;
export const anthropicRequestId = (): string => `req_011C${randomId(20)}`;

const stopReasons = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
} as const;

function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function startUsage(usage: ResolvedReply['usage'], outputTokens: number) {
  return {
    input_tokens: usage.inputTokens - usage.cachedInputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cachedInputTokens,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function contentBlocks(reply: ResolvedReply): Array<Record<string, unknown>> {
  const blocks: Array<Record<string, unknown>> = [];
  if (reply.text !== '' || reply.toolCalls.length === 0) blocks.push({ type: 'text', text: reply.text });
  for (const call of reply.toolCalls) {
    blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: parseInput(call.arguments) });
  }
  return blocks;
}

/** A Messages API `message` object (compact JSON, as the API sends it). */
export function anthropicMessageBody(reply: ResolvedReply, id: string, model: string): string {
  return JSON.stringify({
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: contentBlocks(reply),
    stop_reason: stopReasons[reply.finishReason],
    stop_sequence: null,
    usage: startUsage(reply.usage, reply.usage.outputTokens),
  });
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The SSE events of a streamed answer: `message_start`, per content block `content_block_start`,
 * deltas (`text_delta` / `input_json_delta`) and `content_block_stop`, a `ping` after the first block
 * start, `message_delta` with the stop reason and output usage, `message_stop`.
 */
export function anthropicStreamFrames(reply: ResolvedReply, id: string, model: string): string[] {
  const frames: string[] = [
    frame('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: startUsage(reply.usage, 1),
      },
    }),
  ];
  let index = 0;
  const textPieces = splitText(reply.text);
  if (textPieces.length > 0 || reply.toolCalls.length === 0) {
    frames.push(
      frame('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      }),
    );
    frames.push('event: ping\ndata: {"type": "ping"}\n\n');
    for (const piece of textPieces) {
      frames.push(
        frame('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'text_delta', text: piece },
        }),
      );
    }
    frames.push(frame('content_block_stop', { type: 'content_block_stop', index }));
    index += 1;
  }
  for (const call of reply.toolCalls) {
    frames.push(
      frame('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
      }),
    );
    if (index === 0) frames.push('event: ping\ndata: {"type": "ping"}\n\n');
    for (const piece of ['', ...splitArguments(call.arguments)]) {
      frames.push(
        frame('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: piece },
        }),
      );
    }
    frames.push(frame('content_block_stop', { type: 'content_block_stop', index }));
    index += 1;
  }
  frames.push(
    frame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReasons[reply.finishReason], stop_sequence: null },
      usage: { output_tokens: reply.usage.outputTokens },
    }),
  );
  frames.push(frame('message_stop', { type: 'message_stop' }));
  return frames;
}

/** The in-stream `event: error` Anthropic sends when a stream fails after it started. */
export function anthropicStreamErrorFrame(error: { type: string; message: string }): string {
  return `event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n`;
}

function defaultError(
  status: number,
  model: string,
  special: StatusBehavior['error'],
): { type: string; message: string } {
  if (special === 'context-length') {
    return { type: 'invalid_request_error', message: 'prompt is too long: 208310 tokens > 200000 maximum' };
  }
  if (special === 'content-filter') {
    return { type: 'invalid_request_error', message: 'Output blocked by content filtering policy' };
  }
  switch (status) {
    case 400:
      return { type: 'invalid_request_error', message: 'Invalid request.' };
    case 401:
      return { type: 'authentication_error', message: 'invalid x-api-key' };
    case 403:
      return {
        type: 'permission_error',
        message: 'Your API key does not have permission to use the specified resource.',
      };
    case 404:
      return { type: 'not_found_error', message: `model: ${model}` };
    case 413:
      return { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' };
    case 429:
      return {
        type: 'rate_limit_error',
        message:
          'This request would exceed the rate limit for your organization of requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.',
      };
    case 529:
      return { type: 'overloaded_error', message: 'Overloaded' };
    default:
      return status >= 500
        ? { type: 'api_error', message: 'Internal server error' }
        : { type: 'invalid_request_error', message: `Request failed with status ${status}.` };
  }
}

/** Anthropic's error body for a status: `{"type":"error","error":{type,message},"request_id":…}`. */
export function anthropicErrorBody(
  status: number,
  model: string,
  requestId: string,
  special?: StatusBehavior['error'],
  override?: { type?: string; message?: string },
): string {
  return JSON.stringify({
    type: 'error',
    error: { ...defaultError(status, model, special), ...override },
    request_id: requestId,
  });
}
