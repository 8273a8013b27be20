/**
 * Gateway overhead, side by side in one run: the same fake OpenAI upstream reached (a) directly,
 * (b) through a bare `node:http` pass-through proxy, (c) through the Bulwark gateway (its CLI from
 * apps/gateway/dist, default policies, cache off; same-format passthrough and translated; then a separate
 * cache-hit run) and (d) through the Portkey gateway (`@portkey-ai/gateway`, bound to 127.0.0.1) as the peer.
 *
 * Measures added latency at a fixed open-loop rate, streamed time to first byte, and closed-loop
 * throughput; then profiles the gateway (`node --cpu-prof`) under the closed-loop load.
 * Every server and the load generator run in separate processes; everything is on 127.0.0.1.
 *
 * Run: `pnpm --filter @bulwark/bench bench:gateway` (build first: `pnpm turbo run build
 * --filter=@bulwark/gateway... --filter=@bulwark/testkit`). Options: `--quick` (short phases, prints
 * only), `--rounds N` (default 3), `--rate N`, `--duration S`, `--connections N`, `--loadgen node|wrk`, `--chunk-delay MS`,
 * `--upstream-rpm N`, `--no-profile`.
 * Writes bench/results/gateway.md (not with --quick).
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import type { CallCostRow } from './gateway-bench/call-cost.js';
import type { LoadJob, Percentiles } from './gateway-bench/load-types.js';
import {
  type LoadGenerator,
  measureCallCost,
  portkeyHeaders,
  type ServerProcess,
  startBareProxy,
  startGatewayProcess,
  startLoadGenerator,
  startPortkey,
} from './gateway-bench/processes.js';
import { profileMarkdown, summarizeProfile } from './gateway-bench/summarize-profile.js';
import { wrkClosedLoop, wrkVersion } from './gateway-bench/wrk.js';
import { writeResultCharts } from './result-charts.js';

const benchDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repositoryRoot = resolve(benchDirectory, '..');
const gatewayDirectory = join(repositoryRoot, 'apps', 'gateway');
const gatewayCli = join(gatewayDirectory, 'dist', 'cli.js');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '50' },
    loadgen: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
    'chunk-delay': { type: 'string', default: '2' },
    'upstream-rpm': { type: 'string', default: '1000000000' },
    rounds: { type: 'string' },
  },
});

const quick = flags.quick;
const rate = Number(flags.rate);
const openSeconds = Number(flags.duration ?? (quick ? 3 : 10));
const closedSeconds = Number(flags.duration ?? (quick ? 3 : 8));
const warmupSeconds = quick ? 1 : 3;
const connections = Number(flags.connections);
const rounds = Number(flags.rounds ?? (quick ? 1 : 3));
const chunkDelayMs = Number(flags['chunk-delay']);
/** Requests per minute the fake upstream advertises (and enforces: far above anything reached). */
const upstreamAdvertisedRpm = Number(flags['upstream-rpm']);
for (const [name, value] of Object.entries({
  rate,
  openSeconds,
  connections,
  chunkDelayMs,
  upstreamAdvertisedRpm,
  rounds,
}))
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number from 1');

const wrk = wrkVersion();
const loadgenChoice = flags.loadgen ?? (wrk ? 'wrk' : 'node');
if (loadgenChoice !== 'wrk' && loadgenChoice !== 'node') throw new Error('--loadgen must be wrk or node');
if (!wrk) {
  process.stdout.write(
    '!! wrk is not installed: closed-loop throughput uses the Node load generator, which competes with the\n' +
      '!! servers for the 2 cores and under-reports throughput. Install it with: apt-get install -y wrk\n',
  );
  if (loadgenChoice === 'wrk') throw new Error('--loadgen wrk asked for, but wrk is not installed');
}
if (!existsSync(gatewayCli)) {
  throw new Error(
    `${relative(repositoryRoot, gatewayCli)} is missing: build it first with\n` +
      '  pnpm turbo run build --filter=@bulwark/gateway... --filter=@bulwark/testkit',
  );
}

/** Newest mtime under a directory (only .ts sources, tests excluded). */
function newestSource(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.includes('.test.'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
const staleBuild = newestSource(join(gatewayDirectory, 'src')) > statSync(gatewayCli).mtimeMs;
if (staleBuild)
  process.stdout.write(
    '!! apps/gateway/src is newer than apps/gateway/dist: the numbers are for the last build.\n',
  );

const baseMessages = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Say hello to the benchmark in a few short words, please.' },
];
const plainBody = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: baseMessages,
  temperature: 0,
  max_tokens: 64,
});
const streamBody = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: baseMessages,
  temperature: 0,
  max_tokens: 64,
  stream: true,
  stream_options: { include_usage: true },
});

