import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { captureLogs } from '../test-helpers/log-capture.js';
import { cleanEnv, cliPath, runCli } from '../test-helpers/spawn-cli.js';

/**
 * Standing abuse tests, secrets and tenants class (issue 11): no secret in any error, log line or
 * plan; tenants kept apart; /metrics and the local gateway closed to callers without a key or from a
 * browser page; priorities bounded per key; every plugin instance closed with the plan.
 */

const directory = mkdtempSync(join(tmpdir(), 'bulwark-abuse-secrets-'));
let upstream: FakeUpstream;
let redis: TestRedis;

beforeAll(async () => {
  upstream = await createFakeUpstream();
  redis = await useTestRedis();
});

afterAll(async () => {
  await upstream?.close();
  await redis?.stop();
});

function writeFile(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

/** Runs a Node script to its end; resolves its exit code, or `'hung'` when it is still alive after `timeoutMs`. */
function runScript(file: string, timeoutMs: number): Promise<{ code: number | 'hung'; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'hung', output });
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

/** `${env:NAME}`, the config's reference to an environment variable. */
const reference = (name: string): string => `\${env:${name}}`;

const tcpHandles = (): number =>
  process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;

/** The TCP handle count once sockets that are closing (a Redis ping's, say) are gone. */
async function settledTcpHandles(): Promise<number> {
  let last = tcpHandles();
  for (let turn = 0; turn < 50; turn += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = tcpHandles();
    if (now === last) return now;
    last = now;
  }
  return last;
}

