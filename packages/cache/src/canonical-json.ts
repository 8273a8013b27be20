/**
 * JSON with object keys sorted at every depth, so two values that differ only in key order produce the
 * same text. `undefined` members are left out (as `JSON.stringify` does), so an absent option and an
 * option set to `undefined` are the same request. Throws `TypeError` on values JSON cannot express
 * (bigint, functions, cycles, more than 256 levels of nesting).
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set(), 0);
}

/**
 * Deeper values are refused (a `TypeError`, so the cache bypasses the request) before the recursion
 * can overflow the stack. Validated requests nest at most 64 levels (core's `maxJsonDepth`).
 */
const maxDepth = 256;

function write(value: unknown, path: Set<object>, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // JSON has no NaN or Infinity; JSON.stringify writes null, which would make 0/0 equal null.
      if (!Number.isFinite(value)) throw new TypeError(`cannot canonicalize the number ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new TypeError(`cannot canonicalize a value of type ${typeof value}`);
  }
  if (value === null) return 'null';
  if (path.has(value)) throw new TypeError('cannot canonicalize a value that contains itself');
  if (depth >= maxDepth)
    throw new TypeError(`cannot canonicalize a value nested more than ${maxDepth} levels`);
  path.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) out += ',';
      const item = value[index];
      out += item === undefined ? 'null' : write(item, path, depth + 1);
    }
    out += ']';
  } else {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    out = '{';
    let first = true;
    for (const key of keys) {
      const member = record[key];
      if (member === undefined) continue;
      if (!first) out += ',';
      first = false;
      out += JSON.stringify(key);
      out += ':';
      out += write(member, path, depth + 1);
    }
    out += '}';
  }
  path.delete(value);
  return out;
}
