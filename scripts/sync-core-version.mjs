#!/usr/bin/env node
// Writes @bulwark/core's package.json version into packages/core/src/registry/core-version.ts, after
// `changeset version` bumped it (`pnpm version-packages` runs both).
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('packages/core/package.json', root), 'utf8'));
const file = new URL('packages/core/src/registry/core-version.ts', root);
const text = readFileSync(file, 'utf8');
const next = text.replace(/export const coreVersion = '[^']*';/, `export const coreVersion = '${version}';`);
if (next === text && !text.includes(`'${version}'`))
  throw new Error('core-version.ts has no coreVersion constant');
writeFileSync(file, next);
