import { AbortedError, type CallContext, type ChatRequest, type StreamEvent } from '@bulwark/core';
import { failureOf, type MockRuntime, waitForAbort } from './mock-runtime.js';

/**
 * A streamed call: `start`, the text then the tool calls in `chunkSize` pieces, `usage`, `finish`,
 * with the behaviour's cut, stall or in-stream error after the configured number of content chunks.
 */
export async function* streamMock(
  runtime: MockRuntime,
  request: ChatRequest,
  context: CallContext,
): AsyncGenerator<StreamEvent> {
  const { name, chunkSize } = runtime;
  const { behavior, record } = runtime.begin('stream', request, context);
  const signal = context.signal;
  let settled = false;
  try {
    runtime.checkRequest(request);
    await runtime.wait(behavior.latencyMs ?? runtime.latencyMs, signal);
    if (behavior.hang) await waitForAbort(signal);
    const inStreamError = behavior.streamErrorAfter !== undefined;
    if (behavior.error !== undefined && !inStreamError)
      throw runtime.fail(behavior, request.model, behavior.error);
    const result = runtime.answer(request, behavior);
    yield { type: 'start', id: runtime.idOf(request, record.index), provider: name, model: request.model };
    const chunkDelay = behavior.chunkDelayMs ?? runtime.chunkDelayMs;
    const interrupt = async (): Promise<void> => {
      const delivered = record.chunks;
      if (behavior.streamStallAfter === delivered) await waitForAbort(signal);
      if (behavior.streamCutAfter === delivered) {
        throw runtime.fail(
          { ...behavior, message: behavior.message ?? `${name}: the stream was cut (socket closed)` },
          request.model,
          'connection_error',
        );
      }
      if (behavior.streamErrorAfter === delivered) {
        throw runtime.fail(behavior, request.model, behavior.error ?? 'overloaded');
      }
    };
    await interrupt();
    for (let at = 0; at < result.text.length; at += chunkSize) {
      if (record.chunks > 0) await runtime.wait(chunkDelay, signal);
      record.chunks += 1;
      yield { type: 'text-delta', text: result.text.slice(at, at + chunkSize) };
      await interrupt();
    }
    for (let index = 0; index < result.toolCalls.length; index += 1) {
      const call = result.toolCalls[index]!;
      const pieces = Math.max(1, Math.ceil(call.arguments.length / chunkSize));
      for (let piece = 0; piece < pieces; piece += 1) {
        if (record.chunks > 0) await runtime.wait(chunkDelay, signal);
        record.chunks += 1;
        const argumentsDelta = call.arguments.slice(piece * chunkSize, (piece + 1) * chunkSize);
        yield piece === 0
          ? { type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta }
          : { type: 'tool-call-delta', index, argumentsDelta };
        await interrupt();
      }
    }
    // A fault configured beyond the answer's length still fires, just before the end.
    const lastChunk = Math.max(
      behavior.streamCutAfter ?? -1,
      behavior.streamStallAfter ?? -1,
      behavior.streamErrorAfter ?? -1,
    );
    if (lastChunk > record.chunks) {
      if (behavior.streamStallAfter !== undefined) await waitForAbort(signal);
      if (behavior.streamCutAfter !== undefined)
        throw runtime.fail(behavior, request.model, 'connection_error');
      throw runtime.fail(behavior, request.model, behavior.error ?? 'overloaded');
    }
    yield { type: 'usage', usage: result.usage };
    yield { type: 'finish', finishReason: result.finishReason };
    settled = true;
    runtime.settle(record);
  } catch (thrown) {
    const error = failureOf(thrown, signal);
    settled = true;
    runtime.settle(record, error, signal);
    throw error;
  } finally {
    // The consumer stopped early (break / return): the "connection" is closed by not continuing.
    if (!settled)
      runtime.settle(record, new AbortedError({ message: 'The consumer stopped reading the stream' }));
  }
}
