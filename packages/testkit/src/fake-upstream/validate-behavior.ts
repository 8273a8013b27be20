import { ConfigError } from '@bulwark/core';
import type { FakeBehavior, FakeRateLimit } from './types.js';

const finishReasons = new Set(['stop', 'length', 'tool_calls', 'content_filter']);

function fail(path: string, message: string): never {
  throw new ConfigError({ path, message: `${path}: ${message}` });
}

function checkCount(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    fail(path, `must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
}

function checkHeaders(value: unknown, path: string): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null) fail(path, 'must be an object of header strings');
  for (const [name, header] of Object.entries(value)) {
    if (typeof header !== 'string') fail(`${path}.${name}`, `must be a string, got ${typeof header}`);
  }
}

/** Throws a `ConfigError` naming the field when `behavior` is not a valid `FakeBehavior`. */
export function validateBehavior(behavior: FakeBehavior, path = 'behavior'): void {
  if (typeof behavior !== 'object' || behavior === null) fail(path, 'must be an object with a `kind`');
  switch (behavior.kind) {
    case 'reply':
      if (behavior.text !== undefined && typeof behavior.text !== 'string')
        fail(`${path}.text`, 'must be a string');
      if (behavior.finishReason !== undefined && !finishReasons.has(behavior.finishReason)) {
        fail(`${path}.finishReason`, `must be one of ${[...finishReasons].join(', ')}`);
      }
      for (const [index, call] of (behavior.toolCalls ?? []).entries()) {
        if (typeof call?.name !== 'string' || call.name === '')
          fail(`${path}.toolCalls[${index}].name`, 'is required');
        if (typeof call.arguments !== 'string')
          fail(`${path}.toolCalls[${index}].arguments`, 'must be a JSON string');
      }
      if (behavior.usage !== undefined) {
        checkCount(behavior.usage.inputTokens, `${path}.usage.inputTokens`);
        checkCount(behavior.usage.outputTokens, `${path}.usage.outputTokens`);
        if (behavior.usage.cachedInputTokens !== undefined) {
          checkCount(behavior.usage.cachedInputTokens, `${path}.usage.cachedInputTokens`);
          if (behavior.usage.cachedInputTokens > behavior.usage.inputTokens) {
            fail(`${path}.usage.cachedInputTokens`, 'cannot exceed inputTokens (which includes them)');
          }
        }
      }
      if (behavior.chunkDelayMs !== undefined) checkCount(behavior.chunkDelayMs, `${path}.chunkDelayMs`);
      checkHeaders(behavior.headers, `${path}.headers`);
      return;
    case 'status':
      if (!Number.isInteger(behavior.status) || behavior.status < 200 || behavior.status > 599) {
        fail(
          `${path}.status`,
          `must be an HTTP status between 200 and 599, got ${JSON.stringify(behavior.status)}`,
        );
      }
      if (
        behavior.error !== undefined &&
        behavior.error !== 'context-length' &&
        behavior.error !== 'content-filter'
      ) {
        fail(`${path}.error`, "must be 'context-length' or 'content-filter'");
      }
      checkHeaders(behavior.headers, `${path}.headers`);
      return;
    case 'delay':
      checkCount(behavior.ms, `${path}.ms`);
      if (behavior.then !== undefined) validateBehavior(behavior.then, `${path}.then`);
      return;
    case 'hang':
    case 'reset':
      return;
    case 'malformed':
      if (
        behavior.status !== undefined &&
        (!Number.isInteger(behavior.status) || behavior.status < 200 || behavior.status > 599)
      ) {
        fail(`${path}.status`, 'must be an HTTP status between 200 and 599');
      }
      return;
    case 'cut':
    case 'stall':
      checkCount(behavior.afterChunks, `${path}.afterChunks`);
      return;
    case 'stream-error':
      checkCount(behavior.afterChunks, `${path}.afterChunks`);
      if (
        behavior.error !== undefined &&
        (typeof behavior.error.type !== 'string' || typeof behavior.error.message !== 'string')
      ) {
        fail(`${path}.error`, 'must be { type: string; message: string }');
      }
      return;
    case 'raw':
      if ((behavior.body === undefined) === (behavior.frames === undefined))
        fail(path, 'needs exactly one of `body` (a JSON answer) or `frames` (SSE frames)');
      if (behavior.frames !== undefined && !behavior.frames.every((frame) => typeof frame === 'string'))
        fail(`${path}.frames`, 'must be an array of strings');
      if (behavior.cutAfterFrames !== undefined)
        checkCount(behavior.cutAfterFrames, `${path}.cutAfterFrames`);
      checkHeaders(behavior.headers, `${path}.headers`);
      return;
    default:
      fail(
        `${path}.kind`,
        `unknown kind ${JSON.stringify((behavior as { kind?: unknown }).kind)}; expected reply, status, delay, hang, reset, malformed, cut, stall, stream-error or raw`,
      );
  }
}

/** Throws a `ConfigError` naming the field when a limit is not a positive number. */
export function validateRateLimit(limit: FakeRateLimit | undefined, path = 'rateLimit'): void {
  if (limit === undefined) return;
  for (const key of ['rpm', 'tpm'] as const) {
    const value = limit[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
      fail(`${path}.${key}`, `must be a positive number, got ${JSON.stringify(value)}`);
    }
  }
}
