import type {
  JSONObject,
  JSONValue,
  LanguageModelV3,
  LanguageModelV4,
  LanguageModelV4Content,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from '@ai-sdk/provider';
import type {
  AttemptRecord,
  Bulwark,
  CacheControl,
  CacheStatus,
  CallMetadata,
  CallOptions,
  ChatResponse,
  FinishReason,
  StreamEvent,
  Usage,
} from '@bulwark/core';
import { fromCallOptions } from './prompt-to-request.js';
import type { AISDKCallOptions, SupportedSpecification } from './spec.js';

/** Per-call Bulwark options an AI SDK caller passes as `providerOptions: { bulwark: { … } }`. */
export interface BulwarkCallProviderOptions {
  /** Tenant, tags, priority, request id. */
  metadata?: CallMetadata;
  /** Cache directives for this call. */
  cache?: CacheControl;
  /** Total time the call may take, fallbacks included. */
  timeoutMs?: number;
}

export interface BulwarkModelOptions {
  /**
   * The specification of the model object: `v4` for `ai` 7 (default), `v3` for `ai` 6. Both majors
   * accept a model of their own specification.
   */
  specificationVersion?: SupportedSpecification;
  /** The `provider` the AI SDK reports (telemetry). Default `bulwark`. */
  provider?: string;
  /** Call options used for every call (merged under `providerOptions.bulwark`). */
  defaults?: BulwarkCallProviderOptions;
}

/** What `providerMetadata.bulwark` holds: where the answer came from and every attempt made for it. */
export interface BulwarkProviderMetadata {
  /** The provider instance that answered. */
  provider: string;
  /** The model that answered. */
  model: string;
  /** `hit` when served from Bulwark's cache. */
  cache: CacheStatus | null;
  attempts: AttemptRecord[];
  costUsd: number | null;
  requestId: string | null;
}

const unifiedFinish: Record<FinishReason, LanguageModelV4GenerateResult['finishReason']['unified']> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  content_filter: 'content-filter',
  other: 'other',
};

function toAISDKUsage(usage: Usage | undefined): LanguageModelV4Usage {
  const cacheRead = usage?.cachedInputTokens;
  const cacheWrite = usage?.cacheWriteTokens;
  const reasoning = usage?.reasoningTokens;
  return {
    inputTokens: {
      total: usage?.inputTokens,
      noCache: usage === undefined ? undefined : usage.inputTokens - (cacheRead ?? 0) - (cacheWrite ?? 0),
      cacheRead,
      cacheWrite,
    },
    outputTokens: {
      total: usage?.outputTokens,
      text: usage === undefined ? undefined : usage.outputTokens - (reasoning ?? 0),
      reasoning,
    },
  };
}

/** JSON without `undefined` members (provider metadata must be JSON values). */
const json = (value: unknown): JSONValue => JSON.parse(JSON.stringify(value)) as JSONValue;

function metadataOf(
  answer: { provider: string; model: string; cache?: CacheStatus; costUsd?: number; requestId?: string },
  attempts: readonly AttemptRecord[],
): { bulwark: JSONObject } {
  const metadata: BulwarkProviderMetadata = {
    provider: answer.provider,
    model: answer.model,
    cache: answer.cache ?? null,
    attempts: [...attempts],
    costUsd: answer.costUsd ?? null,
    requestId: answer.requestId ?? null,
  };
  return { bulwark: json(metadata) as JSONObject };
}

function callOptionsFor(
  options: AISDKCallOptions,
  defaults: BulwarkCallProviderOptions | undefined,
): CallOptions {
  const ours = (options.providerOptions?.bulwark ?? {}) as BulwarkCallProviderOptions;
  const merged = { ...defaults, ...ours };
  const call: CallOptions = {};
  if (options.abortSignal) call.signal = options.abortSignal;
  if (merged.metadata) call.metadata = merged.metadata;
  if (merged.cache) call.cache = merged.cache;
  if (merged.timeoutMs !== undefined) call.timeoutMs = merged.timeoutMs;
  return call;
}

