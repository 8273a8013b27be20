/**
 * Deterministic resilience simulation: 10,000 calls per scenario in virtual time against seeded mock
 * providers, comparing Bulwark's default policy with the retry/fallback/breaker pattern tutorials show.
 *
 *   pnpm --filter @bulwark/bench sim:resilience            # prints the markdown report
 *   pnpm --filter @bulwark/bench sim:resilience -- --calls 2000
 *
 * Needs the workspace packages built (`pnpm turbo run build --filter=@bulwark/bench^...`).
 */
import { createCircuitBreaker } from '@bulwark/breaker';
import {
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  createBulwark,
  createEventBus,
  createVirtualClock,
  silentLogger,
  type VirtualClock,
} from '@bulwark/core';
import {
  createMockProvider,
  createSeededRandom,
  type MockLatency,
  type MockProvider,
  type MockWindow,
} from '@bulwark/provider-mock';
import { createRetry } from '@bulwark/retry';
import { createAttemptTimeout } from '@bulwark/timeout';
import { writeResultCharts } from './result-charts.js';

const callsArgument = process.argv.indexOf('--calls');
const CALLS = callsArgument > 0 ? Number(process.argv[callsArgument + 1]) : 10_000;
/** Mean arrival rate: 20 calls per second, Poisson arrivals (10,000 calls ≈ 500 s of virtual time). */
const ARRIVALS_PER_SECOND = 20;
const healthyLatency: MockLatency = { kind: 'lognormal', medianMs: 800, p99Ms: 4000 };
const fallbackLatency: MockLatency = { kind: 'lognormal', medianMs: 1000, p99Ms: 5000 };

interface Scenario {
  name: string;
  description: string;
  /** Windows of the primary's misbehaviour. */
  windows: MockWindow[];
  /** Windows of the fallback target's misbehaviour (default: always healthy). */
  fallbackWindows?: MockWindow[];
  /** Name of the windows in which the primary counts as down (for "calls sent while down"). */
  downWindow?: string;
}

/**
 * Outages rarely fail fast: a load balancer answers 502/503/504 after waiting on dead backends.
 * Failures during an outage take 1–5 s, which is what makes retry storms and half-open floods costly.
 */
const outageLatency: MockLatency = { kind: 'uniform', minMs: 1000, maxMs: 5000 };

function flappingWindows(): MockWindow[] {
  const windows: MockWindow[] = [];
  for (let start = 10_000; start < 1_000_000; start += 30_000) {
    windows.push({
      fromMs: start,
      toMs: start + 10_000,
      error: 'server_error',
      status: 503,
      latencyMs: outageLatency,
      name: 'outage',
    });
  }
  return windows;
}

const scenarios: Scenario[] = [
  {
    name: 'flaky',
    description: 'primary fails 20% with 503 and 10% with 429 (retry-after 2 s), at random',
    windows: [
      {
        fromMs: 0,
        toMs: Number.POSITIVE_INFINITY,
        probability: 0.2,
        error: 'server_error',
        status: 503,
        latencyMs: 200,
      },
      // 0.125 of the remaining 80% = 10% of all calls.
      {
        fromMs: 0,
        toMs: Number.POSITIVE_INFINITY,
        probability: 0.125,
        error: 'rate_limited',
        retryAfterMs: 2000,
        latencyMs: 100,
      },
    ],
  },
  {
    name: 'down, then recovering',
    description:
      'primary answers 503 (after 1–5 s) to everything from t = 100 s to t = 300 s, healthy before and after',
    windows: [
      {
        fromMs: 100_000,
        toMs: 300_000,
        error: 'server_error',
        status: 503,
        latencyMs: outageLatency,
        name: 'outage',
      },
    ],
    downWindow: 'outage',
  },
  {
    name: 'brownout',
    description: 'primary slows down from t = 100 s to t = 300 s (median 12 s, p99 45 s) but never errors',
    windows: [
      {
        fromMs: 100_000,
        toMs: 300_000,
        latencyMs: { kind: 'lognormal', medianMs: 12_000, p99Ms: 45_000 },
        name: 'brownout',
      },
    ],
    downWindow: 'brownout',
  },
  {
    name: 'full outage',
    description:
      'both targets answer 503 (after 1–5 s) from t = 100 s to t = 300 s: nothing can succeed, so only the load sent matters',
    windows: [
      {
        fromMs: 100_000,
        toMs: 300_000,
        error: 'server_error',
        status: 503,
        latencyMs: outageLatency,
        name: 'outage',
      },
    ],
    fallbackWindows: [
      {
        fromMs: 100_000,
        toMs: 300_000,
        error: 'server_error',
        status: 503,
        latencyMs: outageLatency,
        name: 'outage',
      },
    ],
    downWindow: 'outage',
  },
  {
    name: 'flapping',
    description: 'primary is down (503 after 1–5 s) for 10 s of every 30 s',
    windows: flappingWindows(),
    downWindow: 'outage',
  },
];

