import type { ChatRequest } from '../types/chat-request.js';

/** One place a model alias can be served: a configured provider and one of its models. */
export interface Target {
  /** Configured provider name. */
  provider: string;
  /** The provider's model name. */
  model: string;
  /**
   * Targets with the same priority share load by `weight`; lower priority numbers are tried first.
   * Default: the target's position in the list (so plain lists are strict fallback order).
   */
  priority?: number;
  /** Relative share among targets of equal priority (default 1). */
  weight?: number;
  /** Request fields forced for this target (e.g. a smaller `maxTokens`). */
  overrides?: Partial<
    Pick<ChatRequest, 'temperature' | 'topP' | 'maxTokens' | 'stop' | 'seed' | 'providerOptions'>
  >;
  /** The model's context window in tokens, used to pick a larger target after a context-length error. */
  maxContextTokens?: number;
}

/** A model alias: the name callers use, and the targets behind it in order. */
export interface ModelAlias {
  targets: Target[];
  /** Where to go when a target's content filter refuses (tried only for content-filter errors). */
  contentFilterFallback?: Target;
}

/**
 * Where a call goes, resolved from the requested model before call-level middleware run
 * (`CallContext.route`). Read-only: changing it does not reroute the call.
 */
export interface CallRoute {
  /** The model name the caller asked for: an alias, `provider/model`, or a provider's model name. */
  readonly model: string;
  /** The alias, when `model` names a configured alias; absent for pass-through names. */
  readonly alias?: string;
  /** The targets the router may try, in configured order (one for a pass-through name). */
  readonly targets: readonly Target[];
  /** Tried only after a content-filter refusal. */
  readonly contentFilterFallback?: Target;
}

/** `provider/model`: a stable identifier for logs, headers and metric labels. */
export function targetId(target: { provider: string; model: string }): string {
  return `${target.provider}/${target.model}`;
}
