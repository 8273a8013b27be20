import { readFileSync } from 'node:fs';
import * as core from '@bulwark/core';
import * as providerUtils from '@bulwark/provider-utils';
import * as testkit from '@bulwark/testkit';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as zod from 'zod';

// docs/writing-a-plugin.md: every TypeScript block is run here, in order, as the module its first line names
// (`// src/acme-provider.ts`); the provider the guide builds runs the conformance suite below.
const guide = readFileSync(new URL('../../../docs/writing-a-plugin.md', import.meta.url), 'utf8');
const blocks = [...guide.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, language, code]) => ({
  language: language as string,
  code: code as string,
}));

/** Transpiles a block and runs it with its imports taken from `modules`; returns its exports. */
function evaluate(code: string, modules: Record<string, unknown>): Record<string, unknown> {
  const javascript = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const exported: string[] = [];
  const body = javascript
    .replace(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';?/gm, (_, names: string, from: string) => {
      if (!(from in modules)) throw new Error(`the guide imports ${from}, which the test does not provide`);
      return `const {${names.replace(/\bas\b/g, ':')}} = __modules[${JSON.stringify(from)}];`;
    })
    .replace(/^export (async function|function|const) (\w+)/gm, (_, keyword: string, name: string) => {
      exported.push(name);
      return `${keyword} ${name}`;
    });
  if (/^(import|export) /m.test(body)) throw new Error(`unsupported import or export in:\n${body}`);
  return new Function('__modules', `${body}\nreturn { ${exported.join(', ')} };`)(modules);
}

const modules: Record<string, unknown> = {
  '@bulwark/core': core,
  '@bulwark/provider-utils': providerUtils,
  '@bulwark/testkit': testkit,
  zod,
};
const files: string[] = [];
for (const block of blocks.filter((candidate) => candidate.language === 'ts')) {
  const file = /^\/\/ src\/([\w.-]+)\.ts\n/.exec(block.code)?.[1];
  if (!file) throw new Error(`a ts block of the guide does not name its file:\n${block.code.slice(0, 200)}`);
  files.push(file);
  // The conformance block registers the suite here, against the guide's provider.
  modules[`./${file}.js`] = evaluate(block.code, modules);
}

describe('docs/writing-a-plugin.md', () => {
  it('has the provider, plugin, registry and conformance blocks', () => {
    expect(files).toEqual(['acme-provider', 'plugin', 'registry-example', 'conformance.test']);
  });

  it("shows the reference package's dependency layout: core a peer, helpers dependencies", () => {
    const shown = JSON.parse(blocks.find((block) => block.language === 'json')?.code ?? '{}');
    const actual = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const key of ['name', 'type', 'exports', 'files', 'peerDependencies', 'dependencies']) {
      expect(shown[key], key).toEqual(actual[key]);
    }
    expect(actual.devDependencies).toMatchObject(shown.devDependencies); // plus the guide test's typescript
    expect(shown.dependencies).not.toHaveProperty('@bulwark/core');
  });

  it('creates the provider through the registry under its config entry name', async () => {
    const { createFromConfig } = modules['./registry-example.js'] as {
      createFromConfig(baseURL: string): Promise<string>;
    };
    expect(await createFromConfig('http://127.0.0.1:9/v1')).toBe('acme-eu');
  });

  it('names the config path of a bad option', async () => {
    const { plugin } = modules['./plugin.js'] as { plugin: core.PluginDescriptor<'provider'> };
    const registry = core.createPluginRegistry({ plugins: [plugin] });
    await expect(
      registry.create('provider', 'acme', { baseURL: 'not a url', apiKey: 'k' }, 'providers.acme-eu'),
    ).rejects.toMatchObject({ code: 'configuration', path: 'providers.acme-eu.baseURL' });
  });
});
