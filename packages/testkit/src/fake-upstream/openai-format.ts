import { randomBytes } from 'node:crypto';
import { type ResolvedReply, randomId, splitArguments, splitText } from './reply-content.js';
import type { StatusBehavior } from './types.js';

/** Ids and metadata shared by every chunk of one OpenAI answer. */
export interface OpenAIEnvelope {
  id: string;
  created: number;
  model: string;
  systemFingerprint: string;
}

export function openaiEnvelope(model: string): OpenAIEnvelope {
  return {
    id: `chatcmpl-${randomId(29)}`,
    created: Math.floor(Date.now() / 1000),
    model,
    systemFingerprint: `fp_${randomBytes(5).toString('hex')}`,
  };
}

export const openaiRequestId = (): string => `req_${randomBytes(16).toString('hex')}`;
export const openaiToolCallId = (): string => `call_${randomId(24)}`;

function usageBody(usage: ResolvedReply['usage']) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** A `chat.completion` object, pretty-printed as the API sends it. */
export function openaiCompletionBody(reply: ResolvedReply, envelope: OpenAIEnvelope): string {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: reply.text === '' && reply.toolCalls.length > 0 ? null : reply.text,
  };
  if (reply.toolCalls.length > 0) {
    message.tool_calls = reply.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  message.refusal = null;
  message.annotations = [];
  return JSON.stringify(
    {
      id: envelope.id,
      object: 'chat.completion',
      created: envelope.created,
      model: envelope.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason }],
      usage: usageBody(reply.usage),
      service_tier: 'default',
      system_fingerprint: envelope.systemFingerprint,
    },
    null,
    2,
  );
}

/**
 * The SSE frames of a streamed answer: role chunk, content and tool-call deltas, finish chunk, the usage
 * chunk (with `stream_options.include_usage`; then every chunk carries `"usage":null`) and `[DONE]`.
 */
export function openaiStreamFrames(
  reply: ResolvedReply,
  envelope: OpenAIEnvelope,
  includeUsage: boolean,
): string[] {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null): string => {
    const body: Record<string, unknown> = {
      id: envelope.id,
      object: 'chat.completion.chunk',
      created: envelope.created,
      model: envelope.model,
      service_tier: 'default',
      system_fingerprint: envelope.systemFingerprint,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (includeUsage) body.usage = null;
    return `data: ${JSON.stringify(body)}\n\n`;
  };
  const frames: string[] = [];
  const textPieces = splitText(reply.text);
  if (reply.toolCalls.length > 0 && textPieces.length === 0) {
    frames.push(chunk({ role: 'assistant', content: null, refusal: null }, null));
  } else {
    frames.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
  }
  for (const piece of textPieces) frames.push(chunk({ content: piece }, null));
  reply.toolCalls.forEach((call, index) => {
    frames.push(
      chunk(
        {
          tool_calls: [
            { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
          ],
        },
        null,
      ),
    );
    for (const piece of splitArguments(call.arguments)) {
      frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
    }
  });
  frames.push(chunk({}, reply.finishReason));
  if (includeUsage) {
    frames.push(
      `data: ${JSON.stringify({
        id: envelope.id,
        object: 'chat.completion.chunk',
        created: envelope.created,
        model: envelope.model,
        service_tier: 'default',
        system_fingerprint: envelope.systemFingerprint,
        choices: [],
        usage: usageBody(reply.usage),
      })}\n\n`,
    );
  }
  frames.push('data: [DONE]\n\n');
  return frames;
}

/** The in-stream error chunk OpenAI sends when a stream fails after it started. */
export function openaiStreamErrorFrame(error: { type: string; message: string }): string {
  return `data: ${JSON.stringify({ error: { message: error.message, type: error.type, param: null, code: null } })}\n\n`;
}

interface OpenAIErrorFields {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** The key as OpenAI echoes it in a 401: first 6 and last 4 characters, the middle masked. */
export function maskApiKey(key: string): string {
  return key.length <= 10
    ? '*'.repeat(key.length)
    : `${key.slice(0, 6)}${'*'.repeat(key.length - 10)}${key.slice(-4)}`;
}

function defaultError(
  status: number,
  model: string,
  special: StatusBehavior['error'],
  presentedKey: string | undefined,
): OpenAIErrorFields {
  if (special === 'context-length') {
    return {
      message:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    };
  }
  if (special === 'content-filter') {
    return {
      message:
        'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
      type: 'invalid_request_error',
      param: null,
      code: 'content_policy_violation',
    };
  }
  switch (status) {
    case 400:
      return { message: 'Invalid request.', type: 'invalid_request_error', param: null, code: null };
    case 401:
      return {
        message: `Incorrect API key provided${presentedKey ? `: ${maskApiKey(presentedKey)}` : ''}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      };
    case 403:
      return {
        message: 'You are not allowed to sample from this model',
        type: 'invalid_request_error',
        param: null,
        code: null,
      };
    case 404:
      return {
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      };
    case 429:
      return {
        message: `Rate limit reached for ${model} on requests per min (RPM). Please try again later.`,
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      };
    case 500:
      return {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      };
    case 503:
      return { message: 'Service Unavailable.', type: 'server_error', param: null, code: null };
    default:
      return status >= 500
        ? { message: 'Bad gateway.', type: 'server_error', param: null, code: null }
        : {
            message: `Request failed with status ${status}.`,
            type: 'invalid_request_error',
            param: null,
            code: null,
          };
  }
}

/** OpenAI's error body for a status, indented by 4 spaces and ending in a newline as the API sends it. */
export function openaiErrorBody(
  status: number,
  model: string,
  special?: StatusBehavior['error'],
  override?: Partial<OpenAIErrorFields>,
  presentedKey?: string,
): string {
  return `${JSON.stringify({ error: { ...defaultError(status, model, special, presentedKey), ...override } }, null, 4)}\n`;
}
