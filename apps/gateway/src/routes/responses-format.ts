import {
  type AssistantMessage,
  type BulwarkError,
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  type FinishReason,
  InvalidRequestError,
  type StreamEvent,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
  type UserContentPart,
  validateChatRequest,
} from '@bulwark/core';

/** A Responses API request in the normalized form, with what the translation could not carry. */
export interface ParsedResponsesRequest {
  request: ChatRequest;
  stream: boolean;
  /** Paths of the caller's fields no Chat-Completions or Messages target can receive (`tools[0]`, `background`). */
  dropped: string[];
  /** Request fields the answer echoes (`instructions`, `tools`, `text`, …), as sent. */
  echo: Record<string, unknown>;
}

const bad = (field: string, message: string): never => {
  throw new InvalidRequestError({ field, message: `Invalid request: ${field} ${message}` });
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function contentParts(
  content: unknown,
  path: string,
  dropped: string[],
): { text: string; parts: UserContentPart[] } {
  if (typeof content === 'string') return { text: content, parts: [{ type: 'text', text: content }] };
  if (!Array.isArray(content)) return bad(path, 'must be a string or an array of content parts');
  const parts: UserContentPart[] = [];
  let text = '';
  // biome-ignore lint/suspicious/useIterableCallbackReturn: `return bad(…)` throws (it returns never)
  content.forEach((part, index) => {
    const at = `${path}[${index}]`;
    if (!isRecord(part)) return bad(at, 'must be an object');
    if (part.type === 'input_text' || part.type === 'output_text') {
      if (typeof part.text !== 'string') return bad(`${at}.text`, 'must be a string');
      parts.push({ type: 'text', text: part.text });
      text += part.text;
    } else if (part.type === 'input_image' && typeof part.image_url === 'string') {
      const detail = part.detail;
      parts.push({
        type: 'image',
        url: part.image_url,
        ...(detail === 'low' || detail === 'high' || detail === 'auto' ? { detail } : {}),
      });
    } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
      parts.push({ type: 'text', text: part.refusal });
      text += part.refusal;
    } else dropped.push(at);
  });
  return { text, parts };
}

/**
 * Translates a Responses API body (`POST /v1/responses`) to the normalized chat request, for targets that
 * speak Chat Completions or Messages: text and image input items, `instructions`, function tools with
 * their calls and outputs, `text.format` (JSON schema / JSON object), `reasoning.effort`,
 * `max_output_tokens`, sampling options. Everything else — built-in tools, `background`,
 * `previous_response_id`, `store: true`, `include`, reasoning items, file inputs — is listed in `dropped`.
 */
