import { redactSecrets } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logger. Bulwark never logs request or response content unless a plugin is told to. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** Discards everything. The default for the in-process client. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line on `write` (stderr by default), secrets redacted.
 */
export function createJsonLogger(
  options: { level?: LogLevel; write?: (line: string) => void; base?: Record<string, unknown> } = {},
): Logger {
  const threshold = rank[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (rank[level] < threshold) return;
      const entry = { time: new Date().toISOString(), level, message, ...options.base, ...fields };
      write(redactSecrets(JSON.stringify(entry, errorReplacer)));
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const json = (value as { toJSON?: () => unknown }).toJSON;
    return typeof json === 'function' ? json.call(value) : { name: value.name, message: value.message };
  }
  return value;
}
