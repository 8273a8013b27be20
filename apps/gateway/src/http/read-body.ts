import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '@bulwark/core';

/** Status 413: the body is larger than the configured limit. */
export class BodyTooLargeError extends InvalidRequestError {
  constructor(limit: number) {
    super({ status: 413, field: 'body', message: `Request body is larger than the limit of ${limit} bytes` });
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a request body up to `limit` bytes. Rejects with `BodyTooLargeError` as soon as the
 * declared or received size passes the limit (the rest is not buffered), and with the socket's
 * error when the client goes away.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        request.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      if (!request.complete) onError(new Error('client closed the connection before the body was complete'));
    };
    function cleanup(): void {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
    }
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}