function contentOf(response: ChatResponse): LanguageModelV4Content[] {
  const content: LanguageModelV4Content[] = [];
  for (const block of response.reasoning ?? []) {
    if (block.type === 'reasoning') {
      content.push({
        type: 'reasoning',
        text: block.text,
        ...(block.signature === undefined
          ? {}
          : { providerMetadata: { anthropic: { signature: block.signature } } }),
      });
    } else {
      content.push({
        type: 'reasoning',
        text: '',
        providerMetadata: { anthropic: { redactedData: block.data } },
      });
    }
  }
  if (response.text !== '') content.push({ type: 'text', text: response.text });
  for (const call of response.toolCalls) {
    content.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: call.arguments });
  }
  return content;
}

/** Bulwark stream events as AI SDK stream parts; an error thrown by the call becomes an `error` part (no `finish`). */
function partsOf(
  events: AsyncIterable<StreamEvent> & { readonly trail: readonly AttemptRecord[] },
  includeRaw: boolean,
): ReadableStream<LanguageModelV4StreamPart> {
  const iterator = events[Symbol.asyncIterator]();
  let textId: string | undefined;
  let reasoningId: string | undefined;
  let blocks = 0;
  const calls = new Map<number, { id: string; name: string; input: string }>();
  let start: Extract<StreamEvent, { type: 'start' }> | undefined;
  let usage: Usage | undefined;
  let finish: FinishReason | undefined;
  // The finish part waits for the end of the Bulwark stream: the last attempt joins the trail only then.
  const finishPart = (reason: FinishReason): LanguageModelV4StreamPart => ({
    type: 'finish',
    finishReason: { unified: unifiedFinish[reason], raw: reason },
    usage: toAISDKUsage(usage),
    providerMetadata: metadataOf(
      {
        provider: start?.provider ?? '',
        model: start?.model ?? '',
        ...(start?.cache === undefined ? {} : { cache: start.cache }),
        ...(start?.requestId === undefined ? {} : { requestId: start.requestId }),
      },
      events.trail,
    ),
  });
  const closeText = (out: LanguageModelV4StreamPart[]): void => {
    if (textId !== undefined) out.push({ type: 'text-end', id: textId });
    textId = undefined;
  };
  const closeReasoning = (out: LanguageModelV4StreamPart[], signature?: string): void => {
    if (reasoningId === undefined) return;
    out.push({
      type: 'reasoning-end',
      id: reasoningId,
      ...(signature === undefined ? {} : { providerMetadata: { anthropic: { signature } } }),
    });
    reasoningId = undefined;
  };
  const translate = (event: StreamEvent): LanguageModelV4StreamPart[] => {
    const out: LanguageModelV4StreamPart[] = [];
    if (includeRaw) out.push({ type: 'raw', rawValue: json(event) });
    switch (event.type) {
      case 'start':
        start = event;
        out.push({ type: 'response-metadata', id: event.id, modelId: event.model });
        break;
      case 'text-delta':
        closeReasoning(out);
        if (textId === undefined) {
          textId = `text-${blocks++}`;
          out.push({ type: 'text-start', id: textId });
        }
        out.push({ type: 'text-delta', id: textId, delta: event.text });
        break;
      case 'reasoning-delta':
        closeText(out);
        if (event.redacted !== undefined) {
          const id = `reasoning-${blocks++}`;
          out.push({ type: 'reasoning-start', id });
          out.push({
            type: 'reasoning-end',
            id,
            providerMetadata: { anthropic: { redactedData: event.redacted } },
          });
          break;
        }
        if (event.text !== undefined) {
          if (reasoningId === undefined) {
            reasoningId = `reasoning-${blocks++}`;
            out.push({ type: 'reasoning-start', id: reasoningId });
          }
          out.push({ type: 'reasoning-delta', id: reasoningId, delta: event.text });
        }
        if (event.signature !== undefined) closeReasoning(out, event.signature);
        break;
      case 'tool-call-delta': {
        closeText(out);
        closeReasoning(out);
        let call = calls.get(event.index);
        if (call === undefined) {
          call = { id: event.id ?? `call-${event.index}`, name: event.name ?? '', input: '' };
          calls.set(event.index, call);
          out.push({ type: 'tool-input-start', id: call.id, toolName: call.name });
        }
        call.input += event.argumentsDelta;
        if (event.argumentsDelta !== '')
          out.push({ type: 'tool-input-delta', id: call.id, delta: event.argumentsDelta });
        break;
      }
      case 'usage':
        usage = event.usage;
        break;
      case 'finish': {
        closeText(out);
        closeReasoning(out);
        for (const call of calls.values()) {
          out.push({ type: 'tool-input-end', id: call.id });
          out.push({
            type: 'tool-call',
            toolCallId: call.id,
            toolName: call.name,
            input: call.input || '{}',
          });
        }
        finish = event.finishReason;
        break;
      }
      default:
        break;
    }
    return out;
  };
  return new ReadableStream<LanguageModelV4StreamPart>({
    start(controller) {
      controller.enqueue({ type: 'stream-start', warnings: [] });
    },
    async pull(controller) {
      try {
        // Pull until something is enqueued, so the consumer's read never waits on an empty pull.
        while (true) {
          const next = await iterator.next();
          if (next.done) {
            if (finish !== undefined) controller.enqueue(finishPart(finish));
            controller.close();
            return;
          }
          const parts = translate(next.value);
          for (const part of parts) controller.enqueue(part);
          if (parts.length > 0) return;
        }
      } catch (error) {
        controller.enqueue({ type: 'error', error });
        controller.close();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * Bulwark as an AI SDK language model: `generateText`, `streamText`, `generateObject` and tool loops
 * call `bulwark.chat` / `bulwark.stream` for the alias `model`, so the call gets Bulwark's routing,
 * fallback, breaker, cache, limiter, budgets and stream commit rule. `providerMetadata.bulwark` has the
 * attempt trail and the cache status. Set `maxRetries: 0` on the AI SDK call: Bulwark retries (the AI
 * SDK retries only `APICallError`s it deems retryable, and Bulwark throws its own errors, so its retry
 * would not fire anyway). The call's `abortSignal` aborts the Bulwark call.
 */
export function bulwarkModel(
  bulwark: Bulwark,
  model: string,
  options: BulwarkModelOptions & { specificationVersion: 'v3' },
): LanguageModelV3;
export function bulwarkModel(bulwark: Bulwark, model: string, options?: BulwarkModelOptions): LanguageModelV4;
export function bulwarkModel(
  bulwark: Bulwark,
  model: string,
  options: BulwarkModelOptions = {},
): LanguageModelV4 | LanguageModelV3 {
  const specificationVersion = options.specificationVersion ?? 'v4';
  const languageModel = {
    specificationVersion,
    provider: options.provider ?? 'bulwark',
    modelId: model,
    // Bulwark providers fetch URLs themselves where their API can: the AI SDK need not download them.
    supportedUrls: { '*/*': [/^https?:\/\//] },
    async doGenerate(callOptions: AISDKCallOptions) {
      const request = fromCallOptions(model, callOptions);
      const response = await bulwark.chat(request, callOptionsFor(callOptions, options.defaults));
      const result: LanguageModelV4GenerateResult = {
        content: contentOf(response),
        finishReason: { unified: unifiedFinish[response.finishReason], raw: response.finishReason },
        usage: toAISDKUsage(response.usage),
        providerMetadata: metadataOf(response, response.attempts),
        request: { body: json(request) },
        response: { id: response.id, modelId: response.model },
        warnings: [],
      };
      return result;
    },
    async doStream(callOptions: AISDKCallOptions) {
      const request = fromCallOptions(model, callOptions);
      const events = bulwark.stream(request, callOptionsFor(callOptions, options.defaults));
      return {
        stream: partsOf(events, callOptions.includeRawChunks === true),
        request: { body: json(request) },
      };
    },
  };
  return languageModel as unknown as LanguageModelV4 | LanguageModelV3;
}
