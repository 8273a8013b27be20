import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../../../', import.meta.url));
const changesetBin = join(repository, 'node_modules', '.bin', 'changeset');

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface ReleasePlan {
  releases: Array<{ name: string; type: 'none' | 'patch' | 'minor' | 'major' }>;
}

/** The workspace's manifests by folder (packages/*, apps/*, bench). */
function workspaceManifests(): Map<string, Manifest> {
  const manifests = new Map<string, Manifest>();
  for (const folder of ['packages', 'apps']) {
    for (const entry of readdirSync(join(repository, folder), { withFileTypes: true })) {
      const file = join(repository, folder, entry.name, 'package.json');
      if (entry.isDirectory() && existsSync(file)) {
        manifests.set(`${folder}/${entry.name}`, JSON.parse(readFileSync(file, 'utf8')));
      }
    }
  }
  manifests.set('bench', JSON.parse(readFileSync(join(repository, 'bench', 'package.json'), 'utf8')));
  return manifests;
}

const manifests = workspaceManifests();
const plugins = [...manifests.values()].filter((manifest) => manifest.peerDependencies?.['@bulwark/core']);

describe('core is a peer of every plugin', () => {
  it('no published package but the gateway has @bulwark/core as a plain dependency', () => {
    const dependents = [...manifests.values()]
      .filter((manifest) => !manifest.private && manifest.dependencies?.['@bulwark/core'])
      .map((manifest) => manifest.name);
    expect(dependents).toEqual(['@bulwark/gateway']);
  });

  it('every plugin builds against the workspace core (a workspace dev dependency)', () => {
    for (const manifest of plugins) {
      expect(manifest.devDependencies?.['@bulwark/core'], manifest.name).toBe('workspace:^');
    }
    expect(plugins.length).toBeGreaterThan(15);
  });
});

/** A scratch git repository holding the workspace's manifests and its .changeset folder. */
async function scratchCopy(): Promise<{ directory: string; status(): Promise<ReleasePlan> }> {
  const directory = mkdtempSync(join(tmpdir(), 'bulwark-release-plan-'));
  for (const file of ['package.json', 'pnpm-workspace.yaml'])
    cpSync(join(repository, file), join(directory, file));
  cpSync(join(repository, '.changeset'), join(directory, '.changeset'), { recursive: true });
  for (const folder of manifests.keys()) {
    mkdirSync(join(directory, folder), { recursive: true });
    cpSync(join(repository, folder, 'package.json'), join(directory, folder, 'package.json'));
  }
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=release-plan', '-c', 'user.email=release-plan@localhost', ...args], {
      cwd: directory,
    });
  await git('init', '-q', '-b', 'main');
  await git('add', '.');
  await git('commit', '-q', '-m', 'scratch');
  return {
    directory,
    async status() {
      rmSync(join(directory, 'plan.json'), { force: true });
      await run(changesetBin, ['status', '--output', 'plan.json'], { cwd: directory });
      return JSON.parse(readFileSync(join(directory, 'plan.json'), 'utf8'));
    },
  };
}

const scratches: string[] = [];
afterAll(() => {
  for (const directory of scratches) rmSync(directory, { recursive: true, force: true });
});

describe('a major core release (changeset status in a scratch copy of the repository)', () => {
  it('makes the next release of every plugin a major', async () => {
    const scratch = await scratchCopy();
    scratches.push(scratch.directory);
    // Pending changesets stay: the assertion is on release types, which a major core bump must dominate.
    writeFileSync(
      join(scratch.directory, '.changeset', 'zz-release-plan-core-major.md'),
      '---\n"@bulwark/core": major\n---\n\nA breaking core release.\n',
    );
    const plan = await scratch.status();
    const types = new Map(plan.releases.map((release) => [release.name, release.type]));
    expect(types.get('@bulwark/core')).toBe('major');
    const notMajor = plugins
      .filter((manifest) => types.get(manifest.name) !== 'major')
      .map((manifest) => manifest.name);
    expect(notMajor).toEqual([]);
  }, 30_000);
});

describe('the first release (scripts/initial-release.mjs in a scratch copy)', () => {
  it('is 0.1.0: the pending changesets become the changelogs and nothing is bumped', async () => {
    const scratch = await scratchCopy();
    scratches.push(scratch.directory);
    const published = [...manifests.entries()].filter(([, manifest]) => !manifest.private);
    for (const [, manifest] of published) expect(manifest, manifest.name).toMatchObject({ version: '0.1.0' });
    await run(process.execPath, [
      join(repository, 'scripts', 'initial-release.mjs'),
      '--root',
      scratch.directory,
    ]);
    const plan = await scratch.status();
    expect(plan.releases.filter((release) => release.type !== 'none')).toEqual([]);
    const core = readFileSync(join(scratch.directory, 'packages', 'core', 'CHANGELOG.md'), 'utf8');
    expect(core).toMatch(/^# @bulwark\/core\n\n## 0\.1\.0\n/);
    const summary =
      readFileSync(join(repository, '.changeset', 'core-initial.md'), 'utf8').split('---')[2] ?? '';
    expect(summary.trim()).not.toBe('');
    expect(core).toContain(summary.trim());
    for (const [folder] of published)
      expect(existsSync(join(scratch.directory, folder, 'CHANGELOG.md')), folder).toBe(true);
  }, 30_000);
});
