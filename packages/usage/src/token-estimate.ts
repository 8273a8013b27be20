import type { ChatRequest, Usage } from '@bulwark/core';

/** Characters per token the estimates assume (English text averages about 4 for GPT and Claude tokenizers). */
export const charactersPerToken = 4;
/** Tokens added per message for role markers and separators. */
export const tokensPerMessage = 4;
/** Tokens counted for an image part (the low-detail price of one OpenAI image tile). */
export const tokensPerImage = 85;

/** Tokens in `text` by the chars/4 rule, rounded up. Zero for empty text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / charactersPerToken);
}

/**
 * A rough prompt-token count for `request`: chars/4 over every message's text, tool-call arguments,
 * tool definitions and the response schema, plus {@link tokensPerMessage} per message and
 * {@link tokensPerImage} per image. Not a tokenizer: it exists to size budget reservations and to
 * estimate the usage of a stream that never reported its own.
 */
export function estimateRequestTokens(request: ChatRequest): number {
  let characters = 0;
  let extraTokens = 0;
  for (const message of request.messages) {
    extraTokens += tokensPerMessage;
    const content = message.content;
    if (typeof content === 'string') {
      characters += content.length;
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === 'text') characters += part.text.length;
        else extraTokens += tokensPerImage;
      }
    }
    if (message.role === 'assistant' && message.toolCalls) {
      for (const call of message.toolCalls) characters += call.name.length + call.arguments.length;
    }
  }
  if (request.tools) {
    for (const tool of request.tools) {
      characters +=
        tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.parameters).length;
    }
  }
  if (request.responseFormat?.type === 'json_schema') {
    characters += JSON.stringify(request.responseFormat.schema).length;
  }
  return Math.ceil(characters / charactersPerToken) + extraTokens;
}

/**
 * Usage for a stream that ended without reporting any (aborted, cut): the prompt estimate plus chars/4
 * of the output that was received. Flagged `estimated: true`.
 */
export function estimateUsage(request: ChatRequest, outputCharacters: number): Usage {
  const inputTokens = estimateRequestTokens(request);
  const outputTokens = Math.ceil(outputCharacters / charactersPerToken);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
}
