// node bin/run-ts.js bench/round-anatomy.ts K [--profile FILE.cpuprofile]
//
// Where one round's time goes, per hospital: runs `himas bench round`'s scenario (one round, K
// hospitals, tiny local work) with counters on the operations a round is made of — fsyncs, file
// opens and reads, DuckDB statements, Ed25519 signs and verifies — counted from the first training
// job's start to the first evaluation job's start (the round's window), and optionally a CPU profile
// of that window only. Prints one JSON line. The counters wrap the real functions (no behaviour
// changes); their own cost is a few µs per call.
import { writeFileSync } from 'node:fs';
import { EmbeddedDatabase } from '../src/adapters/embedded/embedded-database';
import { InProcessJobRunner } from '../src/local/jobs/in-process-job-runner';
import { runEmbeddedScenario } from './suites/orchestration';
import { summarizeProfile, type CpuProfile } from './cpu-profile';

interface Counter {
  calls: number;
  ms: number;
}

const counters = new Map<string, Counter>();
let counting = false;

function note(name: string, ms: number): void {
  if (!counting) return;
  const c = counters.get(name) ?? { calls: 0, ms: 0 };
  c.calls += 1;
  c.ms += ms;
  counters.set(name, c);
}

/** Replaces `target[key]` with a wrapper that counts calls and their wall time (async-aware). */
function wrap(target: object, key: string, name: string): void {
  const holder = target as Record<string, (...args: unknown[]) => unknown>;
  const original = holder[key];
  if (typeof original !== 'function') throw new Error(`${name}: not a function`);
  holder[key] = function (this: unknown, ...args: unknown[]) {
    const start = performance.now();
    const result = original.apply(this, args);
    if (result instanceof Promise) return result.finally(() => note(name, performance.now() - start));
    note(name, performance.now() - start);
    return result;
  };
}

async function instrument(): Promise<void> {
  // The modules themselves (an `import * as` namespace has getters only).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
  const fs = require('node:fs') as typeof import('node:fs');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // A FileHandle's prototype is only reachable through a handle.
  const handle = await fsp.open(__filename, 'r');
  const fileHandle = Object.getPrototypeOf(handle) as object;
  await handle.close();
  wrap(fileHandle, 'sync', 'fsync');
  wrap(fileHandle, 'datasync', 'fdatasync');
  wrap(fileHandle, 'writeFile', 'write');
  wrap(fsp, 'open', 'open');
  wrap(fsp, 'readFile', 'readFile');
  wrap(fsp, 'stat', 'stat');
  wrap(fsp, 'mkdir', 'mkdir');
  wrap(fsp, 'rename', 'rename');
  wrap(fsp, 'link', 'link');
  wrap(fsp, 'rm', 'rm');
  wrap(fsp, 'readdir', 'readdir');
  wrap(fs, 'fsyncSync', 'fsyncSync');
  wrap(fs, 'fsync', 'fsync');
  wrap(fs, 'openSync', 'open');
  wrap(fs, 'open', 'open');
  wrap(fs, 'readSync', 'readSync');
  wrap(fs, 'statSync', 'stat');
  wrap(crypto, 'verify', 'crypto.verify');
  wrap(crypto, 'sign', 'crypto.sign');
  wrap(crypto, 'createPrivateKey', 'crypto.createPrivateKey');
  wrap(crypto, 'createPublicKey', 'crypto.createPublicKey');
  const db = EmbeddedDatabase.prototype as unknown as Record<string, unknown>;
  wrap(db, 'runStatement', 'duckdb.run');
  wrap(db, 'queryStatement', 'duckdb.query');
  wrap(db, 'transaction', 'duckdb.transaction');
}

/**
 * Causes a sample of the round is charged to: the first rule (in this order) that matches any
 * frame of its stack. Async continuations show only the frames since their last await, so this is
 * an approximation; it is the same approximation for every commit it is run on.
 */
