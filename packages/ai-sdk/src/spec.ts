import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FinishReason,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from '@ai-sdk/provider';

/**
 * An AI SDK language model of a specification this package supports: `v4` (`ai` 7, `@ai-sdk/*` 4) or
 * `v3` (`ai` 6, `@ai-sdk/*` 3).
 */
export type AISDKLanguageModel = LanguageModelV4 | LanguageModelV3;

/** The call options of either supported specification. */
export type AISDKCallOptions = LanguageModelV4CallOptions | LanguageModelV3CallOptions;

/** A stream part of either supported specification. */
export type AISDKStreamPart = LanguageModelV4StreamPart | LanguageModelV3StreamPart;

export type AISDKUsage = LanguageModelV4Usage | LanguageModelV3Usage;
export type AISDKFinishReason = LanguageModelV4FinishReason | LanguageModelV3FinishReason;

/** The specification versions this package reads and writes. */
export const supportedSpecifications = ['v4', 'v3'] as const;
export type SupportedSpecification = (typeof supportedSpecifications)[number];
