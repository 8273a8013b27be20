import { InvalidRequestError } from '../errors/errors.js';
import type { ChatRequest, JSONSchema } from '../types/chat-request.js';
import { checkJsonDepth } from './json-depth.js';

const jsonSchemaTypes = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
const toolNamePattern = /^[A-Za-z0-9_-]{1,64}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

function fail(field: string, expected: string, received: unknown): never {
  let shown: string;
  try {
    shown = received === undefined ? 'undefined' : JSON.stringify(received);
  } catch {
    shown = typeof received;
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  throw new InvalidRequestError({
    field,
    message: `Invalid request: ${field} must be ${expected} (received ${shown})`,
  });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkText(field: string, value: unknown): void {
  if (typeof value === 'string') return;
  if (!Array.isArray(value)) fail(field, 'a string or an array of text parts', value);
  value.forEach((part, index) => {
    if (!isObject(part) || part.type !== 'text')
      fail(`${field}[${index}].type`, '"text"', isObject(part) ? part.type : part);
    if (typeof part.text !== 'string') fail(`${field}[${index}].text`, 'a string', part.text);
  });
}

/** Checks the parts of a JSON Schema that providers reject or misread; `field` names where it sits. */
export function validateJsonSchema(field: string, schema: JSONSchema, depth = 0): void {
  if (!isObject(schema)) fail(field, 'a JSON Schema object', schema);
  if (depth > 64) fail(field, 'a JSON Schema nested at most 64 levels deep', '…');
  const type = schema.type;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    for (const entry of types) {
      if (typeof entry !== 'string' || !jsonSchemaTypes.has(entry)) {
        fail(`${field}.type`, `one of ${[...jsonSchemaTypes].join(', ')}`, entry);
      }
    }
  }
  if (schema.properties !== undefined) {
    if (!isObject(schema.properties)) fail(`${field}.properties`, 'an object of schemas', schema.properties);
    for (const [name, property] of Object.entries(schema.properties)) {
      validateJsonSchema(`${field}.properties.${name}`, property as JSONSchema, depth + 1);
    }
  }
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required) || schema.required.some((entry) => typeof entry !== 'string')) {
      fail(`${field}.required`, 'an array of property names', schema.required);
    }
  }
  if (schema.items !== undefined && !Array.isArray(schema.items)) {
    validateJsonSchema(`${field}.items`, schema.items as JSONSchema, depth + 1);
  }
  for (const combinator of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[combinator];
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail(`${field}.${combinator}`, 'an array of schemas', list);
    for (const [index, entry] of list.entries()) {
      validateJsonSchema(`${field}.${combinator}[${index}]`, entry as JSONSchema, depth + 1);
    }
  }
}

function checkNumber(field: string, value: unknown, min: number, max: number, integer = false): void {
  if (value === undefined) return;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    fail(field, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, value);
  }
}

/**
 * The nesting bound (`maxJsonDepth`), checked before anything walks the request: the request is level 1,
 * each `providerOptions.<provider>` object counts as level 1 too (its members are top-level fields of
 * the provider's wire body), so a gateway body within the bound is a normalized request within it.
 */
function checkDepth(request: Record<string, unknown>): void {
  for (const key of Object.keys(request)) {
    const value = request[key];
    if (key === 'providerOptions' && isObject(value)) {
      for (const provider of Object.keys(value)) {
        checkJsonDepth(value[provider], { field: `providerOptions.${provider}`, startDepth: 1 });
      }
    } else {
      checkJsonDepth(value, { field: key, startDepth: 2 });
    }
  }
}

/**
 * Validates a normalized request before any network call. Throws `InvalidRequestError` whose `field`
 * names the exact path (e.g. `messages[1].content[0].type`). Unknown fields are not an error. Arrays
 * and objects may nest at most `maxJsonDepth` (64) levels.
 */
