/** Child processes of the gateway benchmark: started, awaited until they listen, and always stopped. */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallCostJob, CallCostRow } from './call-cost.js';
import type { LoadJob, LoadResult } from './load-types.js';

/** Waits for a line of stdout matching `pattern`; rejects on exit or after `timeoutMs`. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        cleanup();
        resolve(match[1]!);
      }
    };
    const onError = (chunk: Buffer): void => {
      errors = (errors + chunk.toString()).slice(-4_000);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before listening:\n${output}${errors}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${output}${errors}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onError);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onError);
    child.once('exit', onExit);
  });
}

export interface ServerProcess {
  url: string;
  /** From spawn until it printed its URL. */
  startupMs: number;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code once it is gone. */
  stop(graceMs?: number): Promise<number | null>;
}

function stopper(child: ChildProcess): ServerProcess['stop'] {
  return (graceMs = 10_000) =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      child.kill('SIGTERM');
    });
}

/** The bare `node:http` proxy (a TypeScript child, forked with this process's tsx loader). */
export async function startBareProxy(upstreamUrl: string): Promise<ServerProcess> {
  const spawnedAt = performance.now();
  const child = fork(new URL('./bare-proxy.ts', import.meta.url), [upstreamUrl], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const url = await waitForLine(child, /listening (http:\/\/\S+)/, 'bare proxy', 20_000);
  child.stdout?.resume();
  child.stderr?.resume();
  return { url, startupMs: performance.now() - spawnedAt, pid: child.pid!, stop: stopper(child) };
}

/** A port that was free on 127.0.0.1 a moment ago (for servers that cannot listen on port 0). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The Portkey gateway (`@portkey-ai/gateway`, its own `build/start-server.js` under plain Node, headless,
 * NODE_ENV=production). It listens on a port without naming a host, so portkey-loopback.mjs is preloaded
 * to make that listen bind 127.0.0.1 only. Route a request with `portkeyHeaders(upstream)`.
 */
export async function startPortkey(): Promise<ServerProcess> {
  const require = createRequire(import.meta.url);
  const entry = join(
    dirname(require.resolve('@portkey-ai/gateway/package.json')),
    'build',
    'start-server.js',
  );
  const port = await freeLoopbackPort();
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      fileURLToPath(new URL('./portkey-loopback.mjs', import.meta.url)),
      entry,
      `--port=${port}`,
      '--headless',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  await waitForLine(child, /(Ready) for connections/, 'Portkey gateway', 60_000);
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    startupMs: performance.now() - spawnedAt,
    pid: child.pid!,
    stop: stopper(child),
  };
}

/** Portkey's per-request routing to an OpenAI-compatible upstream at a custom base URL. */
export function portkeyHeaders(upstreamOpenAIBaseURL: string): Record<string, string> {
  return { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamOpenAIBaseURL };
}

/**
 * The gateway's own CLI from apps/gateway/dist (plain Node, no loader), optionally with `--cpu-prof`.
 * A workspace `dist/` that is missing because a build is rewriting it is waited out (3 tries, 10 s apart).
 */
export async function startGatewayProcess(options: {
  cli: string;
  configFile: string;
  nodeFlags?: string[];
}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await spawnGateway(options);
    } catch (error) {
      const missing = error instanceof Error && error.message.includes('ERR_MODULE_NOT_FOUND');
      if (!missing) throw error;
      if (attempt === 3)
        throw new Error(
          `${error.message}\nA workspace package's dist/ is missing: rebuild with\n` +
            '  pnpm turbo run build --filter=@bulwark/gateway... --filter=@bulwark/testkit',
        );
      process.stdout.write('  (a dist/ is missing, probably being rebuilt: retrying the gateway in 10 s)\n');
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
  }
}

async function spawnGateway(options: {
  cli: string;
  configFile: string;
  nodeFlags?: string[];
}): Promise<ServerProcess> {
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), options.cli, 'serve', '--config', options.configFile, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  const url = await waitForLine(child, /listening on (http:\/\/\S+)/, 'gateway', 60_000);
  const startupMs = performance.now() - spawnedAt;
  child.stdout?.resume();
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2_000);
  });
  const stop = stopper(child);
  return {
    url,
    startupMs,
    pid: child.pid!,
    async stop(graceMs) {
      const code = await stop(graceMs);
      if (code !== 0) process.stderr.write(`gateway exited with ${code}; stderr tail:\n${stderrTail}\n`);
      return code;
    },
  };
}

export interface LoadGenerator {
  run(job: LoadJob): Promise<LoadResult>;
  stop(): Promise<void>;
}

/** The Node load generator in its own process; one job at a time. */
export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child = fork(new URL('./load-generator.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
  });
  return {
    run(job) {
      return new Promise((resolve, reject) => {
        const limit = job.warmupMs + job.durationMs + job.requestTimeoutMs + 30_000;
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error(`load job did not finish within ${limit} ms`));
        }, limit);
        const onMessage = (message: { ok: boolean; result?: LoadResult; error?: string }): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          if (message.ok) resolve(message.result!);
          else reject(new Error(`load generator failed: ${message.error}`));
        };
        child.on('message', onMessage);
        child.send(job);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs the per-layer call cost measurement (call-cost.ts) in its own process and returns its rows. */
export async function measureCallCost(job: CallCostJob, timeoutMs: number): Promise<CallCostRow[]> {
  const child = fork(new URL('./call-cost.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    return await new Promise<CallCostRow[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`call cost did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.on(
        'message',
        (message: { ready?: boolean; ok?: boolean; rows?: CallCostRow[]; error?: string }) => {
          if (message.ready) {
            child.send(job);
            return;
          }
          clearTimeout(timer);
          if (message.ok) resolve(message.rows!);
          else reject(new Error(`call cost failed: ${message.error}`));
        },
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`call cost process exited (${code})`));
      });
    });
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      await exited;
    }
  }
}
