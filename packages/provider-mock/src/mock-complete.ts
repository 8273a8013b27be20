import type { CallContext, ChatRequest, ChatResponse } from '@bulwark/core';
import { responseOf } from './mock-answer.js';
import { failureOf, type MockRuntime, waitForAbort } from './mock-runtime.js';

/** A non-streaming call: stream faults fail it the way a cut or stalled stream would. */
export async function completeMock(
  runtime: MockRuntime,
  request: ChatRequest,
  context: CallContext,
): Promise<ChatResponse> {
  const { behavior, record } = runtime.begin('complete', request, context);
  try {
    runtime.checkRequest(request);
    await runtime.wait(behavior.latencyMs ?? runtime.latencyMs, context.signal);
    if (behavior.hang || behavior.streamStallAfter !== undefined) await waitForAbort(context.signal);
    if (behavior.streamCutAfter !== undefined)
      throw runtime.fail(behavior, request.model, 'connection_error');
    if (behavior.error !== undefined || behavior.streamErrorAfter !== undefined) {
      throw runtime.fail(behavior, request.model, behavior.error ?? 'overloaded');
    }
    const response = responseOf(
      runtime.answer(request, behavior),
      runtime.idOf(request, record.index),
      runtime.name,
      request.model,
    );
    runtime.settle(record);
    return response;
  } catch (thrown) {
    const error = failureOf(thrown, context.signal);
    runtime.settle(record, error, context.signal);
    throw error;
  }
}
