import { randomUUID } from 'node:crypto';
import {
  type ChatRequest,
  type ChatResponse,
  ConfigError,
  type ProviderCallOptions,
  type ProviderCapabilities,
  type ProviderV1,
  type RateLimitInfo,
  type StreamEvent,
} from '@bulwark/core';
import { abortReason } from '@bulwark/provider-utils';
import { errorFromAISDK } from './error-mapping.js';
import { rateLimitFromHeaders, requestIdFromHeaders } from './rate-limit.js';
import { toCallOptions } from './request-mapping.js';
import { fromContent, reasoningSignature, toFinishReason, toUsage } from './response-mapping.js';
import type { AISDKLanguageModel, AISDKStreamPart, SupportedSpecification } from './spec.js';

export interface AISDKProviderOptions {
  /** The instance name targets refer to (`gemini`, `bedrock`…). */
  name: string;
  /**
   * The AI SDK model to call: one model object (`google('gemini-2.5-pro')`), or a factory that makes the
   * model for a request's model id (`(id) => google(id)`), so one provider serves several models.
   */
  model: AISDKLanguageModel | ((modelId: string) => AISDKLanguageModel);
  /** The kind of API, for telemetry (`gen_ai.system`). Default: the model's `provider` up to the first dot. */
  system?: string;
  /** Models this provider is known to serve (pass-through routing). */
  models?: readonly string[];
  /** Overrides of the advertised capabilities. Default: streaming, tools, vision and JSON mode. */
  capabilities?: Partial<ProviderCapabilities>;
  /** Time source for parsing `retry-after` dates. Default `Date.now`. */
  now?: () => number;
}

const isModel = (value: unknown): value is AISDKLanguageModel =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as AISDKLanguageModel).doGenerate === 'function' &&
  typeof (value as AISDKLanguageModel).doStream === 'function';

function specificationOf(model: AISDKLanguageModel, name: string): SupportedSpecification {
  const version = (model as { specificationVersion?: unknown }).specificationVersion;
  if (version === 'v4' || version === 'v3') return version;
  throw new ConfigError({
    path: `providers.${name}.model`,
    message: `providers.${name}.model implements AI SDK specification ${String(version)}; @bulwark/ai-sdk supports v4 (ai 7, @ai-sdk/* 4) and v3 (ai 6, @ai-sdk/* 3)`,
  });
}

/**
 * Any AI SDK language model (`v4` or `v3`) as a Bulwark provider. It calls the model's `doGenerate` /
 * `doStream` directly: those make exactly one HTTP request (the AI SDK retries only in `generateText`
 * and friends, through `maxRetries`), so Bulwark stays the one retry owner. The call's signal is the
 * model's `abortSignal`; a stream the consumer stops reading aborts it too, closing the socket.
 */
