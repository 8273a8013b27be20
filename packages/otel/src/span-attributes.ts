import {
  type ChatRequest,
  type ChatResponse,
  redactSecrets,
  toBulwarkError,
  type Usage,
} from '@bulwark/core';
import { type Attributes, type Span, SpanStatusCode } from '@opentelemetry/api';

/** Attribute names this package writes (GenAI semantic conventions plus Bulwark's own). */
export const attributeNames = {
  operationName: 'gen_ai.operation.name',
  system: 'gen_ai.system',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestSeed: 'gen_ai.request.seed',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  errorType: 'error.type',
  callId: 'bulwark.call_id',
  tenant: 'bulwark.tenant',
  stream: 'bulwark.stream',
  provider: 'bulwark.provider',
  target: 'bulwark.target',
  attempt: 'bulwark.attempt',
  attempts: 'bulwark.attempts',
  errorClass: 'bulwark.error.class',
  errorRetryable: 'bulwark.error.retryable',
  errorStatus: 'bulwark.error.status',
  retryDelayMs: 'bulwark.retry.delay_ms',
  fallbackTaken: 'bulwark.fallback.taken',
  fallbackFrom: 'bulwark.fallback.from',
  cacheHit: 'bulwark.cache.hit',
  cacheStatus: 'bulwark.cache.status',
  breakerState: 'bulwark.breaker.state',
  queueWaitMs: 'bulwark.limiter.queue_wait_ms',
  timeToFirstTokenMs: 'bulwark.time_to_first_token_ms',
  usageEstimated: 'bulwark.usage.estimated',
  costUsd: 'bulwark.cost_usd',
  streamCancelled: 'bulwark.stream.cancelled',
} as const;

const a = attributeNames;

/** The `gen_ai.request.*` attributes of a request. */
export function requestAttributes(request: ChatRequest): Attributes {
  const attributes: Attributes = { [a.operationName]: 'chat', [a.requestModel]: request.model };
  if (request.maxTokens !== undefined) attributes[a.requestMaxTokens] = request.maxTokens;
  if (request.temperature !== undefined) attributes[a.requestTemperature] = request.temperature;
  if (request.topP !== undefined) attributes[a.requestTopP] = request.topP;
  if (request.stop !== undefined) attributes[a.requestStopSequences] = request.stop;
  if (request.seed !== undefined) attributes[a.requestSeed] = request.seed;
  return attributes;
}

export function usageAttributes(span: Span, usage: Usage | undefined): void {
  if (!usage) return;
  span.setAttribute(a.inputTokens, usage.inputTokens);
  span.setAttribute(a.outputTokens, usage.outputTokens);
  if (usage.cachedInputTokens !== undefined)
    span.setAttribute(a.cacheReadInputTokens, usage.cachedInputTokens);
  if (usage.cacheWriteTokens !== undefined)
    span.setAttribute(a.cacheCreationInputTokens, usage.cacheWriteTokens);
  if (usage.estimated) span.setAttribute(a.usageEstimated, true);
}

export function responseAttributes(span: Span, response: ChatResponse): void {
  span.setAttribute(a.responseModel, response.model);
  if (response.id) span.setAttribute(a.responseId, response.id);
  span.setAttribute(a.responseFinishReasons, [response.finishReason]);
  usageAttributes(span, response.usage);
}

/** Error type, class, retryability and status on the span, and an error status with a redacted message. */
export function recordError(span: Span, thrown: unknown): void {
  const error = toBulwarkError(thrown);
  span.setAttribute(a.errorType, error.code);
  span.setAttribute(a.errorClass, error.name);
  span.setAttribute(a.errorRetryable, error.retryable);
  if (error.status !== undefined) span.setAttribute(a.errorStatus, error.status);
  span.setStatus({ code: SpanStatusCode.ERROR, message: redactSecrets(error.message) });
}
