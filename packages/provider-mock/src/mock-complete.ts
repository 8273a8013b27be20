import type { CallContext, ChatRequest, ChatResponse } from '@bulwark/core';
import { responseOf } from './mock-answer.js';
import type { MockRuntime } from './mock-runtime.js';

/** A non-streaming call: stream faults fail it the way a cut or stalled stream would. */
export function completeMock(
  runtime: MockRuntime,
  request: ChatRequest,
  context: CallContext,
): Promise<ChatResponse> {
  return runtime.runOnce('complete', request, context, (behavior, record) => {
    if (behavior.error !== undefined || behavior.streamErrorAfter !== undefined) {
      throw runtime.fail(behavior, request.model, behavior.error ?? 'overloaded');
    }
    return responseOf(
      runtime.answer(request, behavior),
      runtime.idOf(request, record.index),
      runtime.name,
      request.model,
    );
  });
}