export function parseResponsesRequest(body: unknown): ParsedResponsesRequest {
  if (!isRecord(body)) return bad('body', 'must be a JSON object');
  const dropped: string[] = [];
  const model = body.model;
  if (typeof model !== 'string' || model.trim() === '') return bad('model', 'must be a non-empty string');
  const messages: ChatMessage[] = [];
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== 'string') return bad('instructions', 'must be a string');
    messages.push({ role: 'system', content: body.instructions });
  }
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) {
    let pendingCalls: AssistantMessage | undefined;
    // biome-ignore lint/suspicious/useIterableCallbackReturn: `return bad(…)` throws (it returns never)
    input.forEach((item, index) => {
      const at = `input[${index}]`;
      if (!isRecord(item)) return bad(at, 'must be an object');
      const type = item.type ?? 'message';
      if (type === 'function_call') {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string')
          return bad(at, 'needs call_id and name');
        const call = {
          id: item.call_id,
          name: item.name,
          arguments: typeof item.arguments === 'string' ? item.arguments : '{}',
        };
        const last = messages.at(-1);
        if (last && last === pendingCalls) pendingCalls.toolCalls = [...(pendingCalls.toolCalls ?? []), call];
        else {
          pendingCalls = { role: 'assistant', content: null, toolCalls: [call] };
          messages.push(pendingCalls);
        }
        return;
      }
      if (type === 'function_call_output') {
        if (typeof item.call_id !== 'string') return bad(`${at}.call_id`, 'must be a string');
        const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '');
        messages.push({ role: 'tool', toolCallId: item.call_id, content: output });
        return;
      }
      if (type !== 'message') {
        dropped.push(at);
        return;
      }
      const role = item.role;
      const { text, parts } = contentParts(item.content, `${at}.content`, dropped);
      if (role === 'user') messages.push({ role: 'user', content: parts });
      else if (role === 'system' || role === 'developer') messages.push({ role: 'system', content: text });
      else if (role === 'assistant') {
        const last = messages.at(-1);
        // An assistant message that follows its own tool calls' turn opens a new turn.
        if (last?.role === 'assistant' && last !== pendingCalls && typeof last.content === 'string')
          last.content += text;
        else messages.push({ role: 'assistant', content: text });
      } else return bad(`${at}.role`, 'must be user, system, developer or assistant');
    });
  } else return bad('input', 'must be a string or an array of input items');
  if (messages.length === 0) return bad('input', 'must not be empty');

  const request: ChatRequest = { model, messages };
  if (Array.isArray(body.tools)) {
    const tools: ToolDefinition[] = [];
    body.tools.forEach((tool, index) => {
      if (isRecord(tool) && tool.type === 'function' && typeof tool.name === 'string') {
        tools.push({
          name: tool.name,
          ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
          parameters: isRecord(tool.parameters) ? tool.parameters : { type: 'object', properties: {} },
          ...(typeof tool.strict === 'boolean' ? { strict: tool.strict } : {}),
        });
      } else dropped.push(`tools[${index}]`);
    });
    if (tools.length > 0) request.tools = tools;
  }
  const choice = body.tool_choice;
  if (choice === 'auto' || choice === 'none' || choice === 'required')
    request.toolChoice = choice as ToolChoice;
  else if (isRecord(choice) && choice.type === 'function' && typeof choice.name === 'string')
    request.toolChoice = { type: 'tool', name: choice.name };
  else if (choice !== undefined) dropped.push('tool_choice');
  const format = isRecord(body.text) ? body.text.format : undefined;
  if (isRecord(format)) {
    if (format.type === 'json_schema' && isRecord(format.schema)) {
      request.responseFormat = {
        type: 'json_schema',
        name: typeof format.name === 'string' ? format.name : 'response',
        schema: format.schema,
        ...(typeof format.description === 'string' ? { description: format.description } : {}),
        ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
      };
    } else if (format.type === 'json_object') request.responseFormat = { type: 'json' };
    else if (format.type !== 'text') dropped.push('text.format');
  }
  if (isRecord(body.reasoning)) {
    const effort = body.reasoning.effort;
    if (effort === 'minimal' || effort === 'low' || effort === 'medium' || effort === 'high')
      request.reasoning = { effort };
    if (body.reasoning.summary !== undefined && body.reasoning.summary !== null)
      dropped.push('reasoning.summary');
  }
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) {
    if (!Number.isInteger(body.max_output_tokens) || (body.max_output_tokens as number) < 1)
      return bad('max_output_tokens', 'must be a positive integer');
    request.maxTokens = body.max_output_tokens as number;
  }
  if (typeof body.temperature === 'number') request.temperature = body.temperature;
  if (typeof body.top_p === 'number') request.topP = body.top_p;
  if (typeof body.parallel_tool_calls === 'boolean') request.parallelToolCalls = body.parallel_tool_calls;
  if (typeof body.user === 'string') request.user = body.user;
  if (isRecord(body.metadata)) request.metadata = body.metadata as Record<string, string>;
  for (const field of ['background', 'previous_response_id', 'include', 'prompt', 'conversation'] as const) {
    const value = body[field];
    if (
      value !== undefined &&
      value !== null &&
      value !== false &&
      !(Array.isArray(value) && value.length === 0)
    )
      dropped.push(field);
  }
  if (body.store === true) dropped.push('store');
  if (body.truncation === 'auto') dropped.push('truncation');
  validateChatRequest(request);
  const echo: Record<string, unknown> = {};
  for (const field of [
    'instructions',
    'tools',
    'tool_choice',
    'text',
    'reasoning',
    'max_output_tokens',
    'temperature',
    'top_p',
    'parallel_tool_calls',
    'metadata',
    'user',
  ])
    if (body[field] !== undefined) echo[field] = body[field];
  return { request, stream: body.stream === true, dropped, echo };
}

