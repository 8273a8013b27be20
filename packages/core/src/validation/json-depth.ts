import { InvalidRequestError } from '../errors/errors.js';

/**
 * How deeply arrays and objects may nest in a request: the gateway's JSON body (the body itself is
 * level 1) and a normalized `ChatRequest` alike. Every walker after validation (JSON.stringify, the
 * cache key, provider mappings, schema checks) recurses, and 5,000 nested arrays overflow the stack;
 * real requests stay far below this (providers reject JSON Schemas nested a few levels deep).
 */
export const maxJsonDepth = 64;

interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

/** `base` and up to 6 more path segments, cut after the last property name (and the index right after it). */
function fieldOf(frame: Frame, base: string): string {
  const segments: Array<string | number> = [];
  for (let current: Frame | undefined = frame; current?.parent; current = current.parent) {
    segments.push(current.key);
  }
  segments.reverse();
  let end = Math.min(segments.length, 6);
  let lastName = -1;
  for (let index = 0; index < end; index += 1) if (typeof segments[index] === 'string') lastName = index;
  // `base` (or the body) counts as the name before the first segment.
  end = Math.min(end, typeof segments[lastName + 1] === 'number' ? lastName + 2 : lastName + 1);
  let field = base;
  for (const segment of segments.slice(0, end)) {
    if (typeof segment === 'number') field += `[${segment}]`;
    else field += field === '' ? segment : `.${segment}`;
  }
  return field === '' || field.startsWith('[') ? `body${field}` : field;
}

/**
 * Throws `InvalidRequestError` when arrays and objects in `value` nest more than `maxDepth` levels
 * (`value` itself, if an array or object, is level `startDepth`). Iterative, so it cannot overflow
 * the stack whatever the input; an object reached twice is walked again only when reached deeper,
 * so shared subtrees and cycles cost at most `maxDepth` visits each. `field` names where `value`
 * sits; the error names the path of the too-deep member (its first segments).
 */
export function checkJsonDepth(
  value: unknown,
  options: { field?: string; maxDepth?: number; startDepth?: number } = {},
): void {
  if (typeof value !== 'object' || value === null) return;
  const maxDepth = options.maxDepth ?? maxJsonDepth;
  const base = options.field ?? '';
  const seen = new Map<object, number>();
  const stack: Frame[] = [{ value, depth: options.startDepth ?? 1, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) {
      const field = fieldOf(frame, base);
      throw new InvalidRequestError({
        field,
        message: `Invalid request: ${field} nests arrays and objects more than ${maxDepth} levels deep`,
      });
    }
    const visited = seen.get(frame.value);
    if (visited !== undefined && visited >= frame.depth) continue;
    seen.set(frame.value, frame.depth);
    const depth = frame.depth + 1;
    if (Array.isArray(frame.value)) {
      const list = frame.value as unknown[];
      for (let index = list.length - 1; index >= 0; index -= 1) {
        const item = list[index];
        if (typeof item === 'object' && item !== null)
          stack.push({ value: item, depth, parent: frame, key: index });
      }
    } else {
      const record = frame.value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (let index = keys.length - 1; index >= 0; index -= 1) {
        const item = record[keys[index]!];
        if (typeof item === 'object' && item !== null)
          stack.push({ value: item, depth, parent: frame, key: keys[index]! });
      }
    }
  }
}
