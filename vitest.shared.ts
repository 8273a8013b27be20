import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Tests import workspace packages from their sources, so a change in `@bulwark/core` is seen by
 * every package's tests without a rebuild. Subprocess tests (gateway CLI, multi-process limiter)
 * run the built `dist/` instead; turbo builds dependencies before `test`.
 */
function workspaceAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const folder of ['packages', 'apps']) {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const directory = join(root, folder, entry.name);
      let manifest: { name?: string; exports?: Record<string, unknown> };
      try {
        manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      if (!manifest.name) continue;
      for (const subpath of Object.keys(manifest.exports ?? { '.': null })) {
        if (subpath.endsWith('.json')) continue;
        const file = subpath === '.' ? 'index' : subpath.slice(2);
        aliases[subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`] = join(
          directory,
          'src',
          `${file}.ts`,
        );
      }
    }
  }
  return aliases;
}

export default defineConfig({
  resolve: {
    alias: Object.entries(workspaceAliases())
      .sort(([a], [b]) => b.length - a.length)
      .map(([find, replacement]) => ({ find: new RegExp(`^${find.replace(/[/]/g, '\\/')}$`), replacement })),
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] },
  },
});
