/** Header access that works for `Headers`, plain objects and SDK header maps. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined | null;

/** The first value of a header, matched case-insensitively. */
export function getHeader(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? record[name.toLowerCase()];
  if (value !== undefined) return Array.isArray(value) ? value[0] : value;
  const lower = name.toLowerCase();
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === lower) {
      const found = record[key];
      return Array.isArray(found) ? found[0] : found;
    }
  }
  return undefined;
}

/**
 * Parses durations as providers write them: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, or plain seconds (`"2"`).
 * Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const pattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    const value = Number(match[1]);
    const unit = match[2];
    total +=
      unit === 'h' ? value * 3_600_000 : unit === 'm' ? value * 60_000 : unit === 's' ? value * 1000 : value;
    consumed += match[0].length;
  }
  return consumed === trimmed.length ? total : undefined;
}

/**
 * How long the provider asked us to wait, in ms: `retry-after-ms` first, then `retry-after` as seconds
 * or an HTTP date (relative to `now`). Negative or unparseable values give undefined.
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const milliseconds = getHeader(headers, 'retry-after-ms');
  if (milliseconds !== undefined) {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = getHeader(headers, 'retry-after');
  if (retryAfter === undefined) return undefined;
  const seconds = Number(retryAfter);
  if (retryAfter.trim() !== '' && Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A non-negative count from a header, or undefined when absent or not a number. */
export function parseHeaderCount(headers: HeaderSource, name: string): number | undefined {
  const text = getHeader(headers, name);
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