export function validateChatRequest(request: ChatRequest): void {
  if (!isObject(request)) fail('request', 'an object', request);
  checkDepth(request);
  if (typeof request.model !== 'string' || request.model.trim() === '')
    fail('model', 'a non-empty string', request.model);
  // A model name travels into upstream requests, response headers and logs: no CR, LF or other control.
  if (controlCharacters.test(request.model))
    fail('model', 'a name without control characters (CR, LF, tab, NUL…)', request.model);
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    fail('messages', 'a non-empty array', request.messages);
  }
  request.messages.forEach((message, index) => {
    const field = `messages[${index}]`;
    if (!isObject(message)) fail(field, 'an object', message);
    switch (message.role) {
      case 'system':
        checkText(`${field}.content`, message.content);
        break;
      case 'user': {
        if (typeof message.content === 'string') break;
        if (!Array.isArray(message.content))
          fail(`${field}.content`, 'a string or an array of parts', message.content);
        message.content.forEach((part, partIndex) => {
          const partField = `${field}.content[${partIndex}]`;
          if (!isObject(part)) fail(partField, 'an object', part);
          if (part.type === 'text') {
            if (typeof part.text !== 'string') fail(`${partField}.text`, 'a string', part.text);
          } else if (part.type === 'image') {
            const hasUrl = typeof part.url === 'string' && part.url.length > 0;
            const hasData = typeof part.data === 'string' && part.data.length > 0;
            if (hasUrl === hasData) fail(partField, 'an image with exactly one of url or data', part);
            if (hasUrl && !/^(https?:|data:)/i.test(part.url!))
              fail(`${partField}.url`, 'an http(s) or data: URL', part.url);
            if (hasData && (typeof part.mediaType !== 'string' || !part.mediaType.startsWith('image/'))) {
              fail(`${partField}.mediaType`, 'an image media type such as "image/png"', part.mediaType);
            }
          } else if (part.type === 'file') {
            const sources = [part.data, part.url, part.fileId].filter(
              (value) => typeof value === 'string' && value.length > 0,
            );
            if (sources.length !== 1) fail(partField, 'a file with exactly one of data, url or fileId', part);
            if (part.data !== undefined && typeof part.mediaType !== 'string')
              fail(`${partField}.mediaType`, 'a media type such as "application/pdf"', part.mediaType);
          } else {
            fail(`${partField}.type`, 'one of "text", "image", "file"', (part as { type?: unknown }).type);
          }
        });
        break;
      }
      case 'assistant':
        if (message.content !== null && message.content !== undefined)
          checkText(`${field}.content`, message.content);
        if (message.toolCalls !== undefined && !Array.isArray(message.toolCalls))
          fail(`${field}.toolCalls`, 'an array of tool calls', message.toolCalls);
        message.toolCalls?.forEach((call, callIndex) => {
          const callField = `${field}.toolCalls[${callIndex}]`;
          if (!isObject(call)) fail(callField, 'an object', call);
          if (typeof call.id !== 'string' || call.id === '')
            fail(`${callField}.id`, 'a non-empty string', call.id);
          if (typeof call.name !== 'string' || call.name === '')
            fail(`${callField}.name`, 'a non-empty string', call.name);
          if (typeof call.arguments !== 'string')
            fail(`${callField}.arguments`, 'a JSON string', call.arguments);
        });
        break;
      case 'tool':
        if (typeof message.toolCallId !== 'string' || message.toolCallId === '') {
          fail(`${field}.toolCallId`, 'a non-empty string', message.toolCallId);
        }
        checkText(`${field}.content`, message.content);
        break;
      default:
        fail(
          `${field}.role`,
          'one of "system", "user", "assistant", "tool"',
          (message as { role?: unknown }).role,
        );
    }
  });
  if (request.tools !== undefined) {
    if (!Array.isArray(request.tools)) fail('tools', 'an array', request.tools);
    const names = new Set<string>();
    request.tools.forEach((tool, index) => {
      const field = `tools[${index}]`;
      if (!isObject(tool)) fail(field, 'an object', tool);
      if (typeof tool.name !== 'string' || !toolNamePattern.test(tool.name)) {
        fail(`${field}.name`, 'a name of 1-64 letters, digits, _ or -', tool.name);
      }
      if (names.has(tool.name)) fail(`${field}.name`, 'unique among tools', tool.name);
      names.add(tool.name);
      validateJsonSchema(`${field}.parameters`, tool.parameters);
    });
  }
  const choice = request.toolChoice;
  if (choice !== undefined) {
    if (typeof choice === 'string') {
      if (!['auto', 'none', 'required'].includes(choice))
        fail('toolChoice', '"auto", "none", "required" or { type: "tool", name }', choice);
    } else if (!isObject(choice) || choice.type !== 'tool' || typeof choice.name !== 'string') {
      fail('toolChoice', '"auto", "none", "required" or { type: "tool", name }', choice);
    } else if (!request.tools?.some((tool) => tool.name === choice.name)) {
      fail('toolChoice.name', 'the name of one of the tools', choice.name);
    }
  }
  checkNumber('temperature', request.temperature, 0, 2);
  checkNumber('topP', request.topP, 0, 1);
  checkNumber('maxTokens', request.maxTokens, 1, 10_000_000, true);
  checkNumber('seed', request.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  if (request.stop !== undefined) {
    if (
      !Array.isArray(request.stop) ||
      request.stop.some((entry) => typeof entry !== 'string' || entry === '')
    ) {
      fail('stop', 'an array of non-empty strings', request.stop);
    }
  }
  const format = request.responseFormat;
  if (format !== undefined) {
    if (!isObject(format) || !['text', 'json', 'json_schema'].includes(format.type as string)) {
      fail('responseFormat.type', '"text", "json" or "json_schema"', isObject(format) ? format.type : format);
    }
    if (format.type === 'json_schema') {
      if (typeof format.name !== 'string' || !toolNamePattern.test(format.name)) {
        fail('responseFormat.name', 'a name of 1-64 letters, digits, _ or -', format.name);
      }
      validateJsonSchema('responseFormat.schema', format.schema);
    }
  }
  if (request.metadata !== undefined) {
    if (!isObject(request.metadata)) fail('metadata', 'an object of strings', request.metadata);
    for (const [key, value] of Object.entries(request.metadata)) {
      if (typeof value !== 'string') fail(`metadata.${key}`, 'a string', value);
    }
  }
}
