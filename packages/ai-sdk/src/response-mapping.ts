import type { FinishReason, ReasoningBlock, ToolCall, Usage } from '@bulwark/core';
import type { AISDKFinishReason, AISDKUsage } from './spec.js';

/** The AI SDK's unified finish reason in the normalized vocabulary (`error`, `interrupted` → `other`). */
export function toFinishReason(reason: AISDKFinishReason | string | undefined): FinishReason {
  const unified = typeof reason === 'string' ? reason : reason?.unified;
  switch (unified) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** The AI SDK's usage (input includes cache reads and writes) as normalized usage. */
export function toUsage(usage: AISDKUsage | undefined): Usage | undefined {
  if (usage === undefined) return undefined;
  const inputTokens = usage.inputTokens.total;
  const outputTokens = usage.outputTokens.total;
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  const result: Usage = {
    inputTokens: inputTokens ?? 0,
    outputTokens: outputTokens ?? 0,
    totalTokens: (inputTokens ?? 0) + (outputTokens ?? 0),
  };
  if (usage.inputTokens.cacheRead !== undefined) result.cachedInputTokens = usage.inputTokens.cacheRead;
  if (usage.inputTokens.cacheWrite !== undefined) result.cacheWriteTokens = usage.inputTokens.cacheWrite;
  if (usage.outputTokens.reasoning !== undefined) result.reasoningTokens = usage.outputTokens.reasoning;
  return result;
}

type Metadata = Record<string, Record<string, unknown> | undefined> | undefined;

/** Anthropic's thinking signature (or redacted data) as the AI SDK carries it in provider metadata. */
export function reasoningSignature(metadata: Metadata): { signature?: string; redacted?: string } {
  const anthropic = metadata?.anthropic;
  const signature = anthropic?.signature;
  const redacted = anthropic?.redactedData;
  return {
    ...(typeof signature === 'string' ? { signature } : {}),
    ...(typeof redacted === 'string' ? { redacted } : {}),
  };
}

/** What a generate result's content parts say, in normalized form. */
export function fromContent(content: ReadonlyArray<{ type: string } & Record<string, unknown>>): {
  text: string;
  toolCalls: ToolCall[];
  reasoning: ReasoningBlock[];
} {
  let text = '';
  const toolCalls: ToolCall[] = [];
  const reasoning: ReasoningBlock[] = [];
  for (const part of content) {
    if (part.type === 'text') text += String(part.text);
    else if (part.type === 'tool-call' && part.providerExecuted !== true) {
      const input = part.input;
      toolCalls.push({
        id: String(part.toolCallId),
        name: String(part.toolName),
        arguments: typeof input === 'string' ? input : JSON.stringify(input),
      });
    } else if (part.type === 'reasoning') {
      const { signature, redacted } = reasoningSignature(part.providerMetadata as Metadata);
      if (redacted !== undefined) reasoning.push({ type: 'redacted-reasoning', data: redacted });
      else
        reasoning.push({
          type: 'reasoning',
          text: String(part.text),
          ...(signature === undefined ? {} : { signature }),
        });
    }
  }
  return { text, toolCalls, reasoning };
}
