import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Options of `createPluginImporter`. */
export interface PluginImporterOptions {
  /**
   * Where `plugins:` packages are looked for, in order, before the gateway's own dependencies: usually
   * the config file's directory, then the working directory. Relative specifiers (`./my-plugin.js`)
   * resolve against the first.
   */
  directories: readonly string[];
  /** The last resort: an import from the gateway's own location. Default `import()` from this module. */
  fallback?: (specifier: string) => Promise<unknown>;
  /**
   * Packages the gateway ships with (its own dependencies): imported through `fallback` first, so a
   * project's copy of, say, `@bulwark/provider-openai` does not replace the one the gateway was built with.
   */
  own?: ReadonlySet<string>;
}

const conditions = ['node', 'import', 'default'];

/** The file an `exports` entry points at under the `node`/`import`/`default` conditions. */
function fromExports(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const item of entry) {
      const found = fromExports(item);
      if (found) return found;
    }
    return undefined;
  }
  if (entry && typeof entry === 'object') {
    for (const [condition, value] of Object.entries(entry)) {
      if (conditions.includes(condition)) {
        const found = fromExports(value);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** `@scope/name/sub` → `['@scope/name', './sub']`. */
function splitSpecifier(specifier: string): [string, string] {
  const parts = specifier.split('/');
  const size = specifier.startsWith('@') ? 2 : 1;
  const rest = parts.slice(size).join('/');
  return [parts.slice(0, size).join('/'), rest ? `./${rest}` : '.'];
}

/** The entry file of `specifier` installed in a `node_modules` at or above `directory`, if any. */
export function findInstalled(specifier: string, directory: string): string | undefined {
  const [name, subpath] = splitSpecifier(specifier);
  for (let current = resolve(directory); ; current = dirname(current)) {
    const folder = join(current, 'node_modules', name);
    const manifestFile = join(folder, 'package.json');
    if (existsSync(manifestFile)) {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
        exports?: unknown;
        main?: string;
        module?: string;
      };
      let target: string | undefined;
      if (manifest.exports !== undefined) {
        const exportsMap = manifest.exports as Record<string, unknown>;
        const keyed =
          typeof manifest.exports === 'object' &&
          !Array.isArray(manifest.exports) &&
          Object.keys(exportsMap).some((key) => key.startsWith('.'));
        target = fromExports(keyed ? exportsMap[subpath] : subpath === '.' ? manifest.exports : undefined);
      } else {
        target = subpath === '.' ? (manifest.main ?? 'index.js') : subpath;
      }
      if (target) return join(folder, target);
    }
    if (dirname(current) === current) return undefined;
  }
}

/**
 * Imports plugin packages from the config's directory, then the working directory, then next to the
 * gateway, so a global or `npx` gateway finds the plugins a project installed. A package found nowhere
 * fails with `ERR_MODULE_NOT_FOUND` and `searched` (the places it looked), which the registry reports.
 */
export function createPluginImporter(
  options: PluginImporterOptions,
): (specifier: string) => Promise<unknown> {
  const directories = [...new Set(options.directories.map((directory) => resolve(directory)))];
  const fallback = options.fallback ?? ((specifier: string) => import(specifier));
  return async (specifier) => {
    if (specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier)) {
      const file = resolve(directories[0] ?? process.cwd(), specifier);
      if (!existsSync(file)) {
        throw Object.assign(new Error(`Cannot find module '${specifier}' (looked for ${file})`), {
          code: 'ERR_MODULE_NOT_FOUND',
          searched: [file],
        });
      }
      return import(pathToFileURL(file).href);
    }
    if (specifier.startsWith('node:') || options.own?.has(splitSpecifier(specifier)[0]))
      return fallback(specifier);
    for (const directory of directories) {
      const file = findInstalled(specifier, directory);
      if (file) return import(pathToFileURL(file).href);
    }
    try {
      return await fallback(specifier);
    } catch (error) {
      const code = (error as { code?: string })?.code;
      if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && error instanceof Error) {
        const [name] = splitSpecifier(specifier);
        if (error.message.includes(`'${name}'`) || error.message.includes(`'${specifier}'`)) {
          Object.assign(error, {
            searched: [
              ...directories.map((directory) => `${join(directory, 'node_modules')} (and above)`),
              'the gateway installation',
            ],
          });
        }
      }
      throw error;
    }
  };
}
