/**
 * Structured logs: one JSON object per line with `severity`, the shape Cloud Logging parses from
 * stdout/stderr of Cloud Run and Cloud Functions. Every log line HIMAS writes is a named function
 * in src/logs.ts, so operators can grep one file for what the system says.
 */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface LogEntry {
  severity: Severity;
  /** A stable machine name, e.g. `round.closed`; log-based metrics filter on it. */
  event: string;
  message: string;
  [field: string]: unknown;
}

export interface Logger {
  write(entry: LogEntry): void;
}

/** JSON lines to a stream (stderr by default, so stdout stays free for command output). */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr, component?: string): Logger {
  return {
    write(entry) {
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), component, ...entry })}\n`);
    },
  };
}

/** Collects entries (tests) or forwards them to several loggers. */
export function teeLogger(...loggers: Logger[]): Logger {
  return { write: (entry) => loggers.forEach((logger) => logger.write(entry)) };
}

export const silentLogger: Logger = { write: () => undefined };

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { entries, write: (entry) => void entries.push(entry) };
}