describe('plugin instances are closed with the plan (point 16)', () => {
  const redisConfig = () => ({
    server: { port: 0 },
    providers: { main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-close-0000' } },
    models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
    cache: { plugin: 'redis', url: redis.url, prefix: `${redis.prefix}cache:` },
    log: { level: 'error' as const },
  });

  it('check-config with a Redis cache prints its plan and exits by itself', async () => {
    const config = redisConfig();
    const file = writeFile(
      'redis-cache.yaml',
      [
        'providers:',
        `  main: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: sk-test-close-0000 }`,
        `cache: { plugin: redis, url: "${config.cache.url}", prefix: "${config.cache.prefix}" }`,
      ].join('\n'),
    );
    const started = performance.now();
    const result = await runCli(['check-config', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('plugin: cache');
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('an embedded gateway with a Redis cache leaves no socket open after close()', async () => {
    const before = await settledTcpHandles();
    const gateway = await createGateway({ config: redisConfig() });
    await gateway.listen();
    expect(tcpHandles()).toBeGreaterThan(before);
    await gateway.close({ drainTimeoutMs: 0 });
    expect(await settledTcpHandles()).toBe(before);
  });

  it('a process that embeds the gateway with a Redis cache exits after close()', async () => {
    const index = pathToFileURL(join(cliPath, '..', 'index.js')).href;
    const script = writeFile(
      'embedded.mjs',
      [
        `import { createGateway } from ${JSON.stringify(index)};`,
        `const gateway = await createGateway({ config: ${JSON.stringify(redisConfig())} });`,
        'await gateway.listen();',
        'await gateway.close({ drainTimeoutMs: 0 });',
        "process.stdout.write('closed\\n');",
      ].join('\n'),
    );
    const result = await runScript(script, 10_000);
    expect(result.output).toBe('closed\n');
    expect(result.code).toBe(0);
  });
});

/** Everything a failed or successful start printed: the error (message, issues, stack), log lines, the plan. */
async function startOutput(
  config: unknown,
  env: Record<string, string>,
): Promise<{ failed: boolean; text: string }> {
  const { logger, lines } = captureLogs();
  try {
    const gateway = await createGateway({ config: config as never, env, logger });
    try {
      await gateway.listen(0, '127.0.0.1');
      const plan = JSON.stringify(gateway.plan.describe());
      return { failed: false, text: [plan, ...lines].join('\n') };
    } finally {
      await gateway.close({ drainTimeoutMs: 0 });
    }
  } catch (error) {
    const issues = ConfigError.isInstance(error) ? error.issues.map((issue) => issue.message) : [];
    const stack = error instanceof Error ? (error.stack ?? '') : String(error);
    return { failed: true, text: [String(error), stack, ...issues, ...lines].join('\n') };
  }
}

function setAt(root: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
  let current: Record<string | number, unknown> = root;
  for (const segment of path.slice(0, -1)) {
    if (typeof current[segment] !== 'object' || current[segment] === null) current[segment] = {};
    current = current[segment] as Record<string | number, unknown>;
  }
  current[path.at(-1)!] = value;
}

describe('no config error, log line or plan shows a secret (point 9)', () => {
  const longSecret = 'sweep-secret-value-8c1f7e';
  const shortSecret = 'q7Zk';
  const env = { UPSTREAM_SECRET: longSecret, GW_KEY: shortSecret, SHORT_SECRET: shortSecret };
  const base = () => ({
    providers: { main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-sweep-0000' } },
    models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
    log: { level: 'debug' },
  });
  const expectHidden = (text: string, ...secrets: string[]) => {
    for (const secret of secrets) expect(text).not.toContain(secret);
  };

  it("hides the issue's examples and names the reference instead", async () => {
    const examples: Array<[string, Record<string, unknown>]> = [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      ['misplaced apiKey', { ...base(), apiKey: '${env:UPSTREAM_SECRET}' }],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      ['secret as the retry section', { ...base(), retry: '${env:UPSTREAM_SECRET}' }],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      ['secret as auth.keys', { ...base(), auth: { keys: '${env:GW_KEY}' } }],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      ['too-short gateway key from the environment', { ...base(), auth: { keys: ['${env:GW_KEY}'] } }],
    ];
    for (const [name, config] of examples) {
      const output = await startOutput(config, env);
      expect(output.failed, name).toBe(true);
      expectHidden(output.text, longSecret, `"${shortSecret}"`);
      expect(output.text, name).toMatch(/\$\{env:(UPSTREAM_SECRET|GW_KEY)\}/);
    }
  });

  it('hides literal secrets: a too-short gateway key, a numeric apiKey, a key object', async () => {
    const literal: Array<[string, Record<string, unknown>, string]> = [
      ['too-short key', { ...base(), auth: { keys: ['tiny7'] } }, 'tiny7'],
      ['too-short key object', { ...base(), auth: { keys: [{ key: 'tiny8', name: 'a' }] } }, 'tiny8'],
      [
        'numeric apiKey',
        { ...base(), providers: { main: { plugin: 'openai', apiKey: 918273645546 } } },
        '918273645546',
      ],
      ['numeric gateway key', { ...base(), auth: { keys: [55512345] } }, '55512345'],
    ];
    for (const [name, config, secret] of literal) {
      const output = await startOutput(config, env);
      expect(output.failed, name).toBe(true);
      expect(output.text, name).toContain('[REDACTED]');
      expectHidden(output.text, secret);
    }
  });

  it('sweep: an environment secret put anywhere never shows, whether the config starts or fails', async () => {
    const paths: Array<Array<string | number>> = [
      ['apiKey'],
      ['server'],
      ['server', 'host'],
      ['server', 'port'],
      ['server', 'bodyLimit'],
      ['server', 'drainTimeoutMs'],
      ['auth'],
      ['auth', 'keys'],
      ['auth', 'keys', 0],
      ['auth', 'keys', 0, 'key'],
      ['auth', 'keys', 0, 'name'],
      ['plugins'],
      ['plugins', 0],
      ['providers'],
      ['providers', 'main'],
      ['providers', 'main', 'plugin'],
      ['providers', 'main', 'apiKey'],
      ['providers', 'main', 'baseURL'],
      ['providers', 'main', 'limits'],
      ['providers', 'main', 'limits', 'rpm'],
      ['providers', 'main', 'extra'],
      ['models'],
      ['models', 'smart'],
      ['models', 'smart', 0, 'provider'],
      ['models', 'smart', 0, 'model'],
      ['models', 'smart', 0, 'weight'],
      ['passThrough'],
      ['retry'],
      ['retry', 'maxAttempts'],
      ['retry', 'unknownOption'],
      ['timeout'],
      ['timeout', 'totalMs'],
      ['breaker'],
      ['breaker', 'store'],
      ['hedge'],
      ['hedge', 'delayMs'],
      ['budget'],
      ['usage'],
      ['cache'],
      ['cache', 'plugin'],
      ['cache', 'ttlSeconds'],
      ['limiter'],
      ['limiter', 'store'],
      ['log'],
      ['log', 'level'],
      ['metrics'],
      ['metrics', 'enabled'],
    ];
    let failures = 0;
    let starts = 0;
    for (const [variable, secret] of [
      ['UPSTREAM_SECRET', longSecret],
      ['SHORT_SECRET', shortSecret],
    ] as const) {
      for (const path of paths) {
        const config: Record<string, unknown> = base();
        if (path[0] === 'auth' && path.length > 3)
          setAt(config, ['auth', 'keys', 0], { key: 'a-valid-key-123' });
        setAt(config, path, `\${env:${variable}}`);
        const output = await startOutput(config, env);
        if (output.failed) failures += 1;
        else starts += 1;
        const where = `${path.join('.')} = \${env:${variable}}`;
        // A short value is only a secret where it stands as a value: quoted, or on its own.
        if (secret === shortSecret)
          expect(output.text, where).not.toMatch(new RegExp(`["/:]${secret}["\\s]`));
        else expect(output.text, where).not.toContain(secret);
      }
    }
    // The sweep covers both outcomes: configs that are refused and configs that start.
    expect(failures).toBeGreaterThan(40);
    expect(starts).toBeGreaterThan(4);
  });

  it('check-config prints neither a misplaced environment secret nor one in a valid place', async () => {
    const bad = writeFile(
      'misplaced-secret.yaml',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      'providers: { main: { plugin: mock } }\nretry: "${env:UPSTREAM_SECRET}"\napiKey: "${env:UPSTREAM_SECRET}"\n',
    );
    const refused = await runCli(['check-config', bad], cleanEnv(env));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(reference('UPSTREAM_SECRET'));
    expectHidden(refused.stdout + refused.stderr, longSecret);
    const good = writeFile(
      'env-everywhere.yaml',
      [
        `auth: { keys: [{ key: "${reference('UPSTREAM_SECRET')}", name: "${reference('SHORT_SECRET')}" }] }`,
        'providers:',
        `  main: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: "\${env:UPSTREAM_SECRET}" }`,
        `models: { smart: [{ provider: main, model: "${reference('SHORT_SECRET')}" }] }`,
      ].join('\n'),
    );
    const valid = await runCli(['check-config', good], cleanEnv(env));
    expect(valid.stderr).toBe('');
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain(reference('SHORT_SECRET'));
    expectHidden(valid.stdout, longSecret, ` ${shortSecret}\n`, `/${shortSecret}`);
  });
});
