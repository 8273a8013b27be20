import type { CallContext } from '../provider.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { ChatResponse } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import type { ModelAlias, Target } from './target.js';

/**
 * One target, ready to call: the target-level pipeline (retry, breaker, limiter, timeouts) around its
 * provider. The handle sets `context.target`, the target's model and its overrides.
 */
export interface TargetHandle {
  readonly target: Target;
  complete(request: ChatRequest, context: CallContext): Promise<ChatResponse>;
  stream(request: ChatRequest, context: CallContext): AsyncIterable<StreamEvent>;
}

/**
 * Decides which targets a call goes to, in what order, and when to move on (version 1 of the
 * contract). The default is `createFallbackRouter`; `@bulwark/hedge` provides a hedging one.
 */
export interface RoutingStrategyV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  complete(
    request: ChatRequest,
    context: CallContext,
    targets: readonly TargetHandle[],
    alias: ModelAlias,
  ): Promise<ChatResponse>;
  stream(
    request: ChatRequest,
    context: CallContext,
    targets: readonly TargetHandle[],
    alias: ModelAlias,
  ): AsyncIterable<StreamEvent>;
}

export type RoutingStrategy = RoutingStrategyV1;
