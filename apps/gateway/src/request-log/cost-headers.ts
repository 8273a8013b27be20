import type { ChatResponse } from '@bulwark/core';

/**
 * `x-bulwark-cost-usd` (the call's USD, failed-but-billed attempts included; absent when a model has no
 * price or no usage middleware runs) and `x-bulwark-tokens` (`input=N, output=N`) of a non-streamed answer.
 */
export function costHeaders(answer: ChatResponse): Record<string, string> {
  const headers: Record<string, string> = {};
  if (answer.costUsd !== undefined) headers['x-bulwark-cost-usd'] = String(answer.costUsd);
  if (answer.usage)
    headers['x-bulwark-tokens'] = `input=${answer.usage.inputTokens}, output=${answer.usage.outputTokens}`;
  return headers;
}
