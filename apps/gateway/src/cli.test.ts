import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, serveCli } from './test-helpers/spawn-cli.js';

const upstreamKey = 'sk-test-cli-upstream-key-987654321';
const clientKey = 'cli-client-key-0123456789';
const redisPassword = 'hunter2-redis-password';
const directory = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await createFakeUpstream({ apiKey: upstreamKey });
});

afterAll(async () => {
  await upstream.close();
});

function writeConfig(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

describe('bulwark check-config', () => {
  it('prints the resolved plan with no secret in it', async () => {
    const file = writeConfig(
      'plan.yaml',
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
        'auth: { keys: [{ key: "${env:CLIENT_KEY}", name: team-a }] }',
        'providers:',
        `  main: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: "\${env:UPSTREAM_KEY}", limits: { rpm: 600 } }`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
        '  claude: { plugin: anthropic, baseURL: "http://127.0.0.1:9", apiKey: "${env:UPSTREAM_KEY}" }',
        'models:',
        '  smart:',
        '    targets:',
        '      - { provider: claude, model: claude-sonnet-4-20250514 }',
        '      - { provider: main, model: gpt-4o }',
        'retry: { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 8000 }',
        `budget: { store: { plugin: redis, url: "redis://:${redisPassword}@127.0.0.1:6399" } }`,
      ].join('\n'),
    );
    const result = await runCli(
      ['check-config', file],
      cleanEnv({ UPSTREAM_KEY: upstreamKey, CLIENT_KEY: clientKey }),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid');
    expect(result.stdout).toMatch(/smart:\n\s+- claude\/claude-sonnet-4-20250514\n\s+- main\/gpt-4o/);
    expect(result.stdout).toContain('plugin: retry');
    expect(result.stdout).toContain('team-a');
    for (const secret of [upstreamKey, clientKey, redisPassword]) expect(result.stdout).not.toContain(secret);
  });

  it('fails with the path, the value and what was expected', async () => {
    const file = writeConfig('bad.yaml', 'server: { port: "http" }\nproviders: { main: { plugin: mock } }\n');
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('server.port: got "http"; expected number');
    expect(result.stdout).toBe('');
  });

  it('names a missing environment variable', async () => {
    const file = writeConfig(
      'env.yaml',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      'providers: { main: { plugin: openai, apiKey: "${env:MISSING_FOR_CLI_TEST}" } }\n',
    );
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('MISSING_FOR_CLI_TEST');
  });
});

describe('bulwark serve', () => {
  it('starts with no config on the built-in default (mock provider) and exits 0 on SIGTERM', async () => {
    const running = await serveCli(['--port', '0']);
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(running.output.stdout).toContain('built-in default');
      const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'none', maxRetries: 0 });
      const answer = await client.chat.completions.create({
        model: 'fast',
        messages: [{ role: 'user', content: 'hello mock' }],
      });
      expect(answer.choices[0]!.message.content).toEqual(expect.any(String));
      expect(answer.choices[0]!.message.content!.length).toBeGreaterThan(0);
    } finally {
      running.child.kill('SIGTERM');
    }
    expect(await running.exited).toBe(0);
  });

  it('drains a running stream on SIGTERM, then exits 0', async () => {
    upstream.setDefault({
      kind: 'reply',
      text: 'one two three four five six seven eight nine ten',
      chunkDelayMs: 150,
    });
    const file = writeConfig(
      'drain.yaml',
      `providers:\n  main: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: "${upstreamKey}" }\nmodels:\n  m: [{ provider: main, model: gpt-4o }]\n`,
    );
    const running = await serveCli(['--port', '0'], cleanEnv({ BULWARK_CONFIG: file }));
    expect(running.output.stdout).toContain(file);
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let text = '';
    let signalled = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (!signalled && text.length > 0) {
        signalled = true;
        running.child.kill('SIGTERM');
      }
    }
    expect(signalled).toBe(true);
    expect(text).toBe('one two three four five six seven eight nine ten');
    expect(await running.exited).toBe(0);
    expect(running.output.stdout).toContain('draining');
    upstream.reset();
  });

  it('refuses to start on an invalid config, starting nothing', async () => {
    const file = writeConfig(
      'invalid.yaml',
      'providers: { main: { plugin: mock } }\nmodels: { a: [{ provider: nobody, model: x }] }\n',
    );
    const result = await runCli(['serve', '--config', file, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('models.a[0].provider: got "nobody"');
    expect(result.stdout).not.toContain('listening');
  });
});
