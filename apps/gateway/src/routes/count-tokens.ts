import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Bulwark,
  BulwarkError,
  type CallOptions,
  countRequestTokens,
  fastTokenEstimator,
  InvalidRequestError,
  type TokenEstimatorV1,
} from '@bulwark/core';
import { loadO200kTokenEstimator } from '@bulwark/usage';
import { anthropicFormat } from '../formats/anthropic-format.js';
import { forwardableHeaders } from '../http/forward-headers.js';
import { safeHeaderValue } from '../http/header-value.js';
import { sendJsonAnswer } from './json-route.js';

let estimator: Promise<TokenEstimatorV1> | undefined;

/** The exact o200k estimator when `gpt-tokenizer` is installed, else the fast default; loaded once. */
export function localTokenEstimator(): Promise<TokenEstimatorV1> {
  estimator ??= loadO200kTokenEstimator().catch(() => fastTokenEstimator);
  return estimator as Promise<TokenEstimatorV1>;
}

/**
 * `POST /v1/messages/count_tokens`: forwarded as sent (only `model` replaced) to the model's targets
 * whose provider counts tokens itself (Anthropic), in order; otherwise counted here with the project's
 * estimator (exact o200k when `gpt-tokenizer` is installed) plus the per-message framing, answered with
 * `x-bulwark-estimated: true` and no upstream call. When every counting target fails with an error a
 * fallback may answer (overload, rate limit, 5xx, connection, timeout), the local count answers instead,
 * marked estimated and naming the upstream error in `x-bulwark-count-fallback`: a count is advice, and an
 * agent that cannot get one stalls. Errors of the request itself (400, auth) are answered as they are.
 */
export async function serveCountTokens(
  bulwark: Bulwark,
  json: Record<string, unknown>,
  callOptions: CallOptions,
  response: ServerResponse,
  request: IncomingMessage,
): Promise<{ status: number; model: string }> {
  const model = json.model;
  if (typeof model !== 'string' || model.trim() === '') {
    throw new InvalidRequestError({ field: 'model', message: 'model: Field required (a non-empty string)' });
  }
  if (!Array.isArray(json.messages)) {
    throw new InvalidRequestError({ field: 'messages', message: 'messages: Field required (an array)' });
  }
  const counting = bulwark
    .resolve(model)
    .targets.filter((target) => bulwark.providers.get(target.provider)?.countTokens !== undefined);
  const { model: _model, ...body } = json;
  let fallbackFrom: BulwarkError | undefined;
  for (const [index, target] of counting.entries()) {
    try {
      const counted = await bulwark.providers.get(target.provider)!.countTokens!(
        { model: target.model, body, headers: forwardableHeaders(request.headers) },
        {
          signal: callOptions.signal ?? new AbortController().signal,
          events: bulwark.events,
          callId: `count-tokens-${Date.now().toString(36)}`,
        },
      );
      sendJsonAnswer(
        response,
        200,
        { input_tokens: counted.inputTokens },
        {
          'x-bulwark-target': safeHeaderValue(`${target.provider}/${target.model}`),
          'x-bulwark-attempts': String(index + 1),
        },
      );
      return { status: 200, model };
    } catch (error) {
      if (!BulwarkError.isInstance(error) || !error.fallbackable || callOptions.signal?.aborted) throw error;
      fallbackFrom = error;
    }
  }
  // The normalized form of the body  // The normalized form of the body (count_tokens takes no max_tokens; Messages requires one).
  const parsed = anthropicFormat.parse({ ...json, max_tokens: 1, stream: false });
  const counter = await localTokenEstimator();
  sendJsonAnswer(
    response,
    200,
    { input_tokens: countRequestTokens(parsed.request, counter) },
    {
      'x-bulwark-estimated': 'true',
      'x-bulwark-estimator': counter.name,
      'x-bulwark-attempts': String(counting.length),
      ...(fallbackFrom ? { 'x-bulwark-count-fallback': fallbackFrom.code } : {}),
    },
  );
  return { status: 200, model };
}