const request: ChatRequest = {
  model: 'chat',
  messages: [{ role: 'user', content: 'Summarise the incident report.' }],
};

interface CallResult {
  ok: boolean;
  latencyMs: number;
  /** Provider that answered. */
  provider?: string;
}

interface Measured {
  successRate: number;
  amplification: number;
  p50: number;
  p99: number;
  sentWhileDown: number | undefined;
  fallbackShare: number;
  virtualSeconds: number;
  wallMs: number;
}

function providers(clock: VirtualClock, scenario: Scenario) {
  const primary = createMockProvider({
    name: 'primary',
    clock,
    latencyMs: healthyLatency,
    windows: scenario.windows,
    seed: 101,
  });
  const secondary = createMockProvider({
    name: 'secondary',
    clock,
    latencyMs: fallbackLatency,
    seed: 202,
    ...(scenario.fallbackWindows ? { windows: scenario.fallbackWindows } : {}),
  });
  return { primary, secondary };
}

/** Drives CALLS calls with Poisson arrivals through `call`, all in virtual time. */
async function drive(clock: VirtualClock, call: () => Promise<ChatResponse>): Promise<CallResult[]> {
  const arrivals = createSeededRandom(7);
  const results: CallResult[] = new Array(CALLS);
  const pending: Promise<void>[] = [];
  const run = async () => {
    for (let index = 0; index < CALLS; index += 1) {
      const gap = (-Math.log(1 - arrivals()) * 1000) / ARRIVALS_PER_SECOND;
      await clock.sleep(gap);
      const started = clock.now();
      pending.push(
        call().then(
          (response) => {
            results[index] = { ok: true, latencyMs: clock.now() - started, provider: response.provider };
          },
          () => {
            results[index] = { ok: false, latencyMs: clock.now() - started };
          },
        ),
      );
    }
    await Promise.all(pending);
  };
  await clock.run(run());
  return results;
}

function measure(
  results: CallResult[],
  mocks: { primary: MockProvider; secondary: MockProvider },
  scenario: Scenario,
  clock: VirtualClock,
  wallStarted: number,
): Measured {
  const latencies = results.map((result) => result.latencyMs).sort((a, b) => a - b);
  const percentile = (share: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))]!;
  const succeeded = results.filter((result) => result.ok);
  return {
    successRate: succeeded.length / results.length,
    amplification: (mocks.primary.callCount + mocks.secondary.callCount) / results.length,
    p50: percentile(0.5),
    p99: percentile(0.99),
    sentWhileDown:
      scenario.downWindow === undefined
        ? undefined
        : [...mocks.primary.calls, ...mocks.secondary.calls].filter(
            (call) => call.window === scenario.downWindow,
          ).length,
    fallbackShare:
      succeeded.filter((result) => result.provider === 'secondary').length / Math.max(1, succeeded.length),
    virtualSeconds: clock.now() / 1000,
    wallMs: Date.now() - wallStarted,
  };
}

/**
 * Bulwark's default policy: retry (3 attempts, full jitter, retry-after floor, retry budget) → circuit
 * breaker per target (5 in a row or ≥ 50% of ≥ 10 calls in 30 s; 15 s cooldown; one probe; calls over
 * 10 s count as slow failures) → attempt timeout (30 s to first token) → provider, under the fallback
 * router, with the gateway's 120 s total deadline per call.
 */
async function runBulwark(scenario: Scenario, withBreaker = true): Promise<Measured> {
  const wallStarted = Date.now();
  const clock = createVirtualClock();
  const mocks = providers(clock, scenario);
  const bulwark = createBulwark({
    providers: [mocks.primary, mocks.secondary],
    models: {
      chat: [
        { provider: 'primary', model: 'main-model' },
        { provider: 'secondary', model: 'backup-model' },
      ],
    },
    middleware: [
      createRetry({ random: createSeededRandom(11) }),
      ...(withBreaker ? [createCircuitBreaker({ slowCallMs: 10_000 })] : []),
      createAttemptTimeout({ firstTokenMs: 30_000, idleMs: 15_000 }),
    ],
    clock,
  });
  const results = await drive(clock, () => bulwark.chat(request, { timeoutMs: 120_000 }));
  return measure(results, mocks, scenario, clock, wallStarted);
}

/**
 * The pattern tutorials show, implemented as written, bugs included:
 * - up to 5 attempts per provider; 429 → wait `1 s · 2^n` plus up to 10% jitter; 5xx → linear backoff
 *   `1 s · (n + 1)`; `retry-after` is never read;
 * - then a sequential fallback to the next provider on any error;
 * - a breaker per provider that opens after 5 consecutive failures for 30 s, and whose half-open state
 *   lets every caller through until one result comes back;
 * - no deadline, no retry budget, no attempt timeout.
 */
