import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError, checkJsonDepth, maxJsonDepth, redactSecrets, registerSecret } from '@bulwark/core';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { describeValue, isRecord } from '../formats/client-format.js';
import { maskConfig } from '../plan/mask-secrets.js';
import { type GatewayConfig, gatewayConfigSchema } from './config-schema.js';
import { envSubstitutionsOf, rememberSubstitutions } from './env-substitutions.js';

const envPattern = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${env:NAME}` (or `${env:NAME:-default}`) in every string of a parsed config. A missing
 * variable without a default is a `ConfigError` naming the variable and where it was used. Each value
 * taken from the environment is registered with core's secret registry (so no log line shows it) and
 * remembered with its path (see `envSubstitutionsOf`), so config errors show `${env:NAME}` instead.
 */
export function substituteEnv(value: unknown, env: Record<string, string | undefined>): unknown {
  const inherited = envSubstitutionsOf(value);
  const paths = new Map(inherited?.paths);
  const values = new Map(inherited?.values);
  const substitute = (item: unknown, path: string): unknown => {
    if (typeof item === 'string') {
      if (!item.includes('${')) return item;
      const result = item.replace(envPattern, (match, name: string, fallback: string | undefined) => {
        const found = env[name];
        if (found !== undefined && found !== '') {
          registerSecret(found);
          if (!values.has(found)) values.set(found, match);
          return found;
        }
        if (fallback !== undefined) return fallback;
        throw new ConfigError({
          path: path || '(root)',
          // Worded so no "apiKey:" precedes the name (the redactor would take the next word for a key).
          message: `Environment variable ${name} is not set (the config uses \${env:${name}} at ${path || '(root)'})`,
        });
      });
      if (result !== item) paths.set(path || '(root)', item);
      return result;
    }
    if (Array.isArray(item)) return item.map((inner, index) => substitute(inner, `${path}[${index}]`));
    if (isRecord(item)) {
      const result: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(item)) {
        result[key] = substitute(inner, path === '' ? key : `${path}.${key}`);
      }
      return result;
    }
    return item;
  };
  const result = substitute(value, '');
  rememberSubstitutions(result, { paths, values });
  return result;
}

/** Parses config text: JSON when `format` is json (or the text starts with `{`), YAML otherwise. */
export function parseConfigText(text: string, format?: 'json' | 'yaml', source = 'config'): unknown {
  const json = format === 'json' || (format === undefined && text.trimStart().startsWith('{'));
  let parsed: unknown;
  try {
    parsed = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError({
      path: '(root)',
      cause: error,
      message: `${source} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    });
  }
  // Substitution and validation recurse: a config nested past the request bound is refused first.
  try {
    checkJsonDepth(parsed);
  } catch (error) {
    const field = (error as { field?: string }).field ?? '(root)';
    throw new ConfigError({
      path: field,
      cause: error,
      message: `${source}: ${field} nests arrays and objects more than ${maxJsonDepth} levels deep`,
    });
  }
  return parsed;
}

/** Largest config file read by default: 1 MiB. `BULWARK_CONFIG_MAX_BYTES` raises or lowers it. */
export const defaultConfigMaxBytes = 1024 * 1024;

/** The config size cap from `BULWARK_CONFIG_MAX_BYTES` (a whole number of bytes), else the default. */
export function configMaxBytesFrom(env: Record<string, string | undefined>): number {
  const text = env.BULWARK_CONFIG_MAX_BYTES;
  if (text === undefined || text === '') return defaultConfigMaxBytes;
  const bytes = Number(text);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ConfigError({
      path: 'BULWARK_CONFIG_MAX_BYTES',
      message: `BULWARK_CONFIG_MAX_BYTES must be a positive whole number of bytes (got "${text.slice(0, 40)}")`,
    });
  }
  return bytes;
}

export interface ReadConfigFileOptions {
  /** Largest file accepted, in bytes. Default 1 MiB (`defaultConfigMaxBytes`). */
  maxBytes?: number;
}

function tooLarge(file: string, maxBytes: number, size?: number): ConfigError {
  return new ConfigError({
    path: '(file)',
    message: `Config file ${file} is ${size === undefined ? 'larger than' : `${size} bytes, over`} the limit of ${maxBytes} bytes (set BULWARK_CONFIG_MAX_BYTES to change it)`,
  });
}

/** Reads at most `maxBytes` of a file (the size is checked first, and the read stops at the cap too). */
function readCapped(file: string, maxBytes: number): string {
  let descriptor: number;
  try {
    descriptor = openSync(file, 'r');
  } catch (error) {
    throw new ConfigError({
      path: '(file)',
      cause: error,
      message: `Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    });
  }
  try {
    const stats = fstatSync(descriptor);
    if (stats.isDirectory()) {
      throw new ConfigError({ path: '(file)', message: `Cannot read config file ${file}: EISDIR` });
    }
    if (stats.size > maxBytes) throw tooLarge(file, maxBytes, stats.size);
    // A file that grows after the check, or a device that reports no size, is still read up to the cap.
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, stats.size > 0 ? stats.size + 1 : maxBytes + 1));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw tooLarge(file, maxBytes);
        break;
      }
      const read = readSync(descriptor, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw tooLarge(file, maxBytes);
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    if (ConfigError.isInstance(error)) throw error;
    throw new ConfigError({
      path: '(file)',
      cause: error,
      message: `Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    });
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Reads and parses a config file (`.json`, `.yaml`, `.yml`), without validating it. A file over
 * `maxBytes` (default 1 MiB) is a `ConfigError` naming the file and the limit, and is never read whole.
 */
export function readConfigFile(file: string, options: ReadConfigFileOptions = {}): unknown {
  const text = readCapped(file, options.maxBytes ?? defaultConfigMaxBytes);
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

/**
 * Validates a parsed (and env-substituted) config; `ConfigError` lists every problem. Values shown in
 * the error are masked first: values under secret-bearing keys, and values that came from
 * `${env:…}` (shown as the reference as written).
 */
export function validateGatewayConfig(raw: unknown): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw ?? {});
  if (result.success) {
    rememberSubstitutions(result.data, envSubstitutionsOf(raw));
    return result.data;
  }
  const shown = maskConfig(raw, envSubstitutionsOf(raw));
  const issues: Array<{ path: string; message: string }> = [];
  for (const issue of result.error.issues.flatMap(deepestIssues)) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = joinPath([...issue.path, key]);
        issues.push({
          path,
          message: redactSecrets(describeIssue(shown, path, 'no such key here (check the spelling)')),
        });
      }
      continue;
    }
    const path = joinPath(issue.path);
    issues.push({ path, message: redactSecrets(describeIssue(shown, path, issue.message)) });
  }
  throw new ConfigError({
    path: issues[0]?.path ?? '(root)',
    issues,
    message: `Invalid configuration:\n  ${issues.map((issue) => issue.message).join('\n  ')}`,
  });
}

/** Reads, substitutes and validates a config file (size cap from `BULWARK_CONFIG_MAX_BYTES`, else 1 MiB). */
export function loadConfigFile(
  file: string,
  env: Record<string, string | undefined> = process.env,
): GatewayConfig {
  return validateGatewayConfig(
    substituteEnv(readConfigFile(file, { maxBytes: configMaxBytesFrom(env) }), env),
  );
}
