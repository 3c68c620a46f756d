import { closeSync, openSync, writeSync } from 'node:fs';
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

/**
 * JSON lines appended to a file with synchronous writes: a line logged before a crash (even
 * kill -9) is on disk, so the log of an interrupted run is complete up to the interruption.
 */
export function fileLogger(file: string, component?: string): Logger & { close(): void } {
  const fd = openSync(file, 'a');
  return {
    write(entry) {
      writeSync(fd, `${JSON.stringify({ time: new Date().toISOString(), component, ...entry })}\n`);
    },
    close: () => closeSync(fd),
  };
}

/**
 * A file logger whose file is opened only by `open()`: entries written before are kept and
 * written then. `himas train` hands it to the platform before it knows its inputs are good, and
 * creates the run folder (and this file) only once they are, so a refused command writes nothing.
 */
export function deferredFileLogger(
  file: string,
  component?: string,
): Logger & { open(): void; close(): void } {
  let target: (Logger & { close(): void }) | undefined;
  const pending: LogEntry[] = [];
  return {
    // A kept entry keeps the time it was written at.
    write: (entry) =>
      target ? target.write(entry) : void pending.push({ time: new Date().toISOString(), ...entry }),
    open() {
      target ??= fileLogger(file, component);
      for (const entry of pending.splice(0)) target.write(entry);
    },
    close: () => target?.close(),
  };
}
