#!/usr/bin/env node
// Turns the pending changesets into the first release, 0.1.0, without bumping anything.
//
// Every package starts at 0.1.0 and has never been published. The changesets written before the first
// release describe that release, not a change since one: `changeset version` would make them 0.2.0, and
// because @bulwark/core is a peer of every plugin, a core minor on 0.x would make every plugin 1.0.0.
// This script writes each package's CHANGELOG.md ("## 0.1.0") from those changesets and deletes them;
// `changeset publish` then publishes the 0.1.0 in the manifests. Run it once, for the first release only
// (`pnpm release:initial`); every later release goes through `changeset version` as usual.
//
// Usage: node scripts/initial-release.mjs [--root <repository root>]
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const rootFlag = process.argv.indexOf('--root');
const root = rootFlag === -1 ? process.cwd() : process.argv[rootFlag + 1];
const changesetFolder = join(root, '.changeset');

const folders = new Map();
for (const parent of ['packages', 'apps']) {
  if (!existsSync(join(root, parent))) continue;
  for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
    const file = join(root, parent, entry.name, 'package.json');
    if (!entry.isDirectory() || !existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    folders.set(manifest.name, { folder: join(root, parent, entry.name), manifest });
  }
}
if (existsSync(join(root, 'bench', 'package.json'))) {
  const manifest = JSON.parse(readFileSync(join(root, 'bench', 'package.json'), 'utf8'));
  folders.set(manifest.name, { folder: join(root, 'bench'), manifest });
}

const notes = new Map();
const consumed = [];
for (const file of readdirSync(changesetFolder).sort()) {
  if (!file.endsWith('.md') || file === 'README.md') continue;
  const text = readFileSync(join(changesetFolder, file), 'utf8');
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n([\s\S]*)$/.exec(text);
  if (!match) throw new Error(`.changeset/${file} has no front matter`);
  const summary = match[2].trim();
  for (const line of match[1].split(/\r?\n/)) {
    const entry = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch|none)\s*$/.exec(line);
    if (!entry) continue;
    const name = entry[1];
    if (!folders.has(name))
      throw new Error(`.changeset/${file} names ${name}, which is not a workspace package`);
    if (!notes.has(name)) notes.set(name, []);
    notes.get(name).push(summary);
  }
  consumed.push(file);
}

for (const [name, { folder, manifest }] of folders) {
  if (manifest.private) continue;
  if (manifest.version !== '0.1.0') {
    throw new Error(`${name} is at ${manifest.version}: the initial release is 0.1.0 (already released?)`);
  }
  const changelog = join(folder, 'CHANGELOG.md');
  if (existsSync(changelog)) throw new Error(`${changelog} exists: the initial release was made already`);
  const lines = (notes.get(name) ?? ['First release.']).map(
    (summary) => `- ${summary.replace(/\n/g, '\n  ')}`,
  );
  writeFileSync(changelog, `# ${name}\n\n## 0.1.0\n\n### Initial release\n\n${lines.join('\n')}\n`);
}
for (const file of consumed) rmSync(join(changesetFolder, file));
console.log(`initial release 0.1.0: ${consumed.length} changesets folded into the changelogs`);