const CAUSES: Array<{ cause: string; frame: RegExp }> = [
  { cause: 'local training (tfjs)', frame: /^runTrainingLoop / },
  { cause: 'model load (tfjs deserialise)', frame: /^(loadHimasModel|deserializeModel) / },
  {
    cause: 'privacy ledger (read, verify, append, mirror)',
    frame: /(blob-hospital-ledger-store|hospital-ledger|ledger-signing|published-ledgers)\.ts/,
  },
  {
    cause: 'update and envelope signatures',
    frame: /(update-signing|hospital-event-signing|update-authenticity)\.ts/,
  },
  {
    cause: 'blob writes (file, fsync, rename)',
    frame: /^(put|create|putFile|createFile|writeDurably) .*file-blob-store/,
  },
  { cause: 'blob reads', frame: /file-blob-store\.ts/ },
  {
    cause: 'documents (DuckDB, cache, parse)',
    frame: /(embedded-document-store|document-cache|run-documents|embedded-database)\.ts/,
  },
  { cause: 'event bus', frame: /(embedded-event-bus|write-batch|delivery-selection)\.ts/ },
  { cause: 'workflow engine', frame: /src\/local\/workflows\// },
  { cause: 'garbage collection', frame: /^\(garbage collector\) / },
  { cause: 'idle (waiting for I/O or DuckDB)', frame: /^\(idle\) / },
];

interface ProfileNodeWithChildren {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Milliseconds of the windowed profile per cause (and "other"), divided by K. */
function causesPerHospital(profile: CpuProfile, hospitals: number): Record<string, number> {
  const nodes = new Map<number, ProfileNodeWithChildren>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes as ProfileNodeWithChildren[]) {
    nodes.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const causeOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = causeOf.get(id);
    if (known !== undefined) return known;
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = nodes.get(at)!.callFrame;
      frames.push(`${f.functionName || '(anonymous)'} ${f.url}`);
    }
    const cause = CAUSES.find((c) => frames.some((f) => c.frame.test(f)))?.cause ?? 'other (node, zod, V8)';
    causeOf.set(id, cause);
    return cause;
  };
  const ms: Record<string, number> = {};
  profile.samples.forEach((id, i) => {
    const cause = classify(id);
    ms[cause] = (ms[cause] ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000;
  });
  return Object.fromEntries(
    Object.entries(ms)
      .sort((a, b) => b[1] - a[1])
      .map(([cause, total]) => [cause, +(total / hospitals).toFixed(2)]),
  );
}

async function main(): Promise<void> {
  const hospitals = Number(process.argv[2]);
  if (!Number.isInteger(hospitals) || hospitals < 1)
    throw new Error('usage: round-anatomy.ts K [--profile FILE]');
  const profileAt = process.argv.indexOf('--profile');
  const profileFile = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;
  await instrument();
  // The round's window: from the first training job to the first evaluation job.
  let windowStart = 0n;
  let windowEnd = 0n;
  let cpuAtStart = process.cpuUsage();
  let windowCpu = { user: 0, system: 0 };
  const run = InProcessJobRunner.prototype.run;
  InProcessJobRunner.prototype.run = function (request) {
    const mode = request.env.HIMAS_JOB_MODE;
    if (mode === 'train' && windowStart === 0n) {
      windowStart = process.hrtime.bigint();
      cpuAtStart = process.cpuUsage();
      counting = true;
    }
    if (mode === 'evaluate' && windowEnd === 0n) {
      windowEnd = process.hrtime.bigint();
      windowCpu = process.cpuUsage(cpuAtStart);
      counting = false;
    }
    return run.call(this, request);
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inspector = require('node:inspector') as typeof import('node:inspector');
  const session = new inspector.Session();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
    );
  if (profileFile) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
  }
  const cpuBefore = process.cpuUsage();
  const result = await runEmbeddedScenario(hospitals, 1, false);
  const cpu = process.cpuUsage(cpuBefore);
  let profile;
  let causes;
  if (profileFile) {
    const { profile: full } = (await post('Profiler.stop')) as {
      profile: CpuProfile & { startTime: number };
    };
    session.disconnect();
    // Keep only the round's samples (profile times are µs on the same monotonic clock as hrtime).
    const from = Number(windowStart / 1000n);
    const to = Number(windowEnd / 1000n);
    let t = full.startTime;
    const keep = full.samples.map((_, i) => {
      t += full.timeDeltas[i];
      return t >= from && t <= to;
    });
    const windowed = {
      ...full,
      samples: full.samples.filter((_, i) => keep[i]),
      timeDeltas: full.timeDeltas.filter((_, i) => keep[i]),
    };
    writeFileSync(profileFile, JSON.stringify(full));
    profile = summarizeProfile(windowed, 25);
    causes = causesPerHospital(windowed, hospitals);
  }
  const perHospital = Object.fromEntries(
    [...counters]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([name, c]) => [
        name,
        { perHospital: +(c.calls / hospitals).toFixed(2), msPerHospital: +(c.ms / hospitals).toFixed(3) },
      ]),
  );
  process.stdout.write(
    `${JSON.stringify({
      hospitals,
      roundSeconds: result.roundTimings[0].cycleSeconds,
      windowSeconds: Number(windowEnd - windowStart) / 1e9,
      windowMicros: [Number(windowStart / 1000n), Number(windowEnd / 1000n)],
      timing: result.roundTimings[0],
      peakRssBytes: result.peakRssBytes,
      /** User + system CPU seconds of the whole process (DuckDB's and libuv's threads too) in the window. */
      windowCpuSeconds: (windowCpu.user + windowCpu.system) / 1e6,
      cpuSecondsWholeRun: (cpu.user + cpu.system) / 1e6,
      counters: perHospital,
      /** Profiled ms per hospital by cause (sampled every 0.5 ms, the profiler's own cost included). */
      causes,
      profile,
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
