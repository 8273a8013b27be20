import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../test-helpers/spawn-cli.js';
import { keysHashOf } from './key-source.js';

let redis: TestRedis;
let directory: string;

beforeAll(async () => {
  redis = await useTestRedis();
  directory = mkdtempSync(join(tmpdir(), 'bulwark-keys-cli-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function configFile(source: string): string {
  const file = join(directory, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      'auth:',
      '  keys: []',
      `  source: ${source}`,
      'providers:',
      '  gpt: { plugin: openai, apiKey: sk-test-cli-000000 }',
      'models:',
      '  smart: [{ provider: gpt, model: gpt-4o }]',
      '  fast: [{ provider: gpt, model: gpt-4o-mini }]',
    ].join('\n'),
  );
  return file;
}

describe('bulwark keys', () => {
  it('create prints the key once and stores only its SHA-256 in the Redis hash; revoke removes it', async () => {
    const file = configFile(`{ plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}" }`);
    const created = await runCli([
      'keys',
      'create',
      '--tenant',
      'team-a',
      '--models',
      'smart,fast',
      '--rpm',
      '60',
      '--config',
      file,
    ]);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sk-bw-[A-Za-z0-9_-]{32}$/);
    expect(created.stderr).toContain('shown once');
    expect(created.stderr).not.toContain(key);
    const admin = new Redis(redis.url);
    try {
      const stored = await admin.hgetall(keysHashOf(redis.prefix));
      expect(stored).toEqual({
        [sha256(key)]: JSON.stringify({ tenant: 'team-a', models: ['smart', 'fast'], limits: { rpm: 60 } }),
      });
      const again = await runCli(['keys', 'create', '--tenant', 'team-a', '--config', file]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already has a key');

      const revoked = await runCli(['keys', 'revoke', '--tenant', 'team-a', '--config', file]);
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain('revoked 1 key(s) of team-a');
      expect(await admin.hgetall(keysHashOf(redis.prefix))).toEqual({});
    } finally {
      admin.disconnect();
    }
  });

  it('create writes a keyHash entry to a file source', async () => {
    const keys = join(directory, 'keys.yaml');
    const file = configFile(`{ plugin: file, path: "${keys}" }`);
    const created = await runCli([
      'keys',
      'create',
      '--tenant',
      'team-b',
      '--expires-at',
      '2099-01-01T00:00:00Z',
      '--config',
      file,
    ]);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    const text = readFileSync(keys, 'utf8');
    expect(text).not.toContain(key);
    expect(parseYaml(text)).toEqual({
      keys: [{ keyHash: sha256(key), tenant: 'team-b', expiresAt: '2099-01-01T00:00:00Z' }],
    });
  });

  it('needs a key source in the config', async () => {
    const file = join(directory, 'no-source.yaml');
    writeFileSync(file, 'providers:\n  gpt: { plugin: openai, apiKey: sk-test-cli-000000 }\n');
    const result = await runCli(['keys', 'create', '--tenant', 'team-c', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('auth.source');
  });
});
