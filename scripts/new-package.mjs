#!/usr/bin/env node
// Creates packages/<name> with the file set every Bulwark package shares.
// Usage: node scripts/new-package.mjs <name> ["<one-line description>"] [--kind provider] [--root <directory>]
//   --kind provider  a provider plugin: README, src/index.ts, src/<base>-provider.ts on @bulwark/provider-utils,
//                    src/plugin.ts and src/conformance.test.ts (name it provider-<base>)
//   --root           the repository root to create it in (default the working directory)
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { providerFiles } from './plugin-templates.mjs';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { kind: { type: 'string' }, root: { type: 'string', default: '.' } },
});
const [name, description = ''] = positionals;
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error(
    'usage: node scripts/new-package.mjs <kebab-name> ["<description>"] [--kind provider] [--root <dir>]',
  );
  process.exit(2);
}
if (flags.kind !== undefined && flags.kind !== 'provider') {
  console.error(`--kind ${flags.kind}: only "provider" has a template`);
  process.exit(2);
}
if (flags.kind === 'provider' && !/^provider-[a-z][a-z0-9-]*$/.test(name)) {
  console.error('a provider package is named provider-<name> (provider-acme)');
  process.exit(2);
}
const directory = join(flags.root, 'packages', name);
if (existsSync(directory)) {
  console.error(`${directory} exists already`);
  process.exit(1);
}
mkdirSync(join(directory, 'src'), { recursive: true });

const repositoryURL = 'https://github.com/bulwark-llm/bulwark';
const manifest = {
  name: `@bulwark/${name}`,
  version: '0.1.0',
  description,
  license: 'MIT',
  repository: { type: 'git', url: `git+${repositoryURL}.git`, directory: `packages/${name}` },
  homepage: `${repositoryURL}/tree/main/packages/${name}#readme`,
  bugs: { url: `${repositoryURL}/issues` },
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20' },
  exports: {
    '.': { types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' },
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
// Core is a peer of every plugin (a breaking core release then bumps the plugin's major and npm refuses
// two cores) and a dev dependency for the build.
if (name !== 'core') {
  manifest.peerDependencies = { '@bulwark/core': 'workspace:^' };
  manifest.devDependencies['@bulwark/core'] = 'workspace:^';
}

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
copyFileSync(new URL('../LICENSE', import.meta.url), join(directory, 'LICENSE'));
writeFileSync(join(directory, 'vitest.config.ts'), "export { default } from '../../vitest.shared.js';\n");
if (flags.kind === 'provider') {
  // Core is a peer of a plugin (and a dev dependency for the build); the helpers are its own dependencies.
  const provider = { ...manifest, keywords: ['bulwark', 'bulwark-plugin', 'llm'] };
  provider.dependencies = { '@bulwark/provider-utils': 'workspace:^', zod: '^4.1.0' };
  provider.devDependencies = { '@bulwark/core': 'workspace:^', '@bulwark/testkit': 'workspace:^' };
  provider.peerDependencies = { '@bulwark/core': 'workspace:^' };
  writeFileSync(join(directory, 'package.json'), `${JSON.stringify(provider, null, 2)}\n`);
  for (const [file, text] of Object.entries(providerFiles(name.slice('provider-'.length), description))) {
    writeFileSync(join(directory, file), text);
  }
}
console.log(`created ${directory}`);