function gatewayConfig(upstream: FakeUpstream, cache: boolean, passthrough = true): unknown {
  return {
    server: { host: '127.0.0.1', port: 0 },
    providers: {
      openai: {
        plugin: 'openai',
        baseURL: upstream.openaiBaseURL,
        apiKey: 'sk-bench-not-a-secret',
        // Generous limits: the limiter runs on every call but never queues.
        limits: { rpm: 100_000_000, tpm: 100_000_000_000 },
        // false: every call is translated (normalized request, SDK call, re-encoded answer).
        passthrough,
      },
    },
    // retry, timeout, breaker, usage and limiter are absent: they run with their defaults.
    cache: cache ? { plugin: 'memory', ttlSeconds: 3600 } : false,
  };
}

interface Measurement {
  path: string;
  completed: number;
  errors: number;
  errorSamples: string[];
  throughputPerSecond: number;
  latency: Percentiles;
  firstByte?: Percentiles;
  maxSendLagMs?: number;
  upstreamRequests: number;
  headerCounts?: Record<string, number>;
  /** Closed loop: CPU time (user + system) of the proxy or gateway process per request, in µs. */
  serverCpuMicroseconds?: number;
  /** Closed loop: CPU time of the fake upstream (this process) per request, in µs. */
  upstreamCpuMicroseconds?: number;
  /** The single rounds this row is the median of (same order for every path: round i ran back to back). */
  rounds?: Measurement[];
}

/**
 * Median over rounds of (path − direct) measured in the same round, so slow drifts of the machine's
 * load cancel; falls back to the difference of the combined rows.
 */
function addedMedian(
  row: Measurement,
  direct: Measurement,
  pick: (measurement: Measurement) => number,
): number {
  if (!row.rounds || !direct.rounds || row.rounds.length !== direct.rounds.length)
    return pick(row) - pick(direct);
  return median(row.rounds.map((round, index) => pick(round) - pick(direct.rounds![index]!)));
}

function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function medianPercentiles(all: Percentiles[]): Percentiles {
  return {
    count: all.reduce((sum, item) => sum + item.count, 0),
    p50: median(all.map((item) => item.p50)),
    p90: median(all.map((item) => item.p90)),
    p99: median(all.map((item) => item.p99)),
    max: Math.max(...all.map((item) => item.max)),
    mean: median(all.map((item) => item.mean)),
  };
}

/** One row from several rounds of the same path: counts summed, rates and percentiles as medians. */
function combineRounds(rounds: Measurement[]): Measurement {
  if (rounds.length === 1) return { ...rounds[0]!, rounds };
  const headerCounts: Record<string, number> = {};
  for (const round of rounds)
    for (const [value, count] of Object.entries(round.headerCounts ?? {}))
      headerCounts[value] = (headerCounts[value] ?? 0) + count;
  const firstBytes = rounds.flatMap((round) => (round.firstByte ? [round.firstByte] : []));
  return {
    path: rounds[0]!.path,
    completed: rounds.reduce((sum, round) => sum + round.completed, 0),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    errorSamples: rounds.flatMap((round) => round.errorSamples).slice(0, 5),
    throughputPerSecond: median(rounds.map((round) => round.throughputPerSecond)),
    latency: medianPercentiles(rounds.map((round) => round.latency)),
    ...(firstBytes.length > 0 ? { firstByte: medianPercentiles(firstBytes) } : {}),
    maxSendLagMs: Math.max(...rounds.map((round) => round.maxSendLagMs ?? 0)),
    upstreamRequests: rounds.reduce((sum, round) => sum + round.upstreamRequests, 0),
    headerCounts,
    serverCpuMicroseconds: median(rounds.map((round) => round.serverCpuMicroseconds ?? Number.NaN)),
    upstreamCpuMicroseconds: median(rounds.map((round) => round.upstreamCpuMicroseconds ?? Number.NaN)),
    rounds,
  };
}

const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process from /proc (Linux), in seconds. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