export function createAISDKProvider(options: AISDKProviderOptions): ProviderV1 {
  const { name } = options;
  const now = options.now ?? Date.now;
  const fixed = isModel(options.model) ? options.model : undefined;
  if (fixed) specificationOf(fixed, name);
  else if (typeof options.model !== 'function') {
    throw new ConfigError({
      path: `providers.${name}.model`,
      message: `providers.${name}.model must be an AI SDK language model or a function from model id to one`,
    });
  }
  const modelFor = (modelId: string): AISDKLanguageModel => {
    if (fixed) return fixed;
    const made = (options.model as (id: string) => AISDKLanguageModel)(modelId);
    if (!isModel(made)) {
      throw new ConfigError({
        path: `providers.${name}.model`,
        message: `providers.${name}.model returned something that is not an AI SDK language model for "${modelId}"`,
      });
    }
    return made;
  };
  const system = options.system ?? (fixed ? fixed.provider.split('.')[0] : undefined) ?? 'ai-sdk';

  const report = (call: ProviderCallOptions, model: string, rateLimit: RateLimitInfo): void => {
    if (call.events.has('ratelimit:headers'))
      call.events.emit('ratelimit:headers', { provider: name, model, rateLimit });
  };
  /** The mapped error; an HTTP error answer's rate-limit headers are reported too (its remaining counts matter most). */
  const failure = (error: unknown, call: ProviderCallOptions, model: string) => {
    const headers = (error as { responseHeaders?: Record<string, string> } | undefined)?.responseHeaders;
    const rateLimit = typeof headers === 'object' ? rateLimitFromHeaders(headers, now()) : undefined;
    if (rateLimit && !call.signal.aborted) report(call, model, rateLimit);
    return errorFromAISDK(error, { provider: name, model, signal: call.signal, now: now() });
  };

  async function complete(request: ChatRequest, call: ProviderCallOptions): Promise<ChatResponse> {
    if (call.signal.aborted) throw abortReason(call.signal);
    const model = modelFor(request.model);
    const version = specificationOf(model, name);
    try {
      const result = await model.doGenerate(toCallOptions(version, request, call.signal) as never);
      const headers = result.response?.headers;
      const rateLimit = rateLimitFromHeaders(headers, now());
      const requestId = requestIdFromHeaders(headers);
      const { text, toolCalls, reasoning } = fromContent(
        result.content as unknown as Array<{ type: string } & Record<string, unknown>>,
      );
      const usage = toUsage(result.usage);
      const response: ChatResponse = {
        id: result.response?.id ?? `aisdk-${randomUUID()}`,
        provider: name,
        model: result.response?.modelId ?? request.model,
        text,
        toolCalls,
        finishReason: toFinishReason(result.finishReason),
        attempts: [],
      };
      if (reasoning.length > 0) response.reasoning = reasoning;
      if (usage) response.usage = usage;
      if (rateLimit) {
        response.rateLimit = rateLimit;
        report(call, request.model, rateLimit);
      }
      if (requestId) response.requestId = requestId;
      return response;
    } catch (error) {
      throw failure(error, call, request.model);
    }
  }

  async function* stream(request: ChatRequest, call: ProviderCallOptions): AsyncGenerator<StreamEvent> {
    const scope = { provider: name, model: request.model, signal: call.signal };
    if (call.signal.aborted) throw abortReason(call.signal);
    // Our own controller: stopping early (break) aborts the request even when the caller's signal does not.
    const controller = new AbortController();
    const forward = (): void => controller.abort(call.signal.reason);
    call.signal.addEventListener('abort', forward, { once: true });
    let reader: ReadableStreamDefaultReader<AISDKStreamPart> | undefined;
    let finished = false;
    try {
      const model = modelFor(request.model);
      const version = specificationOf(model, name);
      let result: Awaited<ReturnType<AISDKLanguageModel['doStream']>>;
      try {
        result = await model.doStream(toCallOptions(version, request, controller.signal) as never);
      } catch (error) {
        throw failure(error, call, request.model);
      }
      const headers = result.response?.headers;
      const rateLimit = rateLimitFromHeaders(headers, now());
      if (rateLimit) {
        report(call, request.model, rateLimit);
      }
      const requestId = requestIdFromHeaders(headers);
      const start: Extract<StreamEvent, { type: 'start' }> = {
        type: 'start',
        id: '',
        provider: name,
        model: request.model,
      };
      if (rateLimit) start.rateLimit = rateLimit;
      if (requestId) start.requestId = requestId;
      let started = false;
      const toolIndex = new Map<string, number>();
      const streamedInput = new Set<string>();
      const signed = new Set<string>();
      reader = (result.stream as ReadableStream<AISDKStreamPart>).getReader();
      while (true) {
        let next: ReadableStreamReadResult<AISDKStreamPart>;
        try {
          next = await reader.read();
        } catch (error) {
          throw errorFromAISDK(error, { ...scope, now: now() });
        }
        if (next.done) break;
        const part = next.value;
        if (part.type === 'response-metadata') {
          if (part.id) start.id = part.id;
          if (part.modelId) start.model = part.modelId;
          continue;
        }
        if (part.type === 'stream-start' || part.type === 'raw') continue;
        if (part.type === 'error') throw errorFromAISDK(part.error, { ...scope, now: now() });
        if (!started) {
          started = true;
          if (start.id === '') start.id = `aisdk-${randomUUID()}`;
          yield start;
        }
        switch (part.type) {
          case 'text-delta':
            if (part.delta !== '') yield { type: 'text-delta', text: part.delta };
            break;
          case 'reasoning-start':
          case 'reasoning-delta':
          case 'reasoning-end': {
            if (part.type === 'reasoning-delta' && part.delta !== '')
              yield { type: 'reasoning-delta', text: part.delta };
            // Anthropic's signature arrives on a delta (`signature_delta`) or the block's end; redacted
            // thinking on its start: each is sent once per block.
            const { signature, redacted } = reasoningSignature(
              part.providerMetadata as Parameters<typeof reasoningSignature>[0],
            );
            if (signature !== undefined && !signed.has(part.id)) {
              signed.add(part.id);
              yield { type: 'reasoning-delta', signature };
            }
            if (redacted !== undefined && !signed.has(part.id)) {
              signed.add(part.id);
              yield { type: 'reasoning-delta', redacted };
            }
            break;
          }
          case 'tool-input-start': {
            if (part.providerExecuted) break;
            const index = toolIndex.size;
            toolIndex.set(part.id, index);
            yield { type: 'tool-call-delta', index, id: part.id, name: part.toolName, argumentsDelta: '' };
            break;
          }
          case 'tool-input-delta': {
            const index = toolIndex.get(part.id);
            if (index === undefined) break;
            streamedInput.add(part.id);
            yield { type: 'tool-call-delta', index, argumentsDelta: part.delta };
            break;
          }
          case 'tool-call': {
            if (part.providerExecuted) break;
            const index = toolIndex.get(part.toolCallId);
            if (index === undefined) {
              // Providers that send whole calls (Gemini): one delta with everything.
              const fresh = toolIndex.size;
              toolIndex.set(part.toolCallId, fresh);
              yield {
                type: 'tool-call-delta',
                index: fresh,
                id: part.toolCallId,
                name: part.toolName,
                argumentsDelta: part.input,
              };
            } else if (!streamedInput.has(part.toolCallId)) {
              yield { type: 'tool-call-delta', index, argumentsDelta: part.input };
            }
            break;
          }
          case 'finish': {
            const usage = toUsage(part.usage);
            if (usage) yield { type: 'usage', usage };
            finished = true;
            yield { type: 'finish', finishReason: toFinishReason(part.finishReason) };
            break;
          }
          default:
            break;
        }
      }
      if (call.signal.aborted) throw abortReason(call.signal);
    } finally {
      call.signal.removeEventListener('abort', forward);
      if (!finished) controller.abort();
      if (reader) {
        const pending = reader.cancel().catch(() => undefined);
        if (finished) await pending;
      }
    }
  }

  return {
    specificationVersion: 'v1',
    name,
    system,
    capabilities: {
      streaming: true,
      tools: true,
      vision: true,
      jsonMode: true,
      ...options.capabilities,
    },
    ...(options.models === undefined ? {} : { models: options.models }),
    complete,
    stream,
  };
}
