import {
  type ChatResponse,
  type Logger,
  type MiddlewareV1,
  type ProviderV1,
  responseToEvents,
  StreamAccumulator,
  toBulwarkError,
  type Usage,
} from '@bulwark/core';

/** A minimal exact-match response cache (stage `cache`) for tests: a hit is marked `cache: 'hit'`. */
export function testCache(): MiddlewareV1 {
  const stored = new Map<string, ChatResponse>();
  const keyOf = (request: unknown) => JSON.stringify(request);
  return {
    specificationVersion: 'v1',
    name: 'test-cache',
    stage: 'cache',
    async complete(request, context, next) {
      const hit = stored.get(keyOf(request));
      if (hit) return { ...hit, cache: 'hit', attempts: [] };
      const response = await next(request, context);
      stored.set(keyOf(request), { ...response });
      return { ...response, cache: 'miss' };
    },
    async *stream(request, context, next) {
      const hit = stored.get(keyOf(request));
      if (hit) {
        yield* responseToEvents({ ...hit, cache: 'hit' });
        return;
      }
      const accumulator = new StreamAccumulator();
      for await (const event of next(request, context)) {
        accumulator.add(event);
        yield event;
      }
      stored.set(keyOf(request), accumulator.toResponse());
    },
  };
}

/**
 * Wraps a provider so the errors of chosen calls carry usage, the way a provider reports tokens it
 * billed for a failed request. `usageOf(index)` gets the 0-based index of the call.
 */
export function billFailures(
  provider: ProviderV1,
  usageOf: (index: number) => Usage | undefined,
): ProviderV1 {
  let calls = 0;
  const attach = (thrown: unknown, index: number): unknown => {
    const usage = usageOf(index);
    const error = toBulwarkError(thrown);
    if (usage) error.usage = usage;
    return error;
  };
  return {
    ...provider,
    specificationVersion: 'v1',
    name: provider.name,
    system: provider.system,
    capabilities: provider.capabilities,
    async complete(request, context) {
      const index = calls++;
      try {
        return await provider.complete(request, context);
      } catch (thrown) {
        throw attach(thrown, index);
      }
    },
    async *stream(request, context) {
      const index = calls++;
      try {
        yield* provider.stream(request, context);
      } catch (thrown) {
        throw attach(thrown, index);
      }
    },
  };
}

/** A logger that keeps every line, for asserting on warnings. */
export function captureLogger(): Logger & {
  lines: { level: string; message: string; fields?: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push(fields === undefined ? { level, message } : { level, message, fields });
    };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
