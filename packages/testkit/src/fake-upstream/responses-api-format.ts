import { type ResolvedReply, randomId, splitArguments, splitText } from './reply-content.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function itemText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

/**
 * A Responses API body (`POST /v1/responses`) as the chat shape the reply builder reads: `instructions`
 * as the system prompt, each message item and function call output as a message.
 */
export function responsesAsChat(body: Record<string, unknown>): Record<string, unknown> {
  const messages: Array<{ role: string; content: string }> = [];
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) {
    for (const item of input) {
      if (!isRecord(item)) continue;
      if (item.type === 'function_call_output')
        messages.push({ role: 'tool', content: typeof item.output === 'string' ? item.output : '' });
      else if ((item.type ?? 'message') === 'message')
        messages.push({ role: String(item.role ?? 'user'), content: itemText(item.content) });
    }
  }
  return {
    ...(typeof body.instructions === 'string' ? { system: body.instructions } : {}),
    messages,
  };
}

/** `resp_…` */
export const responsesId = (): string => `resp_${randomId(40)}`;

function usageBody(usage: ResolvedReply['usage']) {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

function outputItems(reply: ResolvedReply, id: string): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown>> = [];
  if (reply.text !== '' || reply.toolCalls.length === 0) {
    items.push({
      type: 'message',
      id: `msg_${id.slice(5)}`,
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: reply.text, annotations: [], logprobs: [] }],
    });
  }
  reply.toolCalls.forEach((call, index) => {
    items.push({
      type: 'function_call',
      id: `fc_${id.slice(5)}_${index}`,
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
      status: 'completed',
    });
  });
  return items;
}

function responseObject(
  reply: ResolvedReply,
  id: string,
  model: string,
  status: 'in_progress' | 'completed' | 'incomplete',
  output: Array<Record<string, unknown>>,
): Record<string, unknown> {
  return {
    id,
    object: 'response',
    created_at: 1_700_000_000,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: null,
    max_output_tokens: null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: status === 'in_progress' ? null : usageBody(reply.usage),
    metadata: {},
  };
}

/** The whole Responses API answer for a reply. */
export function responsesBody(reply: ResolvedReply, id: string, model: string): string {
  const status = reply.finishReason === 'length' ? 'incomplete' : 'completed';
  return JSON.stringify(responseObject(reply, id, model, status, outputItems(reply, id)), null, 2);
}

/** The Responses API SSE events for a reply, in the order OpenAI sends them, numbered from 0. */
export function responsesStreamFrames(reply: ResolvedReply, id: string, model: string): string[] {
  let sequence = 0;
  const frame = (type: string, data: Record<string, unknown>): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
  const frames = [
    frame('response.created', { response: responseObject(reply, id, model, 'in_progress', []) }),
    frame('response.in_progress', { response: responseObject(reply, id, model, 'in_progress', []) }),
  ];
  const items = outputItems(reply, id);
  items.forEach((item, outputIndex) => {
    if (item.type === 'message') {
      const text = reply.text;
      const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      frames.push(
        frame('response.output_item.added', {
          output_index: outputIndex,
          item: { ...item, status: 'in_progress', content: [] },
        }),
        frame('response.content_part.added', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          part,
        }),
      );
      for (const delta of splitText(text)) {
        frames.push(
          frame('response.output_text.delta', {
            item_id: item.id,
            output_index: outputIndex,
            content_index: 0,
            delta,
            logprobs: [],
          }),
        );
      }
      frames.push(
        frame('response.output_text.done', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          text,
          logprobs: [],
        }),
        frame('response.content_part.done', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          part: { ...part, text },
        }),
      );
    } else {
      frames.push(
        frame('response.output_item.added', {
          output_index: outputIndex,
          item: { ...item, arguments: '', status: 'in_progress' },
        }),
      );
      for (const delta of splitArguments(item.arguments as string)) {
        frames.push(
          frame('response.function_call_arguments.delta', {
            item_id: item.id,
            output_index: outputIndex,
            delta,
          }),
        );
      }
      frames.push(
        frame('response.function_call_arguments.done', {
          item_id: item.id,
          output_index: outputIndex,
          arguments: item.arguments,
        }),
      );
    }
    frames.push(frame('response.output_item.done', { output_index: outputIndex, item }));
  });
  const status = reply.finishReason === 'length' ? 'incomplete' : 'completed';
  frames.push(
    frame(status === 'incomplete' ? 'response.incomplete' : 'response.completed', {
      response: responseObject(reply, id, model, status, items),
    }),
  );
  return frames;
}

/** The `error` event the Responses API sends when a stream fails after it started. */
export function responsesStreamErrorFrame(error: { type: string; message: string }): string {
  return `event: error\ndata: ${JSON.stringify({ type: 'error', code: error.type, message: error.message, param: null, sequence_number: 999 })}\n\n`;
}
