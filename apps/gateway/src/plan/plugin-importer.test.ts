import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventBus, silentLogger, systemClock } from '@bulwark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../config/load-config.js';
import { buildPlan } from './build-plan.js';
import { createPluginImporter } from './plugin-importer.js';

// A third-party provider plugin, as its package would ship it (plain ESM, no build).
const pluginSource = (name: string) => `
export const plugin = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: '${name}',
  packageName: '@acme/bulwark-${name}',
  configSchema: { '~standard': { version: 1, vendor: 'acme', validate: (value) => ({ value }) } },
  create: (config, context) => ({
    specificationVersion: 'v1',
    name: context.name,
    async complete(request) {
      return { id: 'x', provider: context.name, model: request.model, text: 'from ${name}', finishReason: 'stop' };
    },
    async *stream() {},
  }),
};
`;

const root = mkdtempSync(join(tmpdir(), 'bulwark-plugin-resolution-'));
const project = join(root, 'project');
const elsewhere = join(root, 'elsewhere');
function installPackage(directory: string, name: string): void {
  const folder = join(directory, 'node_modules', '@acme', `bulwark-${name}`);
  mkdirSync(join(folder, 'dist'), { recursive: true });
  writeFileSync(
    join(folder, 'package.json'),
    JSON.stringify({
      name: `@acme/bulwark-${name}`,
      type: 'module',
      exports: { '.': { import: './dist/index.js' } },
    }),
  );
  writeFileSync(join(folder, 'dist', 'index.js'), pluginSource(name));
}
installPackage(project, 'echo');
installPackage(elsewhere, 'second');
mkdirSync(join(project, 'plugins'), { recursive: true });
writeFileSync(join(project, 'plugins', 'local.mjs'), pluginSource('local'));

afterAll(() => rmSync(root, { recursive: true, force: true }));

const planOptions = (configDirectory: string) => ({
  logger: silentLogger,
  events: createEventBus({ logger: silentLogger }),
  clock: systemClock,
  configDirectory,
});

function configUsing(plugins: string[], provider: string) {
  return validateGatewayConfig({
    plugins,
    providers: { main: { plugin: provider } },
    models: { fast: [{ provider: 'main', model: 'm' }] },
  });
}

describe('plugins: entries resolve from the config file directory', () => {
  it('loads a package installed next to the config, not next to the gateway', async () => {
    const plan = await buildPlan(configUsing(['@acme/bulwark-echo'], 'echo'), planOptions(project));
    try {
      const answer = await plan.providers.get('main')!.complete({ model: 'm', messages: [] }, {} as never);
      expect(answer.text).toBe('from echo');
    } finally {
      await plan.close();
    }
  });

  it('loads a relative path against the config file directory', async () => {
    const plan = await buildPlan(configUsing(['./plugins/local.mjs'], 'local'), planOptions(project));
    try {
      expect(plan.providers.get('main')?.name).toBe('main');
    } finally {
      await plan.close();
    }
  });

  it('"not installed" says where it looked', async () => {
    const error = await buildPlan(configUsing(['@acme/bulwark-absent'], 'mock'), planOptions(project)).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error?.message).toContain(
      'plugins[0]: Plugin package "@acme/bulwark-absent" is not installed (looked in:',
    );
    expect(error?.message).toContain(join(project, 'node_modules'));
    expect(error?.message).toContain('the gateway installation');
  });

  it('looks in the directories in order, then falls back to the gateway', async () => {
    const fallbacks: string[] = [];
    const importer = createPluginImporter({
      directories: [project, elsewhere],
      fallback: async (specifier) => {
        fallbacks.push(specifier);
        return { from: 'gateway' };
      },
    });
    expect(((await importer('@acme/bulwark-second')) as { plugin: { name: string } }).plugin.name).toBe(
      'second',
    );
    expect(((await importer('@acme/bulwark-echo')) as { plugin: { name: string } }).plugin.name).toBe('echo');
    expect(await importer('@bulwark/retry')).toEqual({ from: 'gateway' });
    expect(fallbacks).toEqual(['@bulwark/retry']);
  });

  it("imports the gateway's own dependencies from the gateway even when the project has a copy", async () => {
    const importer = createPluginImporter({
      directories: [project],
      fallback: async () => ({ from: 'gateway' }),
      own: new Set(['@acme/bulwark-echo']),
    });
    expect(await importer('@acme/bulwark-echo')).toEqual({ from: 'gateway' });
  });
});