async function runTutorial(scenario: Scenario): Promise<Measured> {
  const wallStarted = Date.now();
  const clock = createVirtualClock();
  const mocks = providers(clock, scenario);
  const jitter = createSeededRandom(11);
  const events = createEventBus();
  const baseMs = 1000;

  const breakers = new Map<
    string,
    { failures: number; state: 'closed' | 'open' | 'half-open'; openedAt: number }
  >();
  const breakerFor = (name: string) => {
    let breaker = breakers.get(name);
    if (!breaker) {
      breaker = { failures: 0, state: 'closed', openedAt: 0 };
      breakers.set(name, breaker);
    }
    return breaker;
  };
  const allow = (name: string): boolean => {
    const breaker = breakerFor(name);
    if (breaker.state === 'open' && clock.now() - breaker.openedAt >= 30_000) breaker.state = 'half-open';
    return breaker.state !== 'open';
  };
  const recordResult = (name: string, ok: boolean) => {
    const breaker = breakerFor(name);
    if (ok) {
      breaker.failures = 0;
      breaker.state = 'closed';
      return;
    }
    breaker.failures += 1;
    if (breaker.state === 'half-open' || breaker.failures >= 5) {
      breaker.state = 'open';
      breaker.openedAt = clock.now();
    }
  };

  let sequence = 0;
  const context = (): CallContext => ({
    callId: `tutorial-${sequence++}`,
    signal: new AbortController().signal,
    clock,
    logger: silentLogger,
    events,
    metadata: {},
    stream: false,
    trail: [],
    state: new Map(),
  });

  const call = async (): Promise<ChatResponse> => {
    let lastError: unknown;
    for (const [provider, model] of [
      [mocks.primary, 'main-model'],
      [mocks.secondary, 'backup-model'],
    ] as const) {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        if (!allow(provider.name)) {
          lastError = new Error(`circuit open for ${provider.name}`);
          break;
        }
        try {
          const response = await provider.complete({ ...request, model }, context());
          recordResult(provider.name, true);
          return response;
        } catch (error) {
          recordResult(provider.name, false);
          lastError = error;
          const status = (error as { status?: number }).status ?? 0;
          if (attempt === 4) break;
          if (status === 429) await clock.sleep(baseMs * 2 ** attempt * (1 + 0.1 * jitter()));
          else if (status >= 500) await clock.sleep(baseMs * (attempt + 1));
          else break;
        }
      }
    }
    throw lastError;
  };

  const results = await drive(clock, call);
  return measure(results, mocks, scenario, clock, wallStarted);
}

const percent = (value: number) => `${(value * 100).toFixed(2)} %`;
const seconds = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

async function main(): Promise<void> {
  const lines: string[] = [];
  lines.push(
    `${CALLS.toLocaleString('en-US')} calls per scenario, Poisson arrivals at ${ARRIVALS_PER_SECOND}/s, virtual time, seeded faults.`,
  );
  lines.push('Healthy latency: lognormal, median 800 ms, p99 4 s (fallback target: median 1 s, p99 5 s).');
  lines.push('');
  for (const scenario of scenarios) {
    const bulwark = await runBulwark(scenario);
    const withoutBreaker = await runBulwark(scenario, false);
    const tutorial = await runTutorial(scenario);
    lines.push(`### ${scenario.name}`);
    lines.push('');
    lines.push(
      scenario.fallbackWindows
        ? `${scenario.description}.`
        : `${scenario.description}; the fallback target is always healthy.`,
    );
    lines.push('');
    lines.push(
      '| policy | success rate | amplification (provider calls / call) | p50 latency | p99 latency | calls sent to a target while it was down | answered by the fallback |',
    );
    lines.push('|---|---|---|---|---|---|---|');
    for (const [name, measured] of [
      ['Bulwark default', bulwark],
      ['Bulwark without breaker', withoutBreaker],
      ['tutorial pattern', tutorial],
    ] as const) {
      lines.push(
        `| ${name} | ${percent(measured.successRate)} | ${measured.amplification.toFixed(3)} | ${seconds(measured.p50)} | ${seconds(measured.p99)} | ${measured.sentWhileDown === undefined ? '–' : measured.sentWhileDown.toLocaleString('en-US')} | ${percent(measured.fallbackShare)} |`,
      );
    }
    lines.push('');
    process.stderr.write(
      `${scenario.name}: simulated ${bulwark.virtualSeconds.toFixed(0)} s of virtual time per policy; wall time ${bulwark.wallMs} + ${withoutBreaker.wallMs} + ${tutorial.wallMs} ms\n`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  // The report goes to stdout (redirected into results/resilience.md); its charts are written beside it.
  writeResultCharts('resilience', lines.join('\n'));
}

await main();
