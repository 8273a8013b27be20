/**
 * Closed-loop throughput with `wrk` (Debian package `wrk`), which costs far less CPU per request than a
 * Node generator: on a 2-core machine the generator competes with the server under test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Percentiles } from './load-types.js';

export interface WrkResult {
  completed: number;
  errors: number;
  errorSamples: string[];
  throughputPerSecond: number;
  latency: Percentiles;
}

/** The `wrk` version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) return undefined;
  const line = `${probe.stdout}${probe.stderr}`.split('\n')[0] ?? '';
  return /^(wrk \S+)/.exec(line.trim())?.[1] ?? 'wrk';
}

function toMs(value: string, unit: string): number {
  const number = Number(value);
  if (unit === 'us') return number / 1000;
  if (unit === 's') return number * 1000;
  if (unit === 'm') return number * 60_000;
  return number;
}

export function parseWrkOutput(output: string): WrkResult {
  const latency = (label: string): number => {
    const match = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
    return match ? toMs(match[1]!, match[2]!) : Number.NaN;
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(output);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!total || !rate) throw new Error(`could not parse wrk output:\n${output}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, value) => sum + Number(value), 0) : 0;
  const errorSamples: string[] = [];
  if (non2xx > 0) errorSamples.push(`${non2xx} non-2xx responses`);
  if (socket && socketErrors > 0) errorSamples.push(socket[0]);
  const mean = /^\s*Latency\s+([\d.]+)(us|ms|s|m)/m.exec(output);
  return {
    completed: Number(total[1]),
    errors: non2xx + socketErrors,
    errorSamples,
    throughputPerSecond: Number(rate[1]),
    latency: {
      count: Number(total[1]),
      p50: latency('50'),
      p90: latency('90'),
      p99: latency('99'),
      max: Number.NaN,
      mean: mean ? toMs(mean[1]!, mean[2]!) : Number.NaN,
    },
  };
}

function runWrk(args: string[], limitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(output);
      else reject(new Error(`wrk exited with ${code}:\n${output}`));
    });
  });
}

/** A discarded warm-up run, then the measured run; one wrk thread, `connections` keep-alive connections. */
export async function wrkClosedLoop(options: {
  url: string;
  body: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  scratchDirectory: string;
  /** Extra request headers (e.g. Portkey's routing headers). */
  headers?: Record<string, string>;
}): Promise<WrkResult> {
  const script = join(options.scratchDirectory, 'post.lua');
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = [==[${options.body}]==]`,
      'wrk.headers["Content-Type"] = "application/json"',
      'wrk.headers["Authorization"] = "Bearer sk-bench-not-a-secret"',
      ...Object.entries(options.headers ?? {}).map(
        ([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`,
      ),
      '',
    ].join('\n'),
  );
  const common = ['-t1', `-c${options.connections}`, '--timeout', '5s', '-s', script];
  const seconds = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;
  if (options.warmupMs > 0)
    await runWrk([...common, '-d', seconds(options.warmupMs), options.url], options.warmupMs + 15_000);
  const output = await runWrk(
    [...common, '--latency', '-d', seconds(options.durationMs), options.url],
    options.durationMs + 15_000,
  );
  return parseWrkOutput(output);
}
