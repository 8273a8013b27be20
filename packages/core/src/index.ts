export type { CacheBackend, CacheBackendV1 } from './cache/cache-backend.js';
export { recordAttempts } from './client/attempt-recorder.js';
export type { Bulwark, BulwarkOptions, BulwarkStream, CallOptions } from './client/create-bulwark.js';
export { createBulwark } from './client/create-bulwark.js';
export type { EmbedResult } from './client/embed-call.js';
export { embeddingShadowRequest } from './client/embed-call.js';
export type { Clock, TimerOptions } from './clock/clock.js';
export { sleepWithTimers, systemClock } from './clock/clock.js';
export type { VirtualClock } from './clock/virtual-clock.js';
export { createVirtualClock } from './clock/virtual-clock.js';
export type { BulwarkErrorCode, BulwarkErrorOptions } from './errors/bulwark-error.js';
export { BulwarkError, hasErrorCode } from './errors/bulwark-error.js';
export { isHealthFailure, toBulwarkError } from './errors/classify.js';
export type { PartialOutput } from './errors/errors.js';
export {
  AbortedError,
  AuthenticationError,
  BreakerOpenError,
  BudgetExceededError,
  ConfigError,
  ConnectionError,
  ContentFilterError,
  ContextLengthError,
  InvalidRequestError,
  InvalidResponseError,
  MiddlewareError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  PluginNotFoundError,
  RateLimitError,
  ServerError,
  StreamInterruptedError,
  TimeoutError,
} from './errors/errors.js';
export type {
  BreakerState,
  BulwarkEventMap,
  CallEventBase,
  EventBus,
  EventListener,
  EventName,
  TargetRef,
} from './events/event-bus.js';
export { createEventBus } from './events/event-bus.js';
export { assertMiddlewareOrder, compose, splitByLevel } from './middleware/compose.js';
export type {
  CompleteHandler,
  Handler,
  Middleware,
  MiddlewareLevel,
  MiddlewareStage,
  MiddlewareV1,
  StreamHandler,
} from './middleware/middleware.js';
export { middlewareLevel, stageOrder } from './middleware/middleware.js';
export type {
  CacheControl,
  CallContext,
  CallContextV1,
  CallMetadata,
  EmbeddingRequest,
  EmbeddingRequestV1,
  EmbeddingResponse,
  EmbeddingResponseV1,
  MaybePromise,
  Provider,
  ProviderCallOptions,
  ProviderCallOptionsV1,
  ProviderCapabilities,
  ProviderV1,
  TokenCountRequestV1,
  TokenCountResponseV1,
} from './provider.js';
export type {
  ConfiguredProvider,
  Plugin,
  PluginContext,
  PluginDescriptor,
  PluginInstanceMap,
  PluginKind,
  Readiness,
  ReadyCapability,
  StoreBaseV1,
  StoreContractMap,
  StoreInstance,
  StoreKind,
} from './registry/plugin.js';
export type { PluginRegistry, PluginRegistryOptions } from './registry/plugin-registry.js';
export { createPluginRegistry, suggestedPackage, validateConfig } from './registry/plugin-registry.js';
export type {
  InferOutput,
  StandardIssue,
  StandardResult,
  StandardSchemaV1,
} from './registry/standard-schema.js';
export { formatPath } from './registry/standard-schema.js';
export type { StoreConfig } from './registry/store-config.js';
export { createConfiguredStore } from './registry/store-config.js';
export type { FallbackRouterOptions, TargetPlan } from './routing/fallback-router.js';
export {
  createFallbackRouter,
  emitFallbackTaken,
  orderTargets,
  pickBestError,
  planTargets,
  recordTargetFailure,
} from './routing/fallback-router.js';
export type { RetryBudget, RetryBudgetOptions } from './routing/retry-budget.js';
export { createRetryBudget } from './routing/retry-budget.js';
export type { RoutingStrategy, RoutingStrategyV1, TargetHandle } from './routing/routing-strategy.js';
export type { CallRoute, ModelAlias, Target } from './routing/target.js';
export { targetId } from './routing/target.js';
export { collectStream, responseToEvents, StreamAccumulator } from './stream/stream-accumulator.js';
export type { StreamCommit, StreamCommitOptions } from './stream/stream-commit.js';
export { createStreamCommit } from './stream/stream-commit.js';
export type { TokenEstimator, TokenEstimatorV1 } from './tokens/token-estimator.js';
export {
  countRequestTokens,
  estimateTextTokens,
  fastTokenEstimator,
  imageTokens,
  lowDetailImageTokens,
  messageFramingTokens,
  requestFramingTokens,
  unseenFileTokens,
} from './tokens/token-estimator.js';
export type {
  AssistantMessage,
  ChatMessage,
  ChatRequest,
  ChatRequestV1,
  FilePart,
  ImagePart,
  JSONSchema,
  PromptCacheControl,
  ReasoningBlock,
  ReasoningOptions,
  ResponseFormat,
  SystemMessage,
  TextPart,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  ToolMessage,
  UserContentPart,
  UserMessage,
} from './types/chat-request.js';
export type {
  AttemptRecord,
  CacheStatus,
  ChatResponse,
  ChatResponseV1,
  FinishReason,
  RateLimitInfo,
  TokenLogprob,
  Usage,
} from './types/chat-response.js';
export type {
  FinishEvent,
  ReasoningDeltaEvent,
  StreamEvent,
  StreamEventV1,
  StreamStartEvent,
  TextDeltaEvent,
  ToolCallDeltaEvent,
  UsageEvent,
  WireFrameEvent,
} from './types/stream-event.js';
export { isContentEvent } from './types/stream-event.js';
export { abortable, linkSignals, throwIfAborted } from './util/abort.js';
export type { Logger, LogLevel } from './util/logger.js';
export { createJsonLogger, silentLogger } from './util/logger.js';
export { redactSecrets, registerSecret, secretHeaderNames } from './util/redact.js';
export { checkJsonDepth, maxJsonDepth } from './validation/json-depth.js';
export { validateChatRequest, validateJsonSchema } from './validation/validate-request.js';
export type {
  ProviderPassthroughV1,
  WireAnswerV1,
  WireFacts,
  WireFormat,
  WireFrame,
  WireHeadV1,
  WireJsonResponse,
  WirePassthroughCallOptions,
  WireRequestV1,
  WireResponseV1,
  WireStreamResponse,
} from './wire/wire.js';
export { completeThroughWire, passthroughFor, streamThroughWire } from './wire/wire-call.js';
