import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ProfileSummary } from '../cpu-profile';
import { table } from './format';

/** One `bench/round-sweep.ts` run: `himas bench round` at each K, and a profile of one K. */
export interface RoundCostRun {
  measuredAt: string;
  commit: string;
  cores: number;
  sweep: Array<{
    hospitals: number;
    seconds: number;
    peakRssBytes: number;
    participants: number;
    /** 1-minute load average before and after the run (the machine is shared). */
    loadAverage: [number, number];
  }>;
  exponent: number | null;
  profile: {
    hospitals: number;
    roundSeconds: number;
    trainingSpanSeconds: number;
    closeSeconds: number;
    workflowSeconds: number;
    cpuSeconds: number;
    summary: ProfileSummary;
  } | null;
}

export interface RoundCostFile {
  runs: Record<string, RoundCostRun>;
  /** What the person who ran the sweeps observed beside the figures (same-load comparisons, caveats). */
  notes?: string[];
}

export const ROUND_COST_FILE = path.join('bench', 'results', 'round-cost.json');

const TARGETS = [
  { hospitals: 100, seconds: 1 },
  { hospitals: 1000, seconds: 10 },
];

/** What changed between "before" and "after" (the code, not the data: kept beside the renderer). */
const CHANGES = [
  'DocumentStore (DuckDB): committed documents are served from memory (src/adapters/embedded/document-cache.ts), kept in step under the database lock and only after COMMIT; the first miss in a collection reads its ids, so absent receipts, counts and creates in it need no statement. A K = 100 workflow issued 4,803 point queries before, 0 per hospital after (one id read per collection).',
  'Writes that arrive together share one statement: concurrent creates one `INSERT … ON CONFLICT DO NOTHING RETURNING`, bus publishes one transaction, acks one `UPDATE … IN (…)` (src/adapters/embedded/write-batch.ts); each caller still resolves only once its write is committed.',
  'The embedded bus delivers up to 32 messages of a subscription at once (was 8), so the aggregation function overlaps its intake’s waits on storage.',
  'A private-key PEM is parsed once per process, and a hospital’s masking key derived once per signing key (it was parsed 3–4 times per job).',
  'Unchanged: every signature, enrolment, ledger-chain and content check still runs on every message; ledgers are still reserved before records are read; every durable write still fsyncs.',
];

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export function roundCostSection(repo: string): string[] {
  const file = path.join(repo, ROUND_COST_FILE);
  if (!existsSync(file)) return [];
  const data = JSON.parse(readFileSync(file, 'utf8')) as RoundCostFile;
  const runs = Object.entries(data.runs);
  if (runs.length === 0) return [];
  const lines = [
    '## One round at K hospitals: `himas bench round` (issue #18)',
    '',
    `From [\`${ROUND_COST_FILE}\`](../${ROUND_COST_FILE}), written by \`node bin/run-ts.js bench/round-sweep.ts --label NAME\` (each K is`,
    '`himas bench round --hospitals K --json` in a fresh process: workflows/federated-training.yaml on the local engine, the real',
    'coordinator, hospital job code, aggregation function and DuckDB store, tiny local work; one round, timed from `openedAt` until the',
    'workflow moves on). The machine is shared with other sessions: the load average next to each figure says how busy it was, and a',
    'before/after pair is only comparable at a similar load.',
    '',
    table(
      [
        'run',
        'K',
        'one round s',
        'per hospital ms',
        'peak RSS',
        'participants',
        'load avg (1 min) before → after',
      ],
      runs.flatMap(([label, run]) =>
        run.sweep.map((s) => [
          `${label} (${run.commit}, ${run.measuredAt.slice(0, 16)}Z)`,
          String(s.hospitals),
          s.seconds.toFixed(2),
          ((s.seconds / s.hospitals) * 1000).toFixed(1),
          mib(s.peakRssBytes),
          String(s.participants),
          `${s.loadAverage[0].toFixed(1)} → ${s.loadAverage[1].toFixed(1)} on ${run.cores} cores`,
        ]),
      ),
    ),
    '',
    ...runs.map(
      ([label, run]) =>
        `- ${label}: one round grows as ${run.exponent === null ? '(too few K for an exponent)' : `**K^${run.exponent.toFixed(2)}**`} over K = ${run.sweep.map((s) => s.hospitals).join(', ')}; ` +
        TARGETS.map((t) => {
          const point = run.sweep.find((s) => s.hospitals === t.hospitals);
          if (!point) return `K = ${t.hospitals} not measured`;
          return `K = ${t.hospitals}: ${point.seconds.toFixed(2)} s (target < ${t.seconds} s: ${point.seconds < t.seconds ? 'met' : 'not met'})`;
        }).join('; ') +
        '.',
    ),
    '',
    ...(data.notes ?? []).map((note) => `- ${note}`),
    '',
    '**What changed between the runs:**',
    '',
    ...CHANGES.map((c) => `- ${c}`),
    '',
  ];
  for (const [label, run] of runs) {
    const p = run.profile;
    if (!p) continue;
    lines.push(
      `**Profile, ${label}** (K = ${p.hospitals}, whole one-round workflow, sampled every 1 ms in process; round ${p.roundSeconds.toFixed(2)} s, jobs ${p.trainingSpanSeconds.toFixed(2)} s, last job → closed ${p.closeSeconds.toFixed(2)} s, workflow ${p.workflowSeconds.toFixed(2)} s, ${p.cpuSeconds.toFixed(1)} CPU s incl. DuckDB’s threads):`,
      '',
      table(
        ['self time', 'component'],
        p.summary.components.slice(0, 6).map((c) => [`${(c.share * 100).toFixed(1)} %`, c.component]),
      ),
      '',
      table(
        ['self time', 'function'],
        p.summary.hottest.map((h) => [`${(h.share * 100).toFixed(1)} %`, `\`${h.fn}\``]),
      ),
      '',
    );
  }
  return lines;
}
