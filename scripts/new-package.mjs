#!/usr/bin/env node
// Creates packages/<name> with the file set every Bulwark package shares.
// Usage: node scripts/new-package.mjs <name> "<one-line description>"
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [name, description = ''] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node scripts/new-package.mjs <kebab-name> "<description>"');
  process.exit(2);
}
const directory = join('packages', name);
if (existsSync(directory)) {
  console.error(`${directory} exists already`);
  process.exit(1);
}
mkdirSync(join(directory, 'src'), { recursive: true });

const manifest = {
  name: `@bulwark/${name}`,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20' },
  exports: {
    '.': { types: './dist/index.d.ts', import: './dist/index.js' },
    './package.json': './package.json',
  },
  types: './dist/index.d.ts',
  files: ['dist', '!dist/**/*.test.*', '!dist/**/*.test-d.*'],
  scripts: {
    build: 'rm -rf dist && tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    test: 'vitest run',
    lint: 'publint --strict && attw --pack . --profile esm-only',
  },
  dependencies: {},
  devDependencies: {},
  publishConfig: { access: 'public' },
};
if (name !== 'core') manifest.dependencies['@bulwark/core'] = 'workspace:^';

writeFileSync(join(directory, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(
  join(directory, 'tsconfig.json'),
  `${JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', '*.ts'] }, null, 2)}\n`,
);
writeFileSync(
  join(directory, 'tsconfig.build.json'),
  `${JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist' },
      include: ['src'],
      exclude: ['src/**/*.test.ts', 'src/**/*.test-d.ts', 'src/**/test-helpers/**'],
    },
    null,
    2,
  )}\n`,
);
writeFileSync(join(directory, 'vitest.config.ts'), "export { default } from '../../vitest.shared.js';\n");
console.log(`created ${directory}`);
