import type { IncomingMessage } from 'node:http';
import { type Clock, checkJsonDepth, InvalidRequestError, systemClock } from '@bulwark/core';

/** Status 413: the body is larger than the configured limit. */
export class BodyTooLargeError extends InvalidRequestError {
  constructor(limit: number) {
    super({ status: 413, field: 'body', message: `Request body is larger than the limit of ${limit} bytes` });
    this.name = 'BodyTooLargeError';
  }
}

/** Status 408: the client stopped sending its body, or took longer than allowed to send it. */
export class RequestTimeoutError extends InvalidRequestError {
  constructor(message: string) {
    super({ status: 408, field: 'body', message });
    this.name = 'RequestTimeoutError';
  }
}

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** Most time without a body byte before the read fails with `RequestTimeoutError`. 0 switches it off. */
  idleTimeoutMs?: number;
  /** Most time the whole body may take, from the call to `readBody`. 0 switches it off. */
  totalTimeoutMs?: number;
  /** Timer source. Default the system clock. */
  clock?: Clock;
  /** Aborting it fails the read with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Reads a request body up to `limit` bytes. Rejects with `BodyTooLargeError` as soon as the
 * declared or received size passes the limit (the rest is not buffered), with `RequestTimeoutError`
 * when the client goes silent for `idleTimeoutMs` or the body takes longer than `totalTimeoutMs`,
 * with the signal's reason when it aborts, and with the socket's error when the client goes away.
 */
export function readBody(request: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { limit, idleTimeoutMs = 0, totalTimeoutMs = 0, clock = systemClock, signal } = options;
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLargeError(limit));
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let cancelIdle: (() => void) | undefined;
    const cancelTotal =
      totalTimeoutMs > 0
        ? clock.setTimer(totalTimeoutMs, () =>
            fail(new RequestTimeoutError(`Request body not received within ${totalTimeoutMs} ms`)),
          )
        : undefined;
    const armIdle = (): void => {
      cancelIdle?.();
      if (idleTimeoutMs > 0)
        cancelIdle = clock.setTimer(idleTimeoutMs, () =>
          fail(new RequestTimeoutError(`No request body byte received for ${idleTimeoutMs} ms`)),
        );
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        request.resume();
        fail(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
      armIdle();
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => {
      if (!request.complete) fail(new Error('client closed the connection before the body was complete'));
    };
    const onAbort = (): void => fail(signal!.reason);
    function fail(error: Error): void {
      cleanup();
      reject(error);
    }
    function cleanup(): void {
      cancelIdle?.();
      cancelTotal?.();
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    }
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    armIdle();
  });
}

/**
 * Reads the body as `readBody` does and parses it as JSON: a body that is not JSON is an
 * `InvalidRequestError` naming `body`, and one nested past core's `maxJsonDepth` is refused before
 * anything that recurses walks it (JSON.parse takes any nesting).
 */
export async function readJsonBody(request: IncomingMessage, options: ReadBodyOptions): Promise<unknown> {
  const body = await readBody(request, options);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InvalidRequestError({
      field: 'body',
      message: `Request body is not valid JSON: ${(error as Error).message}`,
    });
  }
  checkJsonDepth(json);
  return json;
}
