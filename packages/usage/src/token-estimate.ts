import {
  type ChatRequest,
  countRequestTokens,
  fastTokenEstimator,
  messageFramingTokens,
  type TokenEstimatorV1,
  type Usage,
} from '@bulwark/core';

/**
 * @deprecated Estimates are per script now (`estimateTextTokens` in `@bulwark/core`); kept for the
 * callers that sized text by it. English averages about 4 characters a token.
 */
export const charactersPerToken = 4;
/** Tokens added per message for role markers and separators (core's `messageFramingTokens`). */
export const tokensPerMessage = messageFramingTokens;
/** @deprecated Images count 765 tokens (85 with `detail: 'low'`), as core's `countRequestTokens` does. */
export const tokensPerImage = 85;

/** Tokens in `text` by `estimator` (default: core's fast per-script estimate). Zero for empty text. */
export function estimateTokens(text: string, estimator: TokenEstimatorV1 = fastTokenEstimator): number {
  return estimator.countText(text);
}

/**
 * A prompt-token count for `request` by `estimator` (default: core's fast per-script estimate) plus the
 * chat framing: core's `countRequestTokens`. Not billing: it sizes budget reservations and estimates the
 * usage of a stream that never reported its own.
 */
export function estimateRequestTokens(
  request: ChatRequest,
  estimator: TokenEstimatorV1 = fastTokenEstimator,
): number {
  return countRequestTokens(request, estimator);
}

/**
 * Usage for a stream that ended without reporting any (aborted, cut): the prompt estimate plus the
 * estimate of the output text that was received. Flagged `estimated: true`.
 */
export function estimateUsage(
  request: ChatRequest,
  outputText: string,
  estimator: TokenEstimatorV1 = fastTokenEstimator,
): Usage {
  const inputTokens = countRequestTokens(request, estimator);
  const outputTokens = estimator.countText(outputText);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
}
