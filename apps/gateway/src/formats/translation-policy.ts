import { type Bulwark, InvalidRequestError } from '@bulwark/core';
import { wireFormatOf } from '../http/forward-headers.js';
import { safeHeaderValue } from '../http/header-value.js';
import { type ClientFormat, droppedFor, type ParsedClientRequest } from './client-format.js';

/** `lenient`: serve and name the dropped fields in `x-bulwark-dropped`; `strict`: answer 400 naming one. */
export type TranslationMode = 'lenient' | 'strict';

/** Longest `x-bulwark-dropped` value; a longer list ends with `,...`. */
const maxHeaderLength = 2048;

/**
 * The caller's fields a provider cannot receive: none when it takes the caller's body as sent (a
 * same-format passthrough), else what the translation drops for its format.
 */
function droppedBy(
  bulwark: Bulwark,
  format: ClientFormat,
  parsed: ParsedClientRequest,
  provider: string,
): string[] {
  const instance = bulwark.providers.get(provider);
  if (instance?.passthrough?.format === wireFormatOf(format)) return [];
  return droppedFor(parsed, format.name, instance?.system);
}

/**
 * In strict mode, throws an `InvalidRequestError` (400 in the caller's format) naming the first field of
 * the caller's request that a target of the alias cannot carry, before any call is made.
 */
export function checkStrictTranslation(
  bulwark: Bulwark,
  format: ClientFormat,
  parsed: ParsedClientRequest,
  mode: TranslationMode,
): void {
  if (mode !== 'strict' || !parsed.dropped) return;
  const alias = bulwark.resolve(parsed.request.model);
  const targets = alias.contentFilterFallback
    ? [...alias.targets, alias.contentFilterFallback]
    : alias.targets;
  for (const target of targets) {
    const [field] = droppedBy(bulwark, format, parsed, target.provider);
    if (field === undefined) continue;
    const system = bulwark.providers.get(target.provider)?.system;
    throw new InvalidRequestError({
      field,
      local: true,
      message: `Invalid request: ${field} cannot be carried to ${target.provider}/${target.model} (${system ?? 'another'} format) and translation is strict`,
    });
  }
}

/** The `x-bulwark-dropped` header for an answer from `provider`, or none when nothing was dropped. */
export function droppedHeader(
  bulwark: Bulwark,
  format: ClientFormat,
  parsed: ParsedClientRequest,
  provider: string,
): Record<string, string> {
  if (!parsed.dropped) return {};
  const fields = droppedBy(bulwark, format, parsed, provider);
  if (fields.length === 0) return {};
  let value = safeHeaderValue(fields.join(','));
  if (value.length > maxHeaderLength) {
    value = `${value.slice(0, value.lastIndexOf(',', maxHeaderLength - 4))},...`;
  }
  return { 'x-bulwark-dropped': value };
}
