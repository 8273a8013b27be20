import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI. Subprocess tests run `dist/` (turbo builds it before `test`). */
export const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(cliPath)) {
    throw new Error(
      `${cliPath} is missing: build the gateway first (pnpm turbo run build --filter=@bulwark/gateway...)`,
    );
  }
}

/** Environment for a child gateway: no provider keys or config leaking in from the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'BULWARK_CONFIG']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<RunResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningCli {
  child: ChildProcess;
  url: string;
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/** Starts `bulwark serve …` and resolves once it prints the URL it listens on. */
export function serveCli(
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  timeoutMs = 15_000,
): Promise<RunningCli> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'serve', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output.stdout}\n${output.stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk) => {
      output.stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output.stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output, exited });
      }
    });
    child.stderr!.on('data', (chunk) => (output.stderr += chunk));
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${output.stdout}\n${output.stderr}`));
    });
  });
}
