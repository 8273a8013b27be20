import {
  type ChatRequest,
  countRequestTokens,
  estimateTextTokens,
  fastTokenEstimator,
  type TokenEstimatorV1,
} from '@bulwark/core';

/** Counts the input tokens of a request. Plug one in through `createRateLimiter({ estimateTokens })`. */
export type TokenEstimator = (request: ChatRequest) => number;

/**
 * Input tokens of `request` by core's `countRequestTokens`: the fast per-script estimate (within ±25 %
 * of OpenAI's o200k on English, code, Chinese, Japanese and base64 — calibrated in core) plus the chat
 * framing, images at a fixed count and tool schemas by their JSON text. The same count usage reserves
 * budgets with, so the limiter and the budget agree. Never used for billing: the real usage corrects
 * the reservation after the call.
 */
export function estimateTokens(request: ChatRequest): number {
  return countRequestTokens(request, fastTokenEstimator);
}

/** A request counter from a token estimator (`loadO200kTokenEstimator()` of `@bulwark/usage` for exact counts). */
export function requestCounterFor(estimator: TokenEstimatorV1): TokenEstimator {
  return (request) => countRequestTokens(request, estimator);
}

/** @deprecated Use `estimateTextTokens` from `@bulwark/core`: the same per-script count. */
export const textTokens: (text: string) => number = estimateTextTokens;
