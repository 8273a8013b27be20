import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError } from '@bulwark/core';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { describeValue, isRecord } from '../formats/client-format.js';
import { type GatewayConfig, gatewayConfigSchema } from './config-schema.js';

const envPattern = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${env:NAME}` (or `${env:NAME:-default}`) in every string of a parsed config. A missing
 * variable without a default is a `ConfigError` naming the variable and where it was used.
 */
export function substituteEnv(value: unknown, env: Record<string, string | undefined>, path = ''): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(envPattern, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError({
        path: path || '(root)',
        message: `${path || '(root)'}: environment variable ${name} is not set (the config uses \${env:${name}})`,
      });
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, `${path}[${index}]`));
  if (isRecord(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] = substituteEnv(item, env, path === '' ? key : `${path}.${key}`);
    }
    return result;
  }
  return value;
}

/** Parses config text: JSON when `format` is json (or the text starts with `{`), YAML otherwise. */
export function parseConfigText(text: string, format?: 'json' | 'yaml', source = 'config'): unknown {
  const json = format === 'json' || (format === undefined && text.trimStart().startsWith('{'));
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError({
      path: '(root)',
      cause: error,
      message: `${source} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    });
  }
}

/** Reads and parses a config file (`.json`, `.yaml`, `.yml`), without validating it. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError({
      path: '(file)',
      cause: error,
      message: `Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    });
  }
  const extension = extname(file).toLowerCase();
  return parseConfigText(text, extension === '.json' ? 'json' : extension === '' ? undefined : 'yaml', file);
}

type Segment = string | number;

/** `providers.main.limits[0].rpm` → ['providers', 'main', 'limits', 0, 'rpm']. */
export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const bracket = part.indexOf('[');
    const head = bracket === -1 ? part : part.slice(0, bracket);
    if (head !== '' && head !== '(root)') segments.push(head);
    if (bracket !== -1) {
      for (const match of part.slice(bracket).matchAll(/\[(\d+)\]/g)) segments.push(Number(match[1]));
    }
  }
  return segments;
}

export function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

export function joinPath(segments: readonly PropertyKey[]): string {
  let result = '';
  for (const segment of segments) {
    if (typeof segment === 'number') result += `[${segment}]`;
    else result += result === '' ? String(segment) : `.${String(segment)}`;
  }
  return result === '' ? '(root)' : result;
}

/** Picks the union branch that got furthest, so "expected" speaks of the branch the user meant. */
function deepestIssues(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  let best: z.core.$ZodIssue[] = [issue];
  let bestDepth = -1;
  for (const branch of issue.errors) {
    const depth = Math.max(...branch.map((inner) => inner.path.length));
    const typeMismatchAtRoot = branch.every(
      (inner) => inner.path.length === 0 && inner.code === 'invalid_type',
    );
    if (!typeMismatchAtRoot && depth > bestDepth) {
      bestDepth = depth;
      best = branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
    }
  }
  return best.flatMap((inner) => (inner === issue ? [inner] : deepestIssues(inner)));
}

/** One line per problem: the path, the bad value and what was expected. */
export function describeIssue(root: unknown, path: string, message: string): string {
  const value = valueAt(root, parsePath(path));
  return `${path}: got ${describeValue(value)}; expected ${message.replace(/^Invalid input: expected /, '')}`;
}

/** Validates a parsed (and env-substituted) config; `ConfigError` lists every problem. */
export function validateGatewayConfig(raw: unknown): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issues: Array<{ path: string; message: string }> = [];
  for (const issue of result.error.issues.flatMap(deepestIssues)) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = joinPath([...issue.path, key]);
        issues.push({ path, message: describeIssue(raw, path, 'no such key here (check the spelling)') });
      }
      continue;
    }
    const path = joinPath(issue.path);
    issues.push({ path, message: describeIssue(raw, path, issue.message) });
  }
  throw new ConfigError({
    path: issues[0]?.path ?? '(root)',
    issues,
    message: `Invalid configuration:\n  ${issues.map((issue) => issue.message).join('\n  ')}`,
  });
}

/** Reads, substitutes and validates a config file. */
export function loadConfigFile(
  file: string,
  env: Record<string, string | undefined> = process.env,
): GatewayConfig {
  return validateGatewayConfig(substituteEnv(readConfigFile(file), env));
}
