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

/** One `bench/round-anatomy.ts K --profile FILE` result: a round's operations and profile per hospital. */
export interface RoundAnatomy {
  measuredAt: string;
  commit: string;
  hospitals: number;
  roundSeconds: number;
  /** User + system CPU of the whole process (all threads) over the round. */
  windowCpuSeconds: number;
  loadAverage: [number, number];
  /** Calls per hospital of each counted operation. */
  counters: Record<string, { perHospital: number; msPerHospital: number }>;
  /** Profiled ms per hospital by cause. */
  causes: Record<string, number>;
}

export interface RoundCostFile {
  runs: Record<string, RoundCostRun>;
  /** Where the time of one round goes, per hospital, by label (bench/round-anatomy.ts). */
  anatomy?: Record<string, RoundAnatomy>;
  /** What the person who ran the sweeps observed beside the figures (same-load comparisons, caveats). */
  notes?: string[];
}

export const ROUND_COST_FILE = path.join('bench', 'results', 'round-cost.json');

const TARGETS = [
  { hospitals: 100, seconds: 1 },
  { hospitals: 1000, seconds: 10 },
];

/**
 * What changed before each run, by the label its sweep was stored under (the code, not the data:
 * kept beside the renderer). A run with no entry here changed nothing the table needs explained.
 */
