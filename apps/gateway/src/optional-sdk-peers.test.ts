import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, serveCli } from './test-helpers/spawn-cli.js';

// A module hook that makes the SDKs unresolvable, as in an `npm install --omit=peer` of the gateway.
const folder = mkdtempSync(join(tmpdir(), 'bulwark-no-sdk-'));
writeFileSync(
  join(folder, 'no-sdk-hooks.mjs'),
  `const blocked = (specifier) => /^(openai|@anthropic-ai\\/sdk)(\\/|$)/.test(specifier);
export async function resolve(specifier, context, next) {
  if (blocked(specifier)) {
    throw Object.assign(new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  }
  return next(specifier, context);
}
`,
);
writeFileSync(
  join(folder, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(folder, 'no-sdk-hooks.mjs')).href)});\n`,
);
const withoutSdks = () =>
  cleanEnv({ NODE_OPTIONS: `--import=${pathToFileURL(join(folder, 'register.mjs')).href}` });

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('the SDKs are optional peers of the gateway', () => {
  it('the hook really hides them (a control: importing openai fails under it)', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', "await import('openai')"], {
      env: withoutSdks(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((done) => child.once('close', done));
    expect(code).not.toBe(0);
    expect(stderr).toContain("Cannot find package 'openai'");
  });

  it('serves a config that uses only the mock provider without openai or @anthropic-ai/sdk installed', async () => {
    const config = join(folder, 'mock-only.yaml');
    writeFileSync(
      config,
      'providers:\n  main: { plugin: mock }\nmodels:\n  fast: [{ provider: main, model: mock-1 }]\n',
    );
    const running = await serveCli(['--config', config, '--port', '0'], withoutSdks());
    try {
      // The client SDK runs in this (test) process, not in the gateway.
      const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'none', maxRetries: 0 });
      const answer = await client.chat.completions.create({
        model: 'fast',
        messages: [{ role: 'user', content: 'hello without SDKs' }],
      });
      expect(answer.choices[0]!.message.content).toContain('hello without SDKs');
    } finally {
      running.child.kill('SIGTERM');
    }
    expect(await running.exited).toBe(0);
  });

  it('a config naming the openai provider without its SDK says which package to install', async () => {
    const config = join(folder, 'openai.yaml');
    writeFileSync(
      config,
      'providers:\n  main: { plugin: openai, apiKey: sk-test-not-used }\nmodels:\n  fast: [{ provider: main, model: gpt-4o }]\n',
    );
    const result = await runCli(['serve', '--config', config, '--port', '0'], withoutSdks());
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('"@bulwark/provider-openai" needs "openai", which is not installed');
  });
});