/** `resp_…` for a chat answer's id. */
export function responseIdFor(id: string): string {
  return id.startsWith('resp_') ? id : `resp_${id.replace(/[^A-Za-z0-9]/g, '')}`;
}

function responsesUsage(usage: Usage | undefined): Record<string, unknown> | null {
  if (!usage) return null;
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens,
  };
}

function incompleteDetails(finish: FinishReason | undefined): { reason: string } | null {
  if (finish === 'length') return { reason: 'max_output_tokens' };
  if (finish === 'content_filter') return { reason: 'content_filter' };
  return null;
}

function shell(
  id: string,
  model: string,
  createdAt: number,
  echo: Record<string, unknown>,
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed',
): Record<string, unknown> {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: echo.instructions ?? null,
    max_output_tokens: echo.max_output_tokens ?? null,
    metadata: echo.metadata ?? {},
    model,
    output: [],
    parallel_tool_calls: echo.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: echo.reasoning ?? { effort: null, summary: null },
    store: false,
    temperature: echo.temperature ?? 1,
    text: echo.text ?? { format: { type: 'text' } },
    tool_choice: echo.tool_choice ?? 'auto',
    tools: echo.tools ?? [],
    top_p: echo.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: echo.user ?? null,
  };
}

/** The Responses API answer for a chat answer: a `message` item for the text, a `function_call` item per call. */
export function responsesAnswer(
  response: ChatResponse,
  echo: Record<string, unknown>,
  createdAt: number,
): unknown {
  const id = responseIdFor(response.id);
  const incomplete = incompleteDetails(response.finishReason);
  const output: unknown[] = [];
  if (response.text !== '' || response.toolCalls.length === 0) {
    output.push({
      type: 'message',
      id: `msg_${id.slice(5)}`,
      status: incomplete ? 'incomplete' : 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: response.text, annotations: [], logprobs: [] }],
    });
  }
  response.toolCalls.forEach((call, index) => {
    output.push({
      type: 'function_call',
      id: `fc_${id.slice(5)}_${index}`,
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
      status: 'completed',
    });
  });
  return {
    ...shell(id, response.model, createdAt, echo, incomplete ? 'incomplete' : 'completed'),
    incomplete_details: incomplete,
    output,
    usage: responsesUsage(response.usage),
  };
}

/**
 * Encodes normalized stream events as the Responses API's SSE events, in the order the SDK's
 * `responses.stream()` helper accumulates them, each with an increasing `sequence_number`:
 * `response.created`, `response.in_progress`, then per output item `response.output_item.added`
 * (+ `response.content_part.added`, `response.output_text.delta`…, `response.output_text.done`,
 * `response.content_part.done` for text; `response.function_call_arguments.delta`…/`.done` for a call),
 * `response.output_item.done`, and `response.completed` — or `response.failed`, never `completed`, when
 * the stream broke.
 */