const CHANGES: Record<string, string[]> = {
  after: [
    'DocumentStore (DuckDB): committed documents are served from memory (src/adapters/embedded/document-cache.ts), kept in step under the database lock and only after COMMIT; the first miss in a collection reads its ids, so absent receipts, counts and creates in it need no statement. A K = 100 workflow issued 4,803 point queries before, 0 per hospital after (one id read per collection).',
    'Writes that arrive together share one statement: concurrent creates one `INSERT … ON CONFLICT DO NOTHING RETURNING`, bus publishes one transaction, acks one `UPDATE … IN (…)` (src/adapters/embedded/write-batch.ts); each caller still resolves only once its write is committed.',
    'The embedded bus delivers up to 32 messages of a subscription at once (was 8), so the aggregation function overlaps its intake’s waits on storage.',
    'A private-key PEM is parsed once per process, and a hospital’s masking key derived once per signing key (it was parsed 3–4 times per job).',
    'Unchanged: every signature, enrolment, ledger-chain and content check still runs on every message; ledgers are still reserved before records are read; every durable write still fsyncs.',
  ],
  'before (main)': [
    'FileBlobStore: blobs up to 64 KiB are read with synchronous calls (a ledger entry: 16 µs instead of 300 µs through `fs/promises`, whose open, fstat, read, read, close each wait for libuv’s 4-thread pool); the create and every fsync stay asynchronous. A folder is made only when an open finds none (was a recursive mkdir per write). The folder fsync after a rename or link is shared by the writes waiting for it: each waits for one that started after its own rename (group commit).',
    'Privacy ledger: parsed entries are kept per blob store and reused only while the file’s fingerprint (device, inode, size, mtime, ctime in ns) is unchanged and settled for 2 s (a change inside one clock tick of the file system can leave all five unchanged), so a deleted, replaced or edited entry is read afresh and refused as before; the gap probes run on every read. Frozen shared entries remember their hash and the key their signature verified under; numbering, hospital and chain links are checked on every read. The train job uses the entries its charge returned instead of reading its ledger twice more (61 file reads per hospital before, 14 after).',
    'Run and round documents (both list every hospital) are validated once per stored text and shared frozen (`DocumentStore.getParsed`, embedded): their zod parse on every job and delivery was O(K²), 15 % of a K = 1000 round.',
    'The bus scan that follows every finished delivery reads only the pending deliveries’ scheduling facts and the bodies of those it starts (it read up to 500 bodies each time: O(K²)).',
    'In-process hospital jobs run at most 16 at once (`src/local/jobs/job-slots.ts`): peak RSS at K = 1000 4.9 GB → about 0.8 GB.',
    'Public keys are imported once per process; key files are read synchronously.',
    'Unchanged: every envelope, update and ledger signature is verified on every message at least once per stored object; every durable write still fsyncs before it is acknowledged; ledgers are charged before records are read.',
  ],
  'after (round-speed)': [
    'Local training of a Dense chain without dropout (every hospital job of the bench, and the default MLP and logistic models) runs on the fused dense kernel that DP-SGD already used (`src/core/model/fused-dense-training.ts`): the same shuffles from the seed, objective (mean cross-entropy + L2 + FedProx), gradient and Adam/SGD step as the tfjs path, tested equal to it within float32 rounding, with the weights written back into the TF.js model (the artifact). tfjs’ per-op dispatch had been about 5 ms of each job.',
    'A hospital job’s one charge builds on the ledger its reservation had just read and reconciled with the mirror (a stale view still pays: the create at a taken number fails and the ledger is re-read; attack test), and a publish after an append copies only the new entry: 3 ledger reads per train job instead of 5 (28 `stat` calls per hospital instead of 43).',
    'The embedded bus skips the scan after a delivery that succeeds when its subscription’s last scan had started everything pending (publishes, timers, failures and full pages still scan): one DuckDB statement less per delivery on the one serialized connection.',
    'awaitRoundEnd polls the round document after 0.05 s, doubling to 4 s (it first slept 1 s): a round that closes within a second of its last job is seen within tens of milliseconds.',
    'Unchanged: every envelope, update and ledger signature and chain check still runs on every message, every durable write still fsyncs before it is acknowledged, ledgers are charged before a record is read, and DP-SGD (already on the fused kernel) and its accounting are as before.',
  ],
};

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
    ...runs.flatMap(([label]) =>
      CHANGES[label]
        ? [`**Changed before the run “${label}”:**`, '', ...CHANGES[label].map((c) => `- ${c}`), '']
        : [],
    ),
  ];
  const anatomies = Object.entries(data.anatomy ?? {});
  if (anatomies.length > 0) {
    const causes = [...new Set(anatomies.flatMap(([, a]) => Object.keys(a.causes)))];
    causes.sort((x, y) => (anatomies[0][1].causes[y] ?? 0) - (anatomies[0][1].causes[x] ?? 0));
    const counted = [
      'readFile',
      'readSync',
      'open',
      'stat',
      'fsync',
      'mkdir',
      'link',
      'rename',
      'duckdb.run',
      'duckdb.query',
      'crypto.verify',
      'crypto.sign',
    ];
    lines.push(
      `**Where one round's time goes, ms per hospital** (\`node bin/run-ts.js bench/round-anatomy.ts K --profile FILE\`: the round's window, from the first training job to the first evaluation job, CPU-profiled every 0.5 ms in process, each sample charged to the first cause that matches a frame of its stack; async continuations only show the frames since their last await, so the split is approximate; the profiler's own cost is included):`,
      '',
      table(
        [
          'cause',
          ...anatomies.map(
            ([label, a]) => `${label} (${a.commit}, K = ${a.hospitals}, load ${a.loadAverage[0].toFixed(1)})`,
          ),
        ],
        [
          ...causes.map((cause) => [cause, ...anatomies.map(([, a]) => (a.causes[cause] ?? 0).toFixed(2))]),
          [
            '**round (profiled), ms per hospital**',
            ...anatomies.map(([, a]) => ((a.roundSeconds / a.hospitals) * 1000).toFixed(1)),
          ],
          [
            'CPU ms per hospital (all threads)',
            ...anatomies.map(([, a]) => ((a.windowCpuSeconds / a.hospitals) * 1000).toFixed(1)),
          ],
        ],
      ),
      '',
      'Operations per hospital in the same window (file calls sync or async; `fsync` counts the asynchronous ones of the file blob store and DuckDB statements those through `EmbeddedDatabase`):',
      '',
      table(
        ['operation', ...anatomies.map(([label]) => label)],
        counted
          .filter((op) => anatomies.some(([, a]) => a.counters[op]))
          .map((op) => [
            `\`${op}\``,
            ...anatomies.map(([, a]) => (a.counters[op]?.perHospital ?? 0).toFixed(1)),
          ]),
      ),
      '',
    );
  }
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
