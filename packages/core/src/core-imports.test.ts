import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const source = fileURLToPath(new URL('.', import.meta.url));
// Transport and wire helpers live in @bulwark/provider-utils: core stays the contract.
const forbidden = /from\s+['"](node:)?(http|https|http2|zlib|stream|stream\/[\w/]+|net|tls)['"]/;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !/\.test(-d)?\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe('core imports', () => {
  it('has no node:http, zlib or stream imports outside tests', () => {
    const files = sourceFiles(source);
    expect(files.length).toBeGreaterThan(20);
    const offenders = files.filter((file) => forbidden.test(readFileSync(file, 'utf8')));
    expect(offenders.map((file) => file.slice(source.length))).toEqual([]);
  });

  it('recognises the imports it forbids', () => {
    expect(forbidden.test("import { request } from 'node:http';")).toBe(true);
    expect(forbidden.test('import { createGunzip } from "zlib";')).toBe(true);
    expect(forbidden.test("import { pipeline } from 'node:stream/promises';")).toBe(true);
    expect(forbidden.test("import { readFileSync } from 'node:fs';")).toBe(false);
  });
});
