import type { ServerResponse } from 'node:http';
import { type Bulwark, type CallOptions, type EmbedResult, InvalidRequestError } from '@bulwark/core';
import { safeHeaderValue } from '../http/header-value.js';
import { sendJsonAnswer } from './json-route.js';

/** The parts of an OpenAI `/v1/embeddings` body the gateway serves. */
export interface EmbeddingsBody {
  model: string;
  input: string[];
  dimensions?: number;
  encodingFormat: 'float' | 'base64';
}

/** Reads an OpenAI embeddings body; a bad field is an `InvalidRequestError` naming it. */
export function parseEmbeddingsBody(json: Record<string, unknown>): EmbeddingsBody {
  const { model, input, dimensions } = json;
  if (typeof model !== 'string' || model.trim() === '') {
    throw new InvalidRequestError({
      field: 'model',
      message: 'Invalid request: model must be a non-empty string',
    });
  }
  let inputs: string[];
  if (typeof input === 'string') inputs = [input];
  else if (Array.isArray(input) && input.length > 0) {
    inputs = input.map((item, index) => {
      if (typeof item !== 'string') {
        throw new InvalidRequestError({
          field: `input[${index}]`,
          message: `Invalid request: input[${index}] must be a string (token arrays are not supported)`,
        });
      }
      return item;
    });
  } else {
    throw new InvalidRequestError({
      field: 'input',
      message: 'Invalid request: input must be a string or a non-empty array of strings',
    });
  }
  if (dimensions !== undefined && !(Number.isInteger(dimensions) && (dimensions as number) > 0)) {
    throw new InvalidRequestError({
      field: 'dimensions',
      message: `Invalid request: dimensions must be a positive integer (got ${JSON.stringify(dimensions)})`,
    });
  }
  const format = json.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw new InvalidRequestError({
      field: 'encoding_format',
      message: `Invalid request: encoding_format must be "float" or "base64" (got ${JSON.stringify(format)})`,
    });
  }
  return {
    model,
    input: inputs,
    ...(dimensions === undefined ? {} : { dimensions: dimensions as number }),
    encodingFormat: format,
  };
}

/** A vector as OpenAI's `encoding_format: "base64"` sends it: float32 little-endian, base64. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index += 1) bytes.writeFloatLE(vector[index]!, index * 4);
  return bytes.toString('base64');
}

/** The OpenAI list answer for an embedding result, each vector encoded as the caller asked. */
export function embeddingsAnswer(result: EmbedResult, encodingFormat: 'float' | 'base64'): unknown {
  return {
    object: 'list',
    data: result.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encodingFormat === 'base64' ? float32Base64(vector) : vector,
    })),
    model: result.model,
    usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
  };
}

/**
 * `POST /v1/embeddings`: `bulwark.embed()` (retry, fallback of one dimension, breaker, limiter charging
 * each item, cache, budget, usage) answered in OpenAI's list format with the `x-bulwark-*` headers.
 */
export async function serveEmbeddings(
  bulwark: Bulwark,
  json: Record<string, unknown>,
  callOptions: CallOptions,
  response: ServerResponse,
  defaultCacheStatus: 'miss' | 'bypass',
): Promise<{ status: number; model: string }> {
  const body = parseEmbeddingsBody(json);
  const result = await bulwark.embed(
    {
      model: body.model,
      input: body.input,
      ...(body.dimensions === undefined ? {} : { dimensions: body.dimensions }),
    },
    callOptions,
  );
  sendJsonAnswer(response, 200, embeddingsAnswer(result, body.encodingFormat), {
    'x-bulwark-target': safeHeaderValue(`${result.provider}/${result.model}`),
    'x-bulwark-attempts': String(
      result.cache === 'hit' ? 0 : result.attempts.filter((attempt) => !attempt.local).length,
    ),
    'x-bulwark-cache': result.cache ?? defaultCacheStatus,
    'x-bulwark-items': String(body.input.length),
  });
  return { status: 200, model: body.model };
}
