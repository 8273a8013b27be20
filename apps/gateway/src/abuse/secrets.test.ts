import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CallContext, ConfigError, type PluginDescriptor, type ProviderV1 } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { echoProviderPlugin } from '@bulwark/testkit/scenarios';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { substituteEnv, validateGatewayConfig } from '../config/load-config.js';
import { createGateway, type Gateway } from '../gateway.js';
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
  for (const [index, segment] of path.slice(0, -1).entries()) {
    if (typeof current[segment] !== 'object' || current[segment] === null)
      current[segment] = typeof path[index + 1] === 'number' ? [] : {};
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

  it("hides the issue's examples: a reference or [REDACTED] where the value was", async () => {
    const examples: Array<[string, Record<string, unknown>, string]> = [
      ['misplaced apiKey', { ...base(), apiKey: reference('UPSTREAM_SECRET') }, 'apiKey: got "[REDACTED]"'],
      [
        'secret as the retry section',
        { ...base(), retry: reference('UPSTREAM_SECRET') },
        `retry: got "${reference('UPSTREAM_SECRET')}"`,
      ],
      [
        'secret as auth.keys',
        { ...base(), auth: { keys: reference('GW_KEY') } },
        'auth.keys: got "[REDACTED]"',
      ],
      [
        'too-short gateway key from the environment',
        { ...base(), auth: { keys: [reference('GW_KEY')] } },
        'auth.keys[0]: got "[REDACTED]"',
      ],
    ];
    for (const [name, config, shown] of examples) {
      const output = await startOutput(config, env);
      expect(output.failed, name).toBe(true);
      expectHidden(output.text, longSecret, `"${shortSecret}"`);
      expect(output.text, name).toContain(shown);
    }
  });

  it('hides literal secrets: a too-short gateway key, a numeric apiKey, a key object, URL credentials', async () => {
    const literal: Array<[string, Record<string, unknown>, string]> = [
      ['too-short key', { ...base(), auth: { keys: ['tiny7'] } }, 'tiny7'],
      ['too-short key object', { ...base(), auth: { keys: [{ key: 'tiny8', name: 'a' }] } }, 'tiny8'],
      [
        'numeric apiKey',
        { ...base(), providers: { main: { plugin: 'openai', apiKey: 918273645546 } } },
        '918273645546',
      ],
      ['numeric gateway key', { ...base(), auth: { keys: [55512345] } }, '55512345'],
      [
        'URL with a password where a section belongs',
        { ...base(), retry: 'redis://:hunter2-url-pass@127.0.0.1:6379' },
        'hunter2-url-pass',
      ],
    ];
    for (const [name, config, secret] of literal) {
      const output = await startOutput(config, env);
      expect(output.failed, name).toBe(true);
      expect(output.text, name).toMatch(/\[REDACTED\]|:\/\/\*\*\*@/);
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
      ['middleware'],
      ['middleware', 0],
      ['middleware', 0, 'plugin'],
      ['middleware', 0, 'config'],
      ['cache', 'store', 'plugin'],
      ['cache', 'store', 'url'],
      ['limiter', 'store', 'url'],
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

  it('a running gateway shows an environment secret in no answer and no log line', async () => {
    const { logger, lines } = captureLogs();
    const gateway = await createGateway({
      config: {
        server: { port: 0 },
        providers: {
          // A secret misplaced into the URL path: every call fails and is logged.
          main: {
            plugin: 'openai',
            baseURL: `http://127.0.0.1:9/${reference('UPSTREAM_SECRET')}`,
            apiKey: 'sk-test-x-0000',
          },
          up: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: reference('UPSTREAM_SECRET') },
        },
        models: {
          broken: [{ provider: 'main', model: 'gpt-4o' }],
          smart: [{ provider: 'up', model: reference('SHORT_SECRET') }],
        },
        retry: false,
        log: { level: 'debug' },
      },
      env,
      logger,
    });
    try {
      const url = await gateway.listen();
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
      const failed = await client.chat.completions
        .create({ model: 'broken', messages: [{ role: 'user', content: 'x' }] })
        .then(
          () => 'answered',
          (error: unknown) => String(error),
        );
      expect(failed).toMatch(/^Error: 50\d/);
      const answered = await client.chat.completions.create({
        model: 'smart',
        messages: [{ role: 'user', content: 'y' }],
      });
      expect(JSON.stringify(answered)).not.toContain(longSecret);
      expectHidden(failed, longSecret);
      expectHidden(lines.join('\n'), longSecret);
      expect(lines.length).toBeGreaterThan(0);
    } finally {
      await gateway.close({ drainTimeoutMs: 0 });
    }
  });

  it('check-config sweep: a secret misplaced into each section never reaches stdout or stderr', async () => {
    const sections = ['server', 'auth', 'retry', 'timeout', 'breaker', 'cache', 'limiter', 'budget', 'log'];
    const results = await Promise.all(
      sections.map(async (section) => {
        const file = writeFile(
          `sweep-${section}.yaml`,
          `providers: { main: { plugin: mock } }\n${section}: { apiKey: "${reference('UPSTREAM_SECRET')}", plugin: "${reference('UPSTREAM_SECRET')}" }\n`,
        );
        return { section, result: await runCli(['check-config', file], cleanEnv(env)) };
      }),
    );
    for (const { section, result } of results) {
      expectHidden(result.stdout + result.stderr, longSecret);
      // A section whose plugin ignores unknown keys starts; its plan shows the reference instead.
      if (result.code === 0) expect(result.stdout, section).toContain(reference('UPSTREAM_SECRET'));
      else expect(result.stderr, section).toMatch(new RegExp(`\\b${section}\\b`));
    }
    expect(results.filter(({ result }) => result.code === 1).length).toBeGreaterThan(5);
  });

  it('names a missing environment variable without the redactor eating the sentence', async () => {
    const file = writeFile(
      'missing-env.yaml',
      `providers: { main: { plugin: openai, apiKey: "${reference('NOT_SET_FOR_SECRETS_TEST')}" } }\n`,
    );
    const result = await runCli(['check-config', file], cleanEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Environment variable NOT_SET_FOR_SECRETS_TEST is not set (the config uses ${reference('NOT_SET_FOR_SECRETS_TEST')} at providers.main.apiKey)`,
    );
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

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('tenants are unique (point 10)', () => {
  const providers = { main: { plugin: 'mock' } };

  it("refuses an explicit name equal to another key's automatic name, naming both entries", () => {
    const error = configError(() =>
      validateGatewayConfig({
        auth: { keys: ['first-key-0000', { key: 'second-key-000', name: 'key-0' }] },
        providers,
      }),
    );
    expect(error.path).toBe('auth.keys[1].name');
    expect(error.message).toContain('auth.keys[1].name: got "key-0"');
    expect(error.message).toContain('auth.keys[0] has the same name (its automatic name)');
    expect(error.message).not.toContain('first-key-0000');
    expect(error.message).not.toContain('second-key-000');
  });

  it('refuses two keys with one explicit name, and an automatic name taken by an earlier explicit one', () => {
    const twice = configError(() =>
      validateGatewayConfig({
        auth: {
          keys: [
            { key: 'team-key-aaaa', name: 'team' },
            { key: 'team-key-bbbb', name: 'team' },
          ],
        },
        providers,
      }),
    );
    expect(twice.path).toBe('auth.keys[1].name');
    expect(twice.message).toContain('auth.keys[0] has the same name');
    const taken = configError(() =>
      validateGatewayConfig({
        auth: { keys: [{ key: 'team-key-aaaa', name: 'key-1' }, 'plain-key-bbbb'] },
        providers,
      }),
    );
    expect(taken.path).toBe('auth.keys[1]');
    expect(taken.message).toMatch(
      /auth\.keys\[1\]: got "\[REDACTED\]"; expected a tenant name no other key has: this key's automatic name key-1 is the name of auth\.keys\[0\]/,
    );
    expect(taken.message).not.toContain('plain-key-bbbb');
  });

  it('refuses one key listed twice without printing it', () => {
    const error = configError(() =>
      validateGatewayConfig({
        auth: { keys: ['same-key-12345', { key: 'same-key-12345', name: 'other' }] },
        providers,
      }),
    );
    expect(error.path).toBe('auth.keys[1].key');
    expect(error.message).toContain('auth.keys[0] has the same key');
    expect(error.message).not.toContain('same-key-12345');
  });

  it('names come from the environment without showing them', () => {
    const error = configError(() =>
      validateGatewayConfig(
        substituteEnv(
          {
            auth: {
              keys: [
                { key: 'team-key-aaaa', name: reference('TENANT') },
                { key: 'team-key-bbbb', name: reference('TENANT') },
              ],
            },
            providers,
          },
          { TENANT: 'secret-tenant-name' },
        ),
      ),
    );
    expect(error.message).toContain(`got "${reference('TENANT')}"`);
    expect(error.message).not.toContain('secret-tenant-name');
  });
});

/** One HTTP request with any headers (fetch would not send a foreign Host). */
function rawRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = httpRequest(
      {
        host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    request.once('error', reject);
    request.end(options.body);
  });
}

const chatBody = JSON.stringify({ model: 'smart', messages: [{ role: 'user', content: 'drive-by' }] });

describe('/metrics needs a metrics key when auth is on (point 11)', () => {
  let gateway: Gateway;
  let url: string;
  const apiKey = 'metrics-test-api-key-1';
  const scrapeKey = 'metrics-test-scrape-key-1';

  beforeAll(async () => {
    gateway = await createGateway({
      config: {
        server: { port: 0 },
        auth: {
          keys: [
            { key: apiKey, name: 'team-a' },
            { key: scrapeKey, name: 'prometheus', roles: ['metrics'] },
          ],
        },
        providers: {
          main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-metrics-000' },
        },
        models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
        log: { level: 'error' },
      },
    });
    url = await gateway.listen();
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
    await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'spend' }] });
  });

  afterAll(async () => {
    await gateway?.close({ drainTimeoutMs: 0 });
  });

  it('answers 401 without a key and 403 to a key without the metrics role; no tenant name leaks', async () => {
    const anonymous = await fetch(`${url}/metrics`);
    expect(anonymous.status).toBe(401);
    const anonymousText = await anonymous.text();
    expect(anonymousText).not.toContain('team-a');
    const apiOnly = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(apiOnly.status).toBe(403);
    expect(await apiOnly.text()).toContain('its roles do not include \\"metrics\\"');
  });

  it('serves the metrics key (Prometheus sends it as a bearer token), tenants and spend included', async () => {
    const scraped = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${scrapeKey}` } });
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    expect(text).toContain('bulwark_requests_total');
    expect(text).toContain('tenant="team-a"');
  });

  it('a metrics-only key cannot call the API', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: scrapeKey, maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'sneak' }] })
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('without auth, /metrics stays open on a loopback bind', async () => {
    const open = await createGateway({
      config: { server: { port: 0 }, providers: { main: { plugin: 'mock' } }, log: { level: 'error' } },
    });
    try {
      const openUrl = await open.listen();
      expect((await fetch(`${openUrl}/metrics`)).status).toBe(200);
    } finally {
      await open.close({ drainTimeoutMs: 0 });
    }
  });
});

