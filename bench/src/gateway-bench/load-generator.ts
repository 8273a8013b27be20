/**
 * Load-generator child process (forked by gateway-bench.ts so it never shares the event loop of the
 * server under test). Receives one `LoadJob` at a time over IPC, answers with a `LoadResult`.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type LoadJob, type LoadResult, percentiles } from './load-types.js';

interface Sample {
  latencyMs: number;
  firstByteMs: number;
}

interface Recorder {
  samples: Sample[];
  errors: number;
  errorSamples: string[];
  headerCounts: Record<string, number>;
}

function newRecorder(): Recorder {
  return { samples: [], errors: 0, errorSamples: [], headerCounts: {} };
}

function recordError(recorder: Recorder, description: string): void {
  recorder.errors += 1;
  if (recorder.errorSamples.length < 5) recorder.errorSamples.push(description);
}

/** Sends one request; resolves when it is fully read (or failed), recording into the current recorder. */
function send(
  job: LoadJob,
  agent: Agent,
  target: URL,
  payload: Buffer,
  recorder: () => Recorder,
): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    let firstByteMs = -1;
    let tail = '';
    let settled = false;
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) {
        const ended = performance.now();
        recorder().samples.push({
          latencyMs: ended - started,
          firstByteMs: firstByteMs < 0 ? ended - started : firstByteMs,
        });
      } else recordError(recorder(), error);
      resolve();
    };
    const outgoing = httpRequest(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          authorization: 'Bearer sk-bench-not-a-secret',
          ...job.headers,
        },
      },
      (response: IncomingMessage) => {
        if (job.countHeader) {
          const value = String(response.headers[job.countHeader] ?? '(absent)');
          const counts = recorder().headerCounts;
          counts[value] = (counts[value] ?? 0) + 1;
        }
        response.on('data', (chunk: Buffer) => {
          if (firstByteMs < 0) firstByteMs = performance.now() - started;
          if (job.stream) tail = (tail + chunk.toString('latin1')).slice(-64);
        });
        response.on('end', () => {
          if (response.statusCode !== 200) finish(`status ${response.statusCode}`);
          else if (job.stream && !tail.includes('[DONE]')) finish('stream ended without [DONE]');
          else finish();
        });
        response.on('error', (error) => finish(`response: ${error.message}`));
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy(new Error(`no answer within ${job.requestTimeoutMs} ms`));
    }, job.requestTimeoutMs);
    outgoing.on('error', (error) => finish(`request: ${error.message}`));
    outgoing.end(payload);
  });
}

function summarize(
  job: LoadJob,
  recorder: Recorder,
  elapsedMs: number,
  lag: { max: number; late: number },
): LoadResult {
  return {
    kind: job.kind,
    completed: recorder.samples.length,
    errors: recorder.errors,
    errorSamples: recorder.errorSamples,
    elapsedMs,
    throughputPerSecond: (recorder.samples.length / elapsedMs) * 1000,
    latency: percentiles(recorder.samples.map((sample) => sample.latencyMs)),
    firstByte: percentiles(recorder.samples.map((sample) => sample.firstByteMs)),
    maxSendLagMs: lag.max,
    lateSends: lag.late,
    headerCounts: recorder.headerCounts,
  };
}

/**
 * Open loop: request i is due at start + i / rate whatever happened to the earlier ones (no coordinated
 * omission). Latency is timed from the actual send; the lag between schedule and send is reported.
 */
async function openLoop(job: LoadJob): Promise<LoadResult> {
  const rate = job.ratePerSecond ?? 200;
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const target = new URL(job.url);
  const payload = Buffer.from(job.body);
  const interval = 1000 / rate;
  const warmupCount = Math.round((rate * job.warmupMs) / 1000);
  const measuredCount = Math.min(job.maxRequests, Math.round((rate * job.durationMs) / 1000));
  const total = warmupCount + measuredCount;
  const warmup = newRecorder();
  const measured = newRecorder();
  const lag = { max: 0, late: 0 };
  const inFlight: Promise<void>[] = [];
  let measuredStart = 0;
  let lastSend = 0;
  await new Promise<void>((resolve) => {
    const origin = performance.now();
    let index = 0;
    const tick = (): void => {
      const now = performance.now();
      while (index < total && origin + index * interval <= now) {
        const isMeasured = index >= warmupCount;
        if (index === warmupCount) measuredStart = now;
        if (isMeasured) {
          const late = now - (origin + index * interval);
          if (late > lag.max) lag.max = late;
          if (late > interval) lag.late += 1;
        }
        const recorder = isMeasured ? measured : warmup;
        const pending = send(job, agent, target, payload, () => recorder);
        if (isMeasured) inFlight.push(pending);
        lastSend = now;
        index += 1;
      }
      if (index < total) setTimeout(tick, Math.max(0, origin + index * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsed = Math.max(lastSend - measuredStart, 1);
  agent.destroy();
  return summarize(job, measured, elapsed + interval, lag);
}

/** Closed loop: `connections` workers, each sends its next request when the previous answer is read. */
async function closedLoop(job: LoadJob): Promise<LoadResult> {
  const connections = job.connections ?? 50;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(job.url);
  const payload = Buffer.from(job.body);
  let current = newRecorder();
  let measuring = false;
  let stopAt = performance.now() + job.warmupMs + job.durationMs;
  let measuredStart = performance.now();
  const worker = async (): Promise<void> => {
    while (
      performance.now() < stopAt &&
      (!measuring || current.samples.length + current.errors < job.maxRequests)
    ) {
      await send(job, agent, target, payload, () => current);
    }
  };
  const switchTimer = setTimeout(() => {
    current = newRecorder();
    measuring = true;
    measuredStart = performance.now();
    stopAt = measuredStart + job.durationMs;
  }, job.warmupMs);
  await Promise.all(Array.from({ length: connections }, worker));
  clearTimeout(switchTimer);
  const elapsed = performance.now() - measuredStart;
  agent.destroy();
  return summarize(job, current, elapsed, { max: 0, late: 0 });
}

process.on('message', (job: LoadJob) => {
  const run = job.kind === 'open' ? openLoop(job) : closedLoop(job);
  run.then(
    (result) => process.send?.({ ok: true, result }),
    (error: unknown) =>
      process.send?.({ ok: false, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
