export type { HeaderSource } from './headers.js';
export { getHeader, parseDuration, parseHeaderCount, parseRetryAfter } from './headers.js';
export type { HttpErrorInput } from './http-errors.js';
export { errorFromHttpResponse } from './http-errors.js';
export { describeErrorChain, isConnectionFailure } from './network-errors.js';
export type { NodeFetch, NodeFetchOptions } from './node-fetch.js';
export { createNodeFetch } from './node-fetch.js';
export type { FrameTap, PassthroughOptions, SseFrame } from './passthrough.js';
export {
  createPassthrough,
  credentialHeaderNames,
  passthroughHeaders,
  splitSseFrames,
} from './passthrough.js';
export type { PostJsonOptions } from './post-json.js';
export { postJson, readText, sseData, transportError } from './post-json.js';
export { capabilitiesConfigSchema, sdkProviderConfigShape } from './provider-config.js';
export type { SdkClientOptions, SdkClientSettings, SdkProviderOptions } from './provider-options.js';
export {
  atConfigPath,
  checkBaseURL,
  checkPositiveInteger,
  createSdkClient,
  providerPlugin,
} from './provider-options.js';
export type { ProxyEnvironment } from './proxy-agent.js';
export { noProxyMatches, proxyFor } from './proxy-agent.js';
export { rateLimitInfo, waitFromResets } from './rate-limit-headers.js';
export { chatResponse, invalidResponse, isRecord, startEvent } from './response-helpers.js';
export type {
  AnswerMeta,
  SdkCaller,
  SdkCallerOptions,
  SdkCallOptions,
  SdkRequestOptions,
  SdkStreamAnswer,
  StreamMapper,
} from './sdk-caller.js';
export { createSdkCaller } from './sdk-caller.js';
export type { AnswerErrorDetail, ErrorScope, SdkErrorAnswer, SdkErrorMapping } from './sdk-errors.js';
export { abortReason, createSdkErrorMapper, errorFromSdkAnswer } from './sdk-errors.js';