export function createResponsesEncoder(echo: Record<string, unknown>, createdAt: number) {
  let sequence = 0;
  let id = 'resp_pending';
  let model = '';
  const output: Array<Record<string, unknown>> = [];
  let message: { index: number; item: Record<string, unknown>; text: string } | undefined;
  const calls = new Map<number, { index: number; item: Record<string, unknown> }>();
  let usage: Usage | undefined;
  let finish: FinishReason | undefined;
  let started = false;

  const frame = (type: string, data: Record<string, unknown>): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
  const snapshot = (status: 'in_progress' | 'completed' | 'incomplete' | 'failed') => ({
    ...shell(id, model, createdAt, echo, status),
    output: structuredClone(output),
  });
  const begin = (): string => {
    if (started) return '';
    started = true;
    return (
      frame('response.created', { response: snapshot('in_progress') }) +
      frame('response.in_progress', { response: snapshot('in_progress') })
    );
  };
  const closeMessage = (): string => {
    if (!message) return '';
    const { index, item, text } = message;
    message = undefined;
    const part = { type: 'output_text', text, annotations: [], logprobs: [] };
    item.content = [part];
    item.status = 'completed';
    output[index] = item;
    const itemId = item.id as string;
    return (
      frame('response.output_text.done', {
        item_id: itemId,
        output_index: index,
        content_index: 0,
        text,
        logprobs: [],
      }) +
      frame('response.content_part.done', { item_id: itemId, output_index: index, content_index: 0, part }) +
      frame('response.output_item.done', { output_index: index, item })
    );
  };
  const closeCalls = (): string => {
    let text = '';
    for (const { index, item } of calls.values()) {
      item.status = 'completed';
      output[index] = item;
      text +=
        frame('response.function_call_arguments.done', {
          item_id: item.id,
          output_index: index,
          name: item.name,
          arguments: item.arguments,
        }) + frame('response.output_item.done', { output_index: index, item });
    }
    calls.clear();
    return text;
  };

  return {
    encode(event: StreamEvent): string {
      switch (event.type) {
        case 'start':
          id = responseIdFor(event.id);
          model = event.model;
          return begin();
        case 'text-delta': {
          if (event.text === '') return '';
          let text = begin();
          if (!message) {
            text += closeCalls();
            const index = output.length;
            const item = {
              type: 'message',
              id: `msg_${id.slice(5)}_${index}`,
              status: 'in_progress',
              role: 'assistant',
              content: [],
            };
            output.push(item);
            message = { index, item, text: '' };
            text +=
              frame('response.output_item.added', { output_index: index, item: structuredClone(item) }) +
              frame('response.content_part.added', {
                item_id: item.id,
                output_index: index,
                content_index: 0,
                part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
              });
          }
          message.text += event.text;
          return (
            text +
            frame('response.output_text.delta', {
              item_id: message.item.id,
              output_index: message.index,
              content_index: 0,
              delta: event.text,
              logprobs: [],
            })
          );
        }
        case 'tool-call-delta': {
          let text = begin() + closeMessage();
          let call = calls.get(event.index);
          if (!call) {
            const index = output.length;
            const item = {
              type: 'function_call',
              id: `fc_${id.slice(5)}_${index}`,
              call_id: event.id ?? `call_${index}`,
              name: event.name ?? '',
              arguments: '',
              status: 'in_progress',
            };
            output.push(item);
            call = { index, item };
            calls.set(event.index, call);
            text += frame('response.output_item.added', { output_index: index, item: structuredClone(item) });
          }
          if (event.argumentsDelta === '') return text;
          call.item.arguments = (call.item.arguments as string) + event.argumentsDelta;
          return (
            text +
            frame('response.function_call_arguments.delta', {
              item_id: call.item.id,
              output_index: call.index,
              delta: event.argumentsDelta,
            })
          );
        }
        case 'usage':
          usage = event.usage;
          return '';
        case 'finish':
          finish = event.finishReason;
          return '';
        default:
          return '';
      }
    },
    end(): string {
      let text = begin() + closeMessage() + closeCalls();
      const incomplete = incompleteDetails(finish);
      text += frame(incomplete ? 'response.incomplete' : 'response.completed', {
        response: {
          ...snapshot(incomplete ? 'incomplete' : 'completed'),
          incomplete_details: incomplete,
          usage: responsesUsage(usage),
        },
      });
      return text;
    },
    fail(error: BulwarkError): string {
      return (
        begin() +
        frame('response.failed', {
          response: {
            ...snapshot('failed'),
            error: {
              code: error.code === 'rate_limited' ? 'rate_limit_exceeded' : 'server_error',
              message: error.message,
            },
            usage: responsesUsage(usage),
          },
        })
      );
    },
  };
}
