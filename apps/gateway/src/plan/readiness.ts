import type { Readiness } from '@bulwark/core';

/** One plugin instance that can say whether it is ready (it has the optional `ready()` capability). */
export interface ReadinessProbe {
  /** `kind:name` of the plugin that created it (`cache:redis`, `spend-store:redis`). */
  plugin: string;
  /** Where its config sits (`cache.store`, `budget.store`). */
  path: string;
  instance: { ready(): unknown };
}

/** What one probe answered. */
export interface ReadinessCheck {
  plugin: string;
  path: string;
  ready: boolean;
  reason?: string;
}

/** The conjunction of every probe: ready when each is. */
export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** How long one `ready()` may take before it counts as not ready. */
export const readinessTimeoutMs = 1000;

function verdict(answer: unknown): { ready: boolean; reason?: string } {
  // A `ready()` that resolves with nothing (one written only to wait for a connection) counts as ready.
  if (answer === undefined || answer === true) return { ready: true };
  if (answer === false) return { ready: false, reason: 'not ready' };
  if (typeof answer === 'object' && answer !== null && 'ready' in answer) {
    const { ready, reason } = answer as Exclude<Readiness, boolean>;
    return {
      ready: ready === true,
      ...(typeof reason === 'string' ? { reason } : ready === true ? {} : { reason: 'not ready' }),
    };
  }
  return { ready: false, reason: 'ready() answered neither a boolean nor { ready }' };
}

async function probe(entry: ReadinessProbe, timeoutMs: number): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      Promise.resolve().then(() => entry.instance.ready()),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    return { plugin: entry.plugin, path: entry.path, ...verdict(answer) };
  } catch (error) {
    return {
      plugin: entry.plugin,
      path: entry.path,
      ready: false,
      reason: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks every probe at once (each bounded by `timeoutMs`) and reports the conjunction. With no probe the
 * gateway is ready. Reasons come from the plugins, which keep secrets out of them (core's contract).
 */
export async function checkReadiness(
  probes: readonly ReadinessProbe[],
  timeoutMs = readinessTimeoutMs,
): Promise<ReadinessReport> {
  const checks = await Promise.all(probes.map((entry) => probe(entry, timeoutMs)));
  return { ready: checks.every((check) => check.ready), checks };
}
