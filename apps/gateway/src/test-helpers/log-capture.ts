import { createJsonLogger, type Logger } from '@bulwark/core';

/** A JSON logger that keeps its lines, so tests can search everything the gateway logged. */
export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createJsonLogger({ level: 'debug', write: (line) => lines.push(line) }), lines };
}
