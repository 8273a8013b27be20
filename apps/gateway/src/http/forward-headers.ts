import type { IncomingHttpHeaders } from 'node:http';
import type { Bulwark, WireFormat } from '@bulwark/core';
import type { ClientFormat } from '../formats/client-format.js';

/**
 * Request headers a passthrough never forwards: hop-by-hop ones (RFC 9110 §7.6.1), what the transport
 * sets itself (host, length, encoding), and the caller's credentials and credential-scoped ids (the
 * provider's own key, organization and project replace them).
 */
const notForwarded: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'accept-encoding',
  'expect',
  'authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'openai-organization',
  'openai-project',
]);

/**
 * The caller's headers a same-format passthrough forwards upstream (`anthropic-beta`,
 * `anthropic-version`, `openai-beta`, custom ones…): everything except hop-by-hop headers (and those
 * named in `connection`), transport headers, credentials and `x-bulwark-*` (the gateway's own).
 */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  );
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || notForwarded.has(name) || named.has(name) || name.startsWith('x-bulwark-'))
      continue;
    forwarded[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return forwarded;
}

/** The wire format a client format takes as sent. */
export function wireFormatOf(format: ClientFormat): WireFormat {
  return format.name === 'anthropic' ? 'anthropic-messages' : 'openai-chat';
}

/**
 * True when a target of `model` takes `format` as sent: only then does a call carry its wire request
 * (a route of translated targets keeps the normalized cache key, shared across formats and shapes).
 */
export function passesThrough(bulwark: Bulwark, model: string, format: WireFormat): boolean {
  let targets: readonly { provider: string }[];
  try {
    targets = bulwark.resolve(model).targets;
  } catch {
    return false;
  }
  return targets.some((target) => bulwark.providers.get(target.provider)?.passthrough?.format === format);
}
