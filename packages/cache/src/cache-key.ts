import { createHash } from 'node:crypto';
import type { ChatRequest, WireRequestV1 } from '@bulwark/core';
import { canonicalJson } from './canonical-json.js';

/** Request fields that never change the output and so stay out of the key. Everything else is in. */
const excludedFields: ReadonlySet<string> = new Set(['metadata']);

/** Bumped whenever the canonical form changes, so old entries stop matching instead of mismatching. */
const keyVersion = 'v1';

export interface CacheKeyOptions {
  /**
   * Maps the requested model (an alias or a provider model name) to what goes into the key. Default:
   * the name as requested. Return, say, the alias's target list to let two aliases with the same
   * targets share entries, or to make entries follow a change of targets.
   */
  modelKey?: (model: string) => string;
  /** Request fields to leave out of the key on top of `metadata` (use with care: every field left out can serve a wrong answer). */
  exclude?: readonly string[];
}

/**
 * The canonical text of everything in `request` that can change the output: model, every message and
 * part, tools, tool choice, sampling parameters, stop, seed, response format, `providerOptions` and any
 * field added later. Exhaustive by construction: only the fields named in the exclusion list (by default
 * `metadata`) are left out, so a new request field is part of the key without anyone remembering it.
 */
export function canonicalRequest(
  request: ChatRequest,
  options: CacheKeyOptions = {},
  wire?: WireRequestV1,
): string {
  if (wire) return canonicalWire(request, wire, options);
  const keyed: Record<string, unknown> = {};
  const exclude = options.exclude;
  for (const field of Object.keys(request)) {
    if (excludedFields.has(field) || exclude?.includes(field)) continue;
    keyed[field] = (request as unknown as Record<string, unknown>)[field];
  }
  if (options.modelKey) keyed.model = options.modelKey(request.model);
  return canonicalJson(keyed);
}

/**
 * The canonical text of a same-format passthrough call: its wire format and the whole body as sent
 * (every field, known or not, except `model`), the forwarded headers that can change the answer
 * (`anthropic-version`, `anthropic-beta`, `openai-beta`), and the requested model through `modelKey`. Its
 * answer is the upstream's bytes, so it never shares an entry with a translated call.
 */
function canonicalWire(request: ChatRequest, wire: WireRequestV1, options: CacheKeyOptions): string {
  const { model: _model, ...body } = wire.body;
  const model = options.modelKey ? options.modelKey(request.model) : request.model;
  const headers: Record<string, string> = {};
  for (const name of outputHeaders) {
    const value = wire.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return canonicalJson({ wire: wire.format, model, body, headers });
}

/** Forwarded request headers that can change the answer (API version, beta features): part of a wire key. */
const outputHeaders = ['anthropic-version', 'anthropic-beta', 'openai-beta'] as const;

/**
 * The cache key of a request: SHA-256 (base64url) of its canonical form. Equal requests get equal keys
 * whatever the order of their object keys; a change in any output-affecting field changes the key.
 * With `wire` (a same-format passthrough call, `context.wire`) the key is the canonical hash of the
 * body as sent, its format and the model asked for; the tenant is the entry's namespace.
 */
export function computeCacheKey(
  request: ChatRequest,
  options: CacheKeyOptions = {},
  wire?: WireRequestV1,
): string {
  return `${keyVersion}:${createHash('sha256')
    .update(canonicalRequest(request, options, wire))
    .digest('base64url')}`;
}