const fmt = (value: number | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
const signed = (value: number): string =>
  Number.isNaN(value) ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
const ratio = (numerator: number, denominator: number): string =>
  Number.isFinite(numerator / denominator) && denominator > 0
    ? `${(numerator / denominator).toFixed(2)}×`
    : '—';

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg();
  const cores = availableParallelism();
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-gateway-bench-'));
  const upstream = await createFakeUpstream({
    maxRecordedRequests: 10,
    defaultBehavior: { kind: 'reply', chunkDelayMs },
    // Without a limit the fake still advertises 10,000 RPM in its x-ratelimit-* headers, and the
    // gateway's adaptive limiter rightly follows them (about 167 req/s). A huge, never-binding limit
    // makes the headers say so, and the limiter then never queues.
    rateLimit: { rpm: upstreamAdvertisedRpm, tpm: upstreamAdvertisedRpm * 1_000 },
  });
  const children: Array<ServerProcess | LoadGenerator> = [];
  const writeConfig = (name: string, cache: boolean, passthrough = true): string => {
    const file = join(scratch, name);
    writeFileSync(file, JSON.stringify(gatewayConfig(upstream, cache, passthrough), null, 2));
    return file;
  };
  const plainConfig = writeConfig('gateway.json', false);
  const cacheConfig = writeConfig('gateway-cache.json', true);
  const translatedConfig = writeConfig('gateway-translated.json', false, false);

  try {
    const generator = await startLoadGenerator();
    children.push(generator);
    const bare = await startBareProxy(upstream.url);
    children.push(bare);
    const gateway = await startGatewayProcess({ cli: gatewayCli, configFile: plainConfig });
    children.push(gateway);
    const translated = await startGatewayProcess({ cli: gatewayCli, configFile: translatedConfig });
    children.push(translated);
    const portkey = await startPortkey();
    children.push(portkey);
    const paths: Array<{
      name: string;
      url: string;
      pid: number | undefined;
      headers?: Record<string, string>;
    }> = [
      { name: 'direct (fake upstream)', url: upstream.url, pid: undefined },
      { name: 'bare node:http proxy', url: bare.url, pid: bare.pid },
      { name: 'Bulwark gateway, same-format passthrough', url: gateway.url, pid: gateway.pid },
      { name: 'Bulwark gateway, translated (passthrough: false)', url: translated.url, pid: translated.pid },
      {
        name: `Portkey gateway ${portkeyVersion()}`,
        url: portkey.url,
        pid: portkey.pid,
        headers: portkeyHeaders(upstream.openaiBaseURL),
      },
    ];
    const endpoint = (origin: string): string => `${origin}/v1/chat/completions`;

    // A smoke request per path: fails fast with the answer if a path is misconfigured.
    for (const path of paths) {
      const response = await fetch(endpoint(path.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...path.headers },
        body: plainBody,
      });
      const text = await response.text();
      if (response.status !== 200 || !text.includes('echo: Say hello'))
        throw new Error(`${path.name} answered ${response.status}: ${text.slice(0, 500)}`);
    }

    /** CPU seconds used so far by the process serving a path (the fake upstream lives in this process). */
    const cpuSeconds = (pid: number | undefined): number => {
      if (pid === undefined) {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1e6;
      }
      return processCpuSeconds(pid);
    };

    const openJob = (
      url: string,
      stream: boolean,
      durationMs: number,
      countHeader?: string,
      headers?: Record<string, string>,
    ): LoadJob => ({
      kind: 'open',
      url: endpoint(url),
      body: stream ? streamBody : plainBody,
      stream,
      ratePerSecond: rate,
      durationMs,
      warmupMs: 0,
      maxRequests: 100_000,
      requestTimeoutMs: 10_000,
      ...(countHeader ? { countHeader } : {}),
      ...(headers ? { headers } : {}),
    });

    const measureOpen = async (
      name: string,
      url: string,
      pid: number | undefined,
      stream: boolean,
      countHeader?: string,
      headers?: Record<string, string>,
    ): Promise<Measurement> => {
      process.stdout.write(`  open loop ${rate}/s ${stream ? 'streamed' : 'plain   '} · ${name} … `);
      // Warm-up as its own run at the same rate, so the CPU accounting covers the measured run only.
      await generator.run(openJob(url, stream, warmupSeconds * 1000, undefined, headers));
      const before = upstream.stats.requests;
      const serverCpuBefore = cpuSeconds(pid);
      const upstreamCpuBefore = cpuSeconds(undefined);
      const result = await generator.run(openJob(url, stream, openSeconds * 1000, countHeader, headers));
      const perRequest = (seconds: number): number => (seconds * 1e6) / Math.max(1, result.completed);
      const measurement: Measurement = {
        path: name,
        completed: result.completed,
        errors: result.errors,
        errorSamples: result.errorSamples,
        throughputPerSecond: result.throughputPerSecond,
        latency: result.latency,
        firstByte: result.firstByte,
        maxSendLagMs: result.maxSendLagMs,
        upstreamRequests: upstream.stats.requests - before,
        headerCounts: result.headerCounts,
        serverCpuMicroseconds: pid === undefined ? Number.NaN : perRequest(cpuSeconds(pid) - serverCpuBefore),
        upstreamCpuMicroseconds: perRequest(cpuSeconds(undefined) - upstreamCpuBefore),
      };
      process.stdout.write(
        `p50 ${fmt(result.latency.p50)} ms, p99 ${fmt(result.latency.p99)} ms` +
          `${stream ? `, TTFB p50 ${fmt(result.firstByte.p50)} ms` : ''}, ` +
          `CPU/request: server ${fmt(measurement.serverCpuMicroseconds, 0)} µs, upstream ${fmt(measurement.upstreamCpuMicroseconds, 0)} µs, ` +
          `errors ${result.errors}${result.errors ? ` (${result.errorSamples.join('; ')})` : ''}, max send lag ${fmt(result.maxSendLagMs, 1)} ms\n`,
      );
      return measurement;
    };

    const measureClosed = async (
      name: string,
      url: string,
      pid?: number,
      headers?: Record<string, string>,
    ): Promise<Measurement> => {
      process.stdout.write(`  closed loop ${connections} conns (${loadgenChoice}) · ${name} … `);
      const closedJob = (durationMs: number): LoadJob => ({
        kind: 'closed',
        url: endpoint(url),
        body: plainBody,
        stream: false,
        connections,
        durationMs,
        warmupMs: 0,
        maxRequests: 1_000_000,
        requestTimeoutMs: 10_000,
        ...(headers ? { headers } : {}),
      });
      const wrkJob = (durationMs: number) => ({
        url: endpoint(url),
        body: plainBody,
        connections,
        durationMs,
        warmupMs: 0,
        scratchDirectory: scratch,
        ...(headers ? { headers } : {}),
      });
      // Warm-up as its own run, so the CPU accounting below covers the measured run only.
      if (loadgenChoice === 'wrk') await wrkClosedLoop(wrkJob(warmupSeconds * 1000));
      else await generator.run(closedJob(warmupSeconds * 1000));
      const before = upstream.stats.requests;
      const serverCpuBefore = cpuSeconds(pid);
      const upstreamCpuBefore = cpuSeconds(undefined);
      const result =
        loadgenChoice === 'wrk'
          ? await wrkClosedLoop(wrkJob(closedSeconds * 1000))
          : await generator.run(closedJob(closedSeconds * 1000));
      const serverCpu = cpuSeconds(pid) - serverCpuBefore;
      const upstreamCpu = cpuSeconds(undefined) - upstreamCpuBefore;
      const perRequest = (seconds: number): number => (seconds * 1e6) / Math.max(1, result.completed);
      const measurement: Measurement = {
        path: name,
        completed: result.completed,
        errors: result.errors,
        errorSamples: result.errorSamples,
        throughputPerSecond: result.throughputPerSecond,
        latency: result.latency,
        upstreamRequests: upstream.stats.requests - before,
        serverCpuMicroseconds: pid === undefined ? Number.NaN : perRequest(serverCpu),
        upstreamCpuMicroseconds: perRequest(upstreamCpu),
      };
      process.stdout.write(
        `${fmt(measurement.throughputPerSecond, 0)} req/s, p50 ${fmt(measurement.latency.p50)} ms, ` +
          `CPU/request: server ${fmt(measurement.serverCpuMicroseconds, 0)} µs, upstream ${fmt(measurement.upstreamCpuMicroseconds, 0)} µs, ` +
          `errors ${measurement.errors}${measurement.errors ? ` (${measurement.errorSamples.join('; ')})` : ''}\n`,
      );
      return measurement;
    };

    process.stdout.write(
      `Gateway benchmark: ${cores} cores, Node ${process.version}, load ${loadBefore.map((value) => value.toFixed(2)).join(' ')}\n`,
    );
    /**
     * Each phase runs the four paths `rounds` times, in a rotated order per round, so a burst of
     * outside load does not land on one path only; the report shows the median of the rounds.
     */
    const inRounds = async (measure: (path: (typeof paths)[number]) => Promise<Measurement>) => {
      const byPath = paths.map(() => [] as Measurement[]);
      for (let round = 0; round < rounds; round += 1) {
        if (rounds > 1) process.stdout.write(`  round ${round + 1}/${rounds}\n`);
        for (let step = 0; step < paths.length; step += 1) {
          const index = (step + round) % paths.length;
          byPath[index]!.push(await measure(paths[index]!));
        }
      }
      return byPath.map(combineRounds);
    };
    const plain = await inRounds((path) =>
      measureOpen(path.name, path.url, path.pid, false, 'x-bulwark-cache', path.headers),
    );
    const streamed = await inRounds((path) =>
      measureOpen(path.name, path.url, path.pid, true, undefined, path.headers),
    );
    const closed = await inRounds((path) => measureClosed(path.name, path.url, path.pid, path.headers));
    await portkey.stop();
    children.splice(children.indexOf(portkey), 1);
    await gateway.stop();
    children.splice(children.indexOf(gateway), 1);
    await translated.stop();
    children.splice(children.indexOf(translated), 1);

    // Cache hits: a gateway with the memory cache; after the first call every identical request hits.
    const cached = await startGatewayProcess({ cli: gatewayCli, configFile: cacheConfig });
    children.push(cached);
    const cacheName = 'Bulwark gateway, cache hit';
    plain.push(await measureOpen(cacheName, cached.url, cached.pid, false, 'x-bulwark-cache'));
    closed.push(await measureClosed(cacheName, cached.url, cached.pid));
    await cached.stop();
    children.splice(children.indexOf(cached), 1);

    const callCostCalls = quick ? 1_000 : 4_000;
    process.stdout.write(
      `  client CPU per upstream call, by layer (${callCostCalls} calls, 10 concurrent) … `,
    );
    const callCost = await measureCallCost(
      { baseURL: upstream.openaiBaseURL, calls: callCostCalls, concurrency: 10 },
      300_000,
    );
    process.stdout.write('done\n');
    for (const row of callCost)
      process.stdout.write(
        `    ${row.layer}: ${fmt(row.cpuMicrosecondsPerCall, 0)} µs CPU/call, ${fmt(row.callsPerSecond, 0)} calls/s\n`,
      );

    let profileSection = '_Profiling skipped (--no-profile)._';
    if (!flags['no-profile']) {
      const profileDirectory = join(scratch, 'profile');
      const profiled = await startGatewayProcess({
        cli: gatewayCli,
        configFile: plainConfig,
        nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profileDirectory],
      });
      children.push(profiled);
      const underProfile = await measureClosed(
        'Bulwark gateway under --cpu-prof',
        profiled.url,
        profiled.pid,
      );
      await profiled.stop();
      children.splice(children.indexOf(profiled), 1);
      const files = existsSync(profileDirectory)
        ? readdirSync(profileDirectory).filter((file) => file.endsWith('.cpuprofile'))
        : [];
      if (files.length === 0)
        profileSection = '_No .cpuprofile was written (did the gateway exit cleanly?)._';
      else {
        const profileFile = join(tmpdir(), 'bulwark-gateway.cpuprofile');
        copyFileSync(join(profileDirectory, files[0]!), profileFile);
        process.stdout.write(`  profile kept at ${profileFile} (open it in Chrome DevTools or speedscope)\n`);
        profileSection =
          `Closed loop, ${connections} connections, ${closedSeconds} s + ${warmupSeconds} s warm-up, through a separate gateway process started with \`node --cpu-prof\` ` +
          `(${fmt(underProfile.throughputPerSecond, 0)} req/s while profiled). Start-up and warm-up samples are left out.\n\n` +
          profileMarkdown(summarizeProfile(profileFile, 25, profiled.startupMs + warmupSeconds * 1000));
      }
    }

    const loadAfter = loadavg();
    const report = renderReport({
      startedAt,
      cores,
      loadBefore,
      loadAfter,
      plain,
      streamed,
      closed,
      callCost,
      callCostCalls,
      profileSection,
    });
    process.stdout.write(`\n${report}`);
    if (!quick) {
      const target = join(benchDirectory, 'results', 'gateway.md');
      writeFileSync(target, report);
      process.stdout.write(`\nWrote ${relative(repositoryRoot, target)}\n`);
      for (const chart of writeResultCharts('gateway', report))
        process.stdout.write(`Wrote ${relative(repositoryRoot, chart)}\n`);
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await upstream.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function portkeyVersion(): string {
  const require = createRequire(import.meta.url);
  return (
    JSON.parse(readFileSync(require.resolve('@portkey-ai/gateway/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

function gitRevision(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repositoryRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

function renderReport(data: {
  startedAt: Date;
  cores: number;
  loadBefore: number[];
  loadAfter: number[];
  plain: Measurement[];
  streamed: Measurement[];
  closed: Measurement[];
  callCost: CallCostRow[];
  callCostCalls: number;
  profileSection: string;
}): string {
  const { plain, streamed, closed } = data;
  const [directPlain, barePlain, gatewayPlain, , portkeyPlain] = plain;
  const [directStream, bareStream, gatewayStream, , portkeyStream] = streamed;
  const [directClosed, bareClosed, gatewayClosed, , portkeyClosed] = closed;
  const errors = (measurement: Measurement): string =>
    measurement.errors === 0 ? '0' : `${measurement.errors} (${measurement.errorSamples.join('; ')})`;
  const cacheColumn = (measurement: Measurement): string =>
    Object.entries(measurement.headerCounts ?? {})
      .filter(([value]) => value !== '(absent)')
      .map(([value, count]) => `${value}: ${count}`)
      .join(', ') || '—';

  const added = (row: Measurement, field: 'p50' | 'p90' | 'p99'): number =>
    addedMedian(row, directPlain!, (measurement) => measurement.latency[field]);
  const addedFirstByte = (row: Measurement, field: 'p50' | 'p99'): number =>
    addedMedian(row, directStream!, (measurement) => measurement.firstByte![field]);
  const plainRows = plain.map(
    (row) =>
      `| ${row.path} | ${fmt(row.latency.p50)} | ${fmt(row.latency.p90)} | ${fmt(row.latency.p99)} | ${signed(added(row, 'p50'))} | ${signed(added(row, 'p90'))} | ${signed(added(row, 'p99'))} | ${fmt(row.serverCpuMicroseconds, 0)} | ${fmt(row.upstreamCpuMicroseconds, 0)} | ${row.completed} | ${row.upstreamRequests} | ${cacheColumn(row)} | ${errors(row)} |`,
  );
  const streamRows = streamed.map(
    (row) =>
      `| ${row.path} | ${fmt(row.firstByte!.p50)} | ${fmt(row.firstByte!.p99)} | ${signed(addedFirstByte(row, 'p50'))} | ${signed(addedFirstByte(row, 'p99'))} | ${fmt(row.latency.p50)} | ${fmt(row.latency.p99)} | ${fmt(row.serverCpuMicroseconds, 0)} | ${row.completed} | ${errors(row)} |`,
  );
  const closedRows = closed.map(
    (row) =>
      `| ${row.path} | ${fmt(row.throughputPerSecond, 0)} | ${fmt(row.latency.p50)} | ${fmt(row.latency.p99)} | ${fmt(row.serverCpuMicroseconds, 0)} | ${fmt(row.upstreamCpuMicroseconds, 0)} | ${row.completed} | ${row.upstreamRequests} | ${errors(row)} |`,
  );
  const verdict = (ok: boolean): string => (ok ? 'met' : '**not met**');
  // Only the load before the run says whether others were busy: the benchmark itself loads both cores.
  const busy = data.loadBefore[0]! > data.cores * 0.5;

  return `# Gateway overhead benchmark

Run \`${data.startedAt.toISOString()}\` at commit \`${gitRevision()}\`${staleBuild ? ' (**apps/gateway/dist was older than its sources**)' : ''}.
Machine: ${data.cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, Linux load average
${data.loadBefore.map((value) => value.toFixed(2)).join(' / ')} (1/5/15 min) before and ${data.loadAfter.map((value) => value.toFixed(2)).join(' / ')} after.
${busy ? '\n> **The machine was busy** (1-minute load above half the core count): other jobs shared the cores, so absolute numbers are pessimistic and noisy; the side-by-side ratios are the meaningful part.\n' : ''}
Five paths to the same upstream (the testkit's \`createFakeUpstream()\`, OpenAI Chat Completions, in the
benchmark's own process): **direct**, through a **bare \`node:http\` proxy** (keep-alive agent, bodies piped;
bench/src/gateway-bench/bare-proxy.ts) and through the **Bulwark gateway** (\`node apps/gateway/dist/cli.js serve\`,
one \`openai\` provider pointing at the fake upstream — an OpenAI client to an OpenAI provider is the **same-format
passthrough** (body forwarded as sent, answer relayed as sent) —, and a second gateway whose provider has
\`passthrough: false\`, so every call is **translated** (normalized, sent through the SDK, re-encoded), and the **Portkey gateway** as the peer; Bulwark: default retry/timeout/breaker/usage, memory limiter with
generous limits, cache off so every call reaches the upstream; the fake upstream advertises (and enforces)
${upstreamAdvertisedRpm.toLocaleString('en-US')} RPM in its rate-limit headers, which the adaptive limiter follows — with the fake's default
10,000 RPM the gateway is correctly held to about 167 req/s (\`--upstream-rpm 10000\` shows it); the cache-hit row uses a second gateway with the
memory cache). Each server and the load generator are separate processes on 127.0.0.1.

- Every phase runs the five paths ${rounds} time(s) in a rotated order; rows show the median of the rounds
  (requests and errors are summed), and "added" is the median over rounds of (path − direct) in the same round.
- Open loop: ${rate} requests/s for ${openSeconds} s after ${warmupSeconds} s of warm-up, Node generator in a child process, latency from
  send to the last body byte; streamed first byte = send to the first body byte. Percentiles in ms; "added" is relative to
  direct (see the rounds above).
- Streams: the upstream waits ${chunkDelayMs} ms before each SSE frame (about 15 frames per answer), as a model emitting tokens would.
- Closed loop: ${connections} keep-alive connections for ${closedSeconds} s after a separate ${warmupSeconds} s warm-up run, ${loadgenChoice === 'wrk' ? `\`${wrk}\` (1 thread)` : 'the Node generator'}. On 2 cores the
  generator, the upstream and the server under test share the CPU, so absolute req/s are lower than on a
  dedicated load box; the ratios are comparable. "CPU µs/request" is the user + system CPU time of the
  proxy/gateway process (from /proc) and of the fake upstream, divided by the requests of the measured run: it
  depends much less on what else runs on the machine than req/s does.

## Added latency, non-streamed, open loop ${rate} req/s

| Path | p50 | p90 | p99 | added p50 | added p90 | added p99 | proxy CPU µs/request | upstream CPU µs/request | requests | reached upstream | x-bulwark-cache | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
${plainRows.join('\n')}

## Streamed, open loop ${rate} req/s

| Path | first byte p50 | first byte p99 | added p50 | added p99 | whole stream p50 | whole stream p99 | proxy CPU µs/request | requests | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${streamRows.join('\n')}

## Max throughput, closed loop, ${connections} connections

| Path | req/s | p50 | p99 | proxy CPU µs/request | upstream CPU µs/request | requests | reached upstream | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${closedRows.join('\n')}

## Gateway versus bare proxy, and the targets

The gateway column is the same-format passthrough. Ratios of added latency are ratios of the medians of
per-round differences, so they are noisy when the bare proxy's own added time is a fraction of a millisecond.

| Measure | bare proxy | Portkey | gateway | gateway / bare | gateway / Portkey | target (issue 13) | |
| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |
| added p50 (ms) | ${signed(added(barePlain!, 'p50'))} | ${signed(added(portkeyPlain!, 'p50'))} | ${signed(added(gatewayPlain!, 'p50'))} | ${ratio(added(gatewayPlain!, 'p50'), added(barePlain!, 'p50'))} | ${ratio(added(gatewayPlain!, 'p50'), added(portkeyPlain!, 'p50'))} | ≤ +0.8 ms | ${verdict(added(gatewayPlain!, 'p50') <= 0.8)} |
| added p99 (ms) | ${signed(added(barePlain!, 'p99'))} | ${signed(added(portkeyPlain!, 'p99'))} | ${signed(added(gatewayPlain!, 'p99'))} | ${ratio(added(gatewayPlain!, 'p99'), added(barePlain!, 'p99'))} | ${ratio(added(gatewayPlain!, 'p99'), added(portkeyPlain!, 'p99'))} | ≤ +2.5 ms | ${verdict(added(gatewayPlain!, 'p99') <= 2.5)} |
| added first byte p50 (ms) | ${signed(addedFirstByte(bareStream!, 'p50'))} | ${signed(addedFirstByte(portkeyStream!, 'p50'))} | ${signed(addedFirstByte(gatewayStream!, 'p50'))} | ${ratio(addedFirstByte(gatewayStream!, 'p50'), addedFirstByte(bareStream!, 'p50'))} | ${ratio(addedFirstByte(gatewayStream!, 'p50'), addedFirstByte(portkeyStream!, 'p50'))} | ≤ +1 ms | ${verdict(addedFirstByte(gatewayStream!, 'p50') <= 1)} |
| added first byte p99 (ms) | ${signed(addedFirstByte(bareStream!, 'p99'))} | ${signed(addedFirstByte(portkeyStream!, 'p99'))} | ${signed(addedFirstByte(gatewayStream!, 'p99'))} | ${ratio(addedFirstByte(gatewayStream!, 'p99'), addedFirstByte(bareStream!, 'p99'))} | ${ratio(addedFirstByte(gatewayStream!, 'p99'), addedFirstByte(portkeyStream!, 'p99'))} | | |
| throughput (req/s) | ${fmt(bareClosed!.throughputPerSecond, 0)} | ${fmt(portkeyClosed!.throughputPerSecond, 0)} | ${fmt(gatewayClosed!.throughputPerSecond, 0)} | ${ratio(gatewayClosed!.throughputPerSecond, bareClosed!.throughputPerSecond)} | ${ratio(gatewayClosed!.throughputPerSecond, portkeyClosed!.throughputPerSecond)} | ≥ 0.60× bare | ${verdict(gatewayClosed!.throughputPerSecond >= 0.6 * bareClosed!.throughputPerSecond)} |
| proxy CPU per request at ${rate} req/s (µs) | ${fmt(barePlain!.serverCpuMicroseconds, 0)} | ${fmt(portkeyPlain!.serverCpuMicroseconds, 0)} | ${fmt(gatewayPlain!.serverCpuMicroseconds, 0)} | ${ratio(gatewayPlain!.serverCpuMicroseconds!, barePlain!.serverCpuMicroseconds!)} | ${ratio(gatewayPlain!.serverCpuMicroseconds!, portkeyPlain!.serverCpuMicroseconds!)} | ≤ 2× bare | ${verdict(gatewayPlain!.serverCpuMicroseconds! <= 2 * barePlain!.serverCpuMicroseconds!)} |
| proxy CPU per streamed request at ${rate} req/s (µs) | ${fmt(bareStream!.serverCpuMicroseconds, 0)} | ${fmt(portkeyStream!.serverCpuMicroseconds, 0)} | ${fmt(gatewayStream!.serverCpuMicroseconds, 0)} | ${ratio(gatewayStream!.serverCpuMicroseconds!, bareStream!.serverCpuMicroseconds!)} | ${ratio(gatewayStream!.serverCpuMicroseconds!, portkeyStream!.serverCpuMicroseconds!)} | | |
| proxy CPU per request, closed loop (µs) | ${fmt(bareClosed!.serverCpuMicroseconds, 0)} | ${fmt(portkeyClosed!.serverCpuMicroseconds, 0)} | ${fmt(gatewayClosed!.serverCpuMicroseconds, 0)} | ${ratio(gatewayClosed!.serverCpuMicroseconds!, bareClosed!.serverCpuMicroseconds!)} | ${ratio(gatewayClosed!.serverCpuMicroseconds!, portkeyClosed!.serverCpuMicroseconds!)} | | |
| throughput vs direct | ${ratio(bareClosed!.throughputPerSecond, directClosed!.throughputPerSecond)} | ${ratio(portkeyClosed!.throughputPerSecond, directClosed!.throughputPerSecond)} | ${ratio(gatewayClosed!.throughputPerSecond, directClosed!.throughputPerSecond)} | | | | |

Portkey is measured in the same run (its row above): \`@portkey-ai/gateway\` ${portkeyVersion()} (a devDependency of bench/ only,
\`@hono/node-server\` pinned to 1.13.8 by a pnpm override), \`node build/start-server.js --headless\` with NODE_ENV=production,
bound to 127.0.0.1, each request routed to the same fake upstream by \`x-portkey-provider: openai\` +
\`x-portkey-custom-host: <upstream>/v1\`.

## Client CPU per upstream call, by layer

What one call to the upstream costs the caller's process, layer by layer (bench/src/gateway-bench/call-cost.ts,
its own process; ${data.callCostCalls} calls, 10 concurrent, after 500 warm-up calls). The gateway pays about the
last row for every non-cached request (its provider uses the default transport), plus its HTTP server side
(compare with the cache-hit rows above).

| Layer | CPU µs/call | calls/s |
| --- | ---: | ---: |
${data.callCost.map((row) => `| ${row.layer} | ${fmt(row.cpuMicrosecondsPerCall, 0)} | ${fmt(row.callsPerSecond, 0)} |`).join('\n')}

## Where the gateway spends its CPU

${data.profileSection}

## Reproduce

\`\`\`sh
apt-get install -y wrk        # optional; without it the closed loop uses the Node generator (printed)
pnpm turbo run build --filter=@bulwark/gateway... --filter=@bulwark/testkit --output-logs=errors-only
pnpm --filter @bulwark/bench bench:gateway            # ~12 minutes; rewrites this file
pnpm --filter @bulwark/bench bench:gateway --quick    # short phases, prints only
\`\`\`
Options: \`--rounds N\`, \`--rate N\`, \`--duration S\`, \`--connections N\`, \`--loadgen node|wrk\`, \`--chunk-delay MS\`, \`--upstream-rpm N\`, \`--no-profile\`.
A single profile can be summarized with \`tsx bench/src/gateway-bench/summarize-profile.ts FILE.cpuprofile\`.
`;
}

await main();
