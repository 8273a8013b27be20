import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../errors/errors.js';
import { checkJsonDepth, maxJsonDepth } from './json-depth.js';

function nestedArrays(depth: number): unknown {
  return JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
}

function fieldOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(InvalidRequestError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/more than \d+ levels deep/);
    return (error as InvalidRequestError).field;
  }
}

describe('checkJsonDepth', () => {
  it('parses 1,000,000 nested arrays with JSON.parse (V8 parses iteratively) and rejects them without overflowing', () => {
    const deep = nestedArrays(1_000_000);
    expect(fieldOf(() => checkJsonDepth({ extra: deep }))).toBe('extra[0]');
  });

  it('accepts exactly maxJsonDepth levels and rejects one more', () => {
    expect(fieldOf(() => checkJsonDepth(nestedArrays(maxJsonDepth)))).toBeUndefined();
    expect(fieldOf(() => checkJsonDepth(nestedArrays(maxJsonDepth + 1)))).toBe('body[0]');
    expect(fieldOf(() => checkJsonDepth({ a: nestedArrays(maxJsonDepth - 1) }))).toBeUndefined();
    expect(fieldOf(() => checkJsonDepth({ a: nestedArrays(maxJsonDepth) }))).toBe('a[0]');
  });

  it('names the field the nesting sits in, by its first path segments', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let level = 0; level < 100; level += 1) schema = { type: 'object', properties: { inner: schema } };
    const body = { tools: [{ type: 'function', function: { name: 'f', parameters: schema } }] };
    expect(fieldOf(() => checkJsonDepth(body))).toBe('tools[0].function.parameters.properties.inner');
    expect(fieldOf(() => checkJsonDepth({ messages: [{ role: 'user' }, nestedArrays(100)] }))).toBe(
      'messages[1]',
    );
    expect(fieldOf(() => checkJsonDepth(nestedArrays(100), { field: 'tools[0].parameters' }))).toBe(
      'tools[0].parameters[0]',
    );
  });

  it('counts from startDepth and honours maxDepth', () => {
    expect(fieldOf(() => checkJsonDepth([[[]]], { maxDepth: 3 }))).toBeUndefined();
    expect(fieldOf(() => checkJsonDepth([[[]]], { maxDepth: 3, startDepth: 2 }))).toBeDefined();
  });

  it('ends on a cycle, rejecting it as too deep', () => {
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = looped;
    expect(fieldOf(() => checkJsonDepth({ value: looped }))).toMatch(/^value\.self/);
  });

  it('walks shared subtrees a bounded number of times', () => {
    // 60 levels where each object holds its child twice: 2^60 paths, one object per level.
    let shared: unknown = { leaf: true };
    for (let level = 0; level < 60; level += 1) shared = { left: shared, right: shared };
    const started = performance.now();
    expect(fieldOf(() => checkJsonDepth(shared))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('ignores primitives', () => {
    expect(fieldOf(() => checkJsonDepth('text'))).toBeUndefined();
    expect(fieldOf(() => checkJsonDepth(null))).toBeUndefined();
  });
});
