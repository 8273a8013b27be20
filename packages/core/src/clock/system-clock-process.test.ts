import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Whether a timer keeps the process alive only shows in a process of its own (vitest keeps its event
 * loop alive), so these run the built `dist/` in a child (turbo builds it before the tests).
 */
const script = fileURLToPath(new URL('./test-helpers/system-clock-script.mjs', import.meta.url));
const built = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

function run(
  mode: string,
): Promise<{ code: number | null; stdout: string; stderr: string; elapsedMs: number }> {
  if (!existsSync(built)) throw new Error('packages/core/dist is missing: build @bulwark/core first');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${mode} script did not exit within 10 s:\n${stdout}\n${stderr}`));
    }, 10_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

describe('systemClock timers and the life of the process', () => {
  it('a pending sleep keeps the process alive until it ends', async () => {
    const result = await run('sleep');
    expect(result).toMatchObject({ code: 0, stdout: 'slept\n', stderr: '' });
  });

  it('a timer set without options keeps the process alive until it fires', async () => {
    const result = await run('timer');
    expect(result).toMatchObject({ code: 0, stdout: 'fired\n', stderr: '' });
  });

  it('a { ref: false } timer lets the process exit without waiting for it', async () => {
    const result = await run('unref');
    expect(result).toMatchObject({ code: 0, stdout: 'set\n', stderr: '' });
    expect(result.elapsedMs).toBeLessThan(8_000);
  });

  it('a timer longer than Node allows waits instead of firing after 1 ms', async () => {
    const result = await run('long');
    expect(result).toMatchObject({ code: 0, stdout: 'pending\n', stderr: '' });
  });
});