describe('a local gateway without auth refuses drive-by browser calls (point 12)', () => {
  let gateway: Gateway;
  let url: string;
  let port: string;
  const allowed = 'https://app.example.com';

  beforeAll(async () => {
    gateway = await createGateway({
      config: {
        server: { port: 0, cors: { origins: [allowed] } },
        providers: {
          main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-browser-000' },
        },
        models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
        log: { level: 'error' },
      },
    });
    url = await gateway.listen();
    port = new URL(url).port;
  });

  afterAll(async () => {
    await gateway?.close({ drainTimeoutMs: 0 });
  });

  it('serves the official SDK as before', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(answer.choices[0]?.message.content).toBeTypeOf('string');
  });

  it("answers a text/plain POST (a CORS simple request) with 415 in the caller's format, calling nobody", async () => {
    const before = upstream.requests.length;
    const openai = await rawRequest(url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'text/plain', host: `127.0.0.1:${port}` },
      body: chatBody,
    });
    expect(openai.status).toBe(415);
    expect(JSON.parse(openai.body)).toMatchObject({ error: { param: 'content-type' } });
    const anthropic = await rawRequest(url, {
      method: 'POST',
      path: '/v1/messages',
      headers: { host: `localhost:${port}` },
      body: chatBody,
    });
    expect(anthropic.status).toBe(415);
    expect(JSON.parse(anthropic.body)).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    });
    expect(upstream.requests.length).toBe(before);
  });

  it('refuses a foreign Origin, even with a JSON body, and a preflight from it', async () => {
    const before = upstream.requests.length;
    const post = await rawRequest(url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        'content-type': 'application/json',
        origin: 'https://evil.example',
        host: `127.0.0.1:${port}`,
      },
      body: chatBody,
    });
    expect(post.status).toBe(403);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.body).toContain('server.cors.origins');
    const preflight = await rawRequest(url, {
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(upstream.requests.length).toBe(before);
  });

  it('answers the preflight of an allowed origin and serves it with CORS headers', async () => {
    const preflight = await rawRequest(url, {
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: {
        origin: allowed,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toBe(
      'authorization, content-type, x-stainless-os',
    );
    const post = await rawRequest(url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', origin: allowed },
      body: chatBody,
    });
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe(allowed);
    expect(post.headers.vary).toContain('Origin');
  });

  it('refuses a foreign Host on loopback (DNS rebinding), on every route', async () => {
    for (const [method, path] of [
      ['POST', '/v1/chat/completions'],
      ['GET', '/v1/models'],
      ['GET', '/metrics'],
    ] as const) {
      const response = await rawRequest(url, {
        method,
        path,
        headers: { 'content-type': 'application/json', host: `rebind.evil.example:${port}` },
        ...(method === 'POST' ? { body: chatBody } : {}),
      });
      expect(response.status, path).toBe(403);
      expect(response.body).toContain('DNS rebinding');
    }
    const wrongPort = await rawRequest(url, {
      method: 'GET',
      path: '/v1/models',
      headers: { host: 'localhost:1' },
    });
    expect(wrongPort.status).toBe(403);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`])
      expect(
        (await rawRequest(url, { method: 'GET', path: '/v1/models', headers: { host } })).status,
        host,
      ).toBe(200);
  });

  it('checks Host on an IPv6 loopback bind too', async () => {
    const v6 = await createGateway({
      config: {
        server: { port: 0, host: '::1' },
        providers: { main: { plugin: 'mock' } },
        log: { level: 'error' },
      },
    });
    try {
      const v6Url = await v6.listen();
      const v6Port = new URL(v6Url).port;
      const request = (host: string) =>
        rawRequest(v6Url, { method: 'GET', path: '/v1/models', headers: { host } });
      expect((await request(`[::1]:${v6Port}`)).status).toBe(200);
      expect((await request(`localhost:${v6Port}`)).status).toBe(200);
      expect((await request(`rebind.evil.example:${v6Port}`)).status).toBe(403);
    } finally {
      await v6.close({ drainTimeoutMs: 0 });
    }
  });

  it('with auth on: the origin check holds, the Host and content-type checks step aside', async () => {
    const key = 'browser-guard-key-123';
    const keyed = await createGateway({
      config: {
        server: { port: 0 },
        auth: { keys: [key] },
        providers: {
          main: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-browser-000' },
        },
        models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
        log: { level: 'error' },
      },
    });
    try {
      const keyedUrl = await keyed.listen();
      const foreignOrigin = await rawRequest(keyedUrl, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${key}`,
          origin: 'https://evil.example',
        },
        body: chatBody,
      });
      expect(foreignOrigin.status).toBe(403);
      const proxied = await rawRequest(keyedUrl, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${key}`, host: 'gateway.internal' },
        body: chatBody,
      });
      expect(proxied.status).toBe(200);
    } finally {
      await keyed.close({ drainTimeoutMs: 0 });
    }
  });

  it('refuses server.cors origins that are not origins', () => {
    const error = configError(() =>
      validateGatewayConfig({
        server: { cors: { origins: ['https://app.example.com/path'] } },
        providers: { main: { plugin: 'mock' } },
      }),
    );
    expect(error.path).toBe('server.cors.origins[0]');
  });
});

describe('x-bulwark-priority is bounded per key (point 13)', () => {
  let gateway: Gateway;
  let url: string;
  const seen: Array<number | undefined> = [];
  const probe: PluginDescriptor<'provider'> = {
    ...echoProviderPlugin,
    name: 'priority-probe',
    create: (config, context) => {
      const provider = echoProviderPlugin.create(config, context) as ProviderV1;
      const complete = provider.complete.bind(provider);
      provider.complete = (request, callContext: CallContext) => {
        seen.push(callContext.metadata.priority);
        return complete(request, callContext);
      };
      return provider;
    },
  };

  beforeAll(async () => {
    gateway = await createGateway({
      config: {
        server: { port: 0 },
        auth: {
          keys: [
            'plain-caller-key-1',
            { key: 'batch-caller-key-1', name: 'batch', priority: { default: -10, max: -10 } },
            { key: 'urgent-caller-key-1', name: 'urgent', priority: { default: 5, max: 50 } },
          ],
        },
        providers: { probe: { plugin: 'priority-probe' } },
        models: { smart: [{ provider: 'probe', model: 'm' }] },
        cache: false,
        log: { level: 'error' },
      },
      plugins: [probe],
    });
    url = await gateway.listen();
  });

  afterAll(async () => {
    await gateway?.close({ drainTimeoutMs: 0 });
  });

  const ask = async (apiKey: string, priority?: string): Promise<number | undefined | Error> => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
    const before = seen.length;
    try {
      await client.chat.completions.create(
        { model: 'smart', messages: [{ role: 'user', content: 'queue' }] },
        priority === undefined ? {} : { headers: { 'x-bulwark-priority': priority } },
      );
    } catch (error) {
      expect(seen.length).toBe(before);
      return error as Error;
    }
    return seen.at(-1);
  };

  it('a key without a priority range may yield but not jump the queue', async () => {
    expect(await ask('plain-caller-key-1')).toBe(0);
    expect(await ask('plain-caller-key-1', '-20')).toBe(-20);
    const refused = await ask('plain-caller-key-1', '1');
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain(
      "x-bulwark-priority: expected a whole number in this key's range, -1000 to 0",
    );
  });

  it("a key's range sets its default and its ceiling", async () => {
    expect(await ask('batch-caller-key-1')).toBe(-10);
    expect(await ask('batch-caller-key-1', '0')).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await ask('urgent-caller-key-1')).toBe(5);
    expect(await ask('urgent-caller-key-1', '50')).toBe(50);
    expect(await ask('urgent-caller-key-1', '51')).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('refuses a range whose default lies outside it', () => {
    const error = configError(() =>
      validateGatewayConfig({
        auth: { keys: [{ key: 'range-key-0000', priority: { default: 5, max: 2 } }] },
        providers: { main: { plugin: 'mock' } },
      }),
    );
    expect(error.path).toBe('auth.keys[0].priority');
  });
});
