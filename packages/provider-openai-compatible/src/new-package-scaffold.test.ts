import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../../..', import.meta.url));
const require = createRequire(import.meta.url);
/** A package's folder as this repository resolves it (workspace packages and the root's dev tools). */
const packageFolder = (name: string) =>
  dirname(require.resolve(`${name}/package.json`, { paths: [repository] }));

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)))
    .sort();
}

// `node scripts/new-package.mjs provider-foo-bar --kind provider` in a scratch repository whose node_modules link
// to this workspace's built packages: the scaffold type-checks under the repo's tsconfig.base.json and its
// conformance test passes against the testkit fake upstream.
it('scaffolds a provider plugin package that type-checks and passes the conformance suite', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bulwark-scaffold-'));
  try {
    await writeFile(join(root, 'package.json'), '{ "private": true, "type": "module" }\n');
    await copyFile(join(repository, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
    await copyFile(join(repository, 'vitest.shared.ts'), join(root, 'vitest.shared.ts'));
    await mkdir(join(root, 'apps'));
    await mkdir(join(root, 'node_modules', '@bulwark'), { recursive: true });
    await mkdir(join(root, 'node_modules', '@types'), { recursive: true });
    for (const name of ['core', 'provider-utils', 'testkit']) {
      await symlink(join(repository, 'packages', name), join(root, 'node_modules', '@bulwark', name), 'dir');
    }
    for (const name of ['zod', 'vitest', 'typescript', '@types/node']) {
      const folder = name === 'zod' ? dirname(require.resolve('zod/package.json')) : packageFolder(name);
      await symlink(folder, join(root, 'node_modules', name), 'dir');
    }

    await run(
      process.execPath,
      [
        join(repository, 'scripts', 'new-package.mjs'),
        'provider-foo-bar',
        'The Foo Bar chat API',
        '--kind',
        'provider',
        '--root',
        root,
      ],
      { cwd: repository },
    );
    const directory = join(root, 'packages', 'provider-foo-bar');
    expect(await filesUnder(directory)).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
      'src/conformance.test.ts',
      'src/foo-bar-provider.ts',
      'src/index.ts',
      'src/plugin.ts',
      'tsconfig.build.json',
      'tsconfig.json',
      'vitest.config.ts',
    ]);
    const manifest = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: '@bulwark/provider-foo-bar',
      peerDependencies: { '@bulwark/core': 'workspace:^' },
      dependencies: { '@bulwark/provider-utils': 'workspace:^' },
      devDependencies: { '@bulwark/core': 'workspace:^', '@bulwark/testkit': 'workspace:^' },
    });
    expect(manifest.dependencies).not.toHaveProperty('@bulwark/core');
    const plugin = await readFile(join(directory, 'src', 'plugin.ts'), 'utf8');
    expect(plugin).toContain("name: 'foo-bar'");
    expect(plugin).toContain("packageName: '@bulwark/provider-foo-bar'");

    const tsc = join(packageFolder('typescript'), 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', join(directory, 'tsconfig.json'), '--noEmit']).catch(
      (error: { stdout?: string }) => {
        throw new Error(`the scaffold does not type-check:\n${error.stdout}`);
      },
    );
    const vitest = join(packageFolder('vitest'), 'vitest.mjs');
    const { stdout } = await run(process.execPath, [vitest, 'run', '--reporter=dot'], {
      cwd: directory,
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`the scaffold's conformance test failed:\n${error.stdout}\n${error.stderr}`);
    });
    // The whole suite but the four tool checks (the scaffold's provider has no tools: skip: { tools: true }).
    expect(stdout).toMatch(/Tests\s+27 passed \| 4 skipped \(31\)/);
    expect(stdout).not.toMatch(/failed/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}, 120_000);
