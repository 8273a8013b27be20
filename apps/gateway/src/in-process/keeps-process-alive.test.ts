import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * A call in flight keeps a plain Node script alive until it settles; an idle client lets it exit. Only a
 * child process can show this (vitest keeps its own event loop alive), so each case runs a small script
 * that imports the built packages (`dist/`; turbo builds them before this package's tests).
 */

const scripts = fileURLToPath(new URL('./scripts/', import.meta.url));
const built = [
  'core',
  'retry',
  'limiter',
  'breaker',
  'cache',
  'cache-memory',
  'timeout',
  'provider-openai',
].map((name) => fileURLToPath(new URL(`../../../../packages/${name}/dist/index.js`, import.meta.url)));

interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs `node scripts/<name> …args` to its natural end (killed, and failed, after `limitMs`). */
function runScript(name: string, args: string[], limitMs = 15_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [`${scripts}${name}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not exit within ${limitMs} ms:\n${stdout}\n${stderr}`));
    }, limitMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

describe('a call in flight keeps the process alive; an idle client does not', () => {
  let upstream: FakeUpstream;

  beforeAll(async () => {
    const missing = built.filter((file) => !existsSync(file));
    if (missing.length > 0) {
      throw new Error(
        `build the packages first (pnpm turbo run build --filter=@bulwark/gateway...): missing ${missing.join(', ')}`,
      );
    }
    upstream = await createFakeUpstream();
  });

  beforeEach(() => upstream.reset());

  afterAll(async () => {
    await upstream?.close();
  });

  // The 503 asks for a one-second wait, so the retry sleeps at least that long with nothing else pending.
  const unavailableThenAnswer = (): void =>
    upstream.enqueue(
      { kind: 'status', status: 503, headers: { 'retry-after': '1' } },
      { kind: 'reply', text: 'answered after a retry' },
    );

  it.each([
    ['top-level await', 'readme-top-level-await.mjs'],
    ['a main() function', 'readme-main-function.mjs'],
  ])(
    'the README example with %s waits through a retry backoff and prints the answer',
    async (_form, script) => {
      unavailableThenAnswer();
      const result = await runScript(script, [upstream.openaiBaseURL]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ text: 'answered after a retry', attempts: 2 });
      expect(upstream.stats.requests).toBe(2);
      expect(result.elapsedMs).toBeGreaterThanOrEqual(1000);
    },
  );

  it.each([
    ['its refill (rpm)', 'rpm'],
    ['a concurrency permit', 'concurrency'],
  ])('a call queued in the limiter for %s completes', async (_what, mode) => {
    upstream.setDefault({ kind: 'delay', ms: 200 });
    const result = await runScript('limiter-queue.mjs', [upstream.openaiBaseURL, mode]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { results: string[]; elapsedMs: number };
    expect(output.results).toEqual(['first:ok', 'second:ok']);
    expect(upstream.stats.requests).toBe(2);
    // rpm 120 with a burst of one: the second call leaves ~500 ms after the first.
    if (mode === 'rpm') expect(output.elapsedMs).toBeGreaterThanOrEqual(450);
  });

  it('a call queued behind the pause after a provider 429 completes', async () => {
    upstream.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const result = await runScript('limiter-queue.mjs', [upstream.openaiBaseURL, 'pause']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { results: string[]; elapsedMs: number };
    expect(output.results).toEqual(['first:rate_limited', 'second:ok']);
    expect(upstream.stats.requests).toBe(2);
    expect(output.elapsedMs).toBeGreaterThanOrEqual(900);
  });

  it.each([
    ['after one call and an abandoned stream', []],
    ['when only constructed', ['constructed-only']],
  ])(
    'a client with cache, deadline, retry, breaker, limiter and timeouts exits by itself %s',
    async (_when, extra) => {
      const result = await runScript('idle-client.mjs', [upstream.openaiBaseURL, ...extra]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).not.toBe('');
      // Every timer of the client is 10 minutes long: exiting within seconds means none holds the process.
      expect(result.elapsedMs).toBeLessThan(10_000);
    },
  );
});
