import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis a test may use: its URL, a key prefix unique to this run, and a `stop` for what the helper started. */
export interface TestRedis {
  url: string;
  host: string;
  port: number;
  /** Unique per call: put every key of the test under it and `cleanup` removes them. */
  prefix: string;
  /** True when the helper started its own `redis-server` (nothing answered at `REDIS_URL`). */
  started: boolean;
  /** Deletes every key under `prefix`, then stops a server the helper started. */
  stop(): Promise<void>;
}

/** Sends one RESP command over a raw socket (the helper needs no Redis client). */
export function redisCommand(host: string, port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis at ${host}:${port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.connect(port, host, () => {
      socket.write(
        `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`,
      );
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      if (isCompleteReply(text)) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
  });
}

function isCompleteReply(text: string): boolean {
  const end = text.indexOf('\r\n');
  if (end < 0) return false;
  const kind = text[0];
  if (kind === '+' || kind === '-' || kind === ':') return true;
  if (kind === '$') {
    const length = Number(text.slice(1, end));
    return length < 0 || text.length >= end + 2 + length + 2;
  }
  // Arrays: good enough for SCAN replies, which end with a bulk string or an empty array.
  return text.endsWith('\r\n');
}

/** Resolves a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function ping(host: string, port: number): Promise<boolean> {
  try {
    return (await redisCommand(host, port, ['PING'], 500)).startsWith('+PONG');
  } catch {
    return false;
  }
}

/** Starts a throwaway `redis-server` on a free port (no persistence). Stop it with the returned function. */
export async function startRedisServer(options: { port?: number; extraArgs?: string[] } = {}): Promise<{
  port: number;
  process: ChildProcess;
  stop: () => Promise<void>;
}> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error) {
    throw new Error(
      'Redis tests need a Redis: nothing answered at REDIS_URL (default redis://127.0.0.1:6379) and there is no `redis-server` on the PATH. Install one (apt-get install redis-server, brew install redis) or set REDIS_URL.',
    );
  }
  const port = options.port ?? (await freePort());
  const directory = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      directory,
      ...(options.extraArgs ?? []),
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await ping('127.0.0.1', port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Deletes every key that starts with `prefix` (SCAN + UNLINK; never FLUSHDB on a shared Redis). */
export async function deleteKeysWithPrefix(host: string, port: number, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const reply = await redisCommand(host, port, ['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000']);
    const lines = reply.split('\r\n');
    cursor = lines[2] ?? '0';
    const keys = lines.slice(4).filter((_line, index) => index % 2 === 1 && _line !== '');
    for (const key of keys) await redisCommand(host, port, ['UNLINK', key]);
  } while (cursor !== '0');
}

/**
 * The Redis for a test run: `REDIS_URL` (default redis://127.0.0.1:6379) when it answers, or a
 * `redis-server` started on a free port. Never skips: with no Redis at all it throws saying how to get one.
 * Call `stop()` in `afterAll`.
 */
export async function useTestRedis(): Promise<TestRedis> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `bulwark-test:${randomBytes(6).toString('hex')}:`;
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 6379);
  if (await ping(host, port)) {
    return {
      url: url.toString(),
      host,
      port,
      prefix,
      started: false,
      stop: () => deleteKeysWithPrefix(host, port, prefix),
    };
  }
  const server = await startRedisServer();
  return {
    url: `redis://127.0.0.1:${server.port}`,
    host: '127.0.0.1',
    port: server.port,
    prefix,
    started: true,
    stop: server.stop,
  };
}
