import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingReportSchema, type TrainingReport } from '../../schemas/report';

const HIMAS = path.resolve(__dirname, '..', '..', 'bin', 'himas.js');

/**
 * Issue 14's acceptance criteria measured as a user would: `himas train` itself, one run per seed
 * and variant (interleaved, so load drift hits both), each read from its report.json: the report's
 * simulation-only exact scoring of the final model ("federated (exact)": with site intercepts,
 * each hospital scores with its own) against the report's central baseline (same recipe on the
 * pooled records, no noise) and its local-only models.
 */
export interface TrainCriteriaSettings {
  preset: string;
  patients: number;
  rounds: number;
  seeds: number[];
  variants: Array<{ id: string; label: string; args: string[] }>;
}

export const TRAIN_CRITERIA: TrainCriteriaSettings = {
  preset: 'archetypes',
  patients: 6000,
  rounds: 10,
  seeds: [7, 11, 12, 13, 14, 15, 99, 555, 2024, 8080, 31337],
  variants: [
    { id: 'default', label: 'defaults (one shared intercept)', args: [] },
    { id: 'site', label: '`--site-intercept`', args: ['--site-intercept'] },
  ],
};

/** One run's figures against its own report's baselines. */
export interface TrainCriteriaRun {
  seed: number;
  variant: string;
  seconds: number;
  pooledOE: number | null;
  slope: number | null;
  /** Central's pooled AUROC minus the federated model's. */
  aurocGap: number | null;
  /** max over hospitals of |ln O:E| federated − |ln O:E| central at that hospital. */
  worstExcess: number | null;
  /** Hospitals whose local-only model has the higher AUROC on their own test split. */
  localOnlyWins: number;
  hospitals: number;
  /** With site intercepts, the shared model as served centrally (pooled exact); absent or null without. */
  sharedOE?: number | null;
  sharedSlope?: number | null;
}

export interface TrainCriteriaSummary {
  variant: string;
  runs: number;
  pooledOEWithin: number;
  slopeWithin: number;
  aurocWithin: number;
  everyHospitalWithin: number;
  federatedBeatsEveryLocal: number;
  pooledOE: Spread | null;
  slope: Spread | null;
  aurocGap: Spread | null;
  worstExcess: Spread | null;
  meanLocalOnlyWins: number;
  /** The shared model's pooled O:E and slope (site-intercept rows; null elsewhere). */
  sharedOE?: Spread | null;
  sharedSlope?: Spread | null;
}

export interface Spread {
  mean: number;
  min: number;
  max: number;
}

export interface TrainCriteriaResult {
  settings: TrainCriteriaSettings;
  startedAt: string;
  seconds: number;
  loadAverage: { start: number; end: number };
  runs: TrainCriteriaRun[];
  summaries: TrainCriteriaSummary[];
}

export async function benchTrainCriteria(
  settings: TrainCriteriaSettings,
  log: (line: string) => void,
): Promise<TrainCriteriaResult> {
  const started = Date.now();
  const loadStart = os.loadavg()[0];
  const runs: TrainCriteriaRun[] = [];
  for (const seed of settings.seeds) {
    for (const variant of settings.variants) {
      const run = trainOnce(settings, seed, variant);
      runs.push(run);
      log(
        `  seed ${seed} ${variant.id}: O:E ${run.pooledOE?.toFixed(2)}, slope ${run.slope?.toFixed(2)}, AUROC gap ${run.aurocGap?.toFixed(3)}, worst excess ${run.worstExcess?.toFixed(2)}, local only wins ${run.localOnlyWins} (${run.seconds.toFixed(0)} s)`,
      );
    }
  }
  return {
    settings,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    loadAverage: { start: loadStart, end: os.loadavg()[0] },
    runs,
    summaries: settings.variants.map((v) =>
      summarise(
        v.id,
        runs.filter((r) => r.variant === v.id),
      ),
    ),
  };
}

function trainOnce(
  settings: TrainCriteriaSettings,
  seed: number,
  variant: TrainCriteriaSettings['variants'][number],
): TrainCriteriaRun {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-criteria-'));
  const started = Date.now();
  try {
    const args = [
      'train',
      '--preset',
      settings.preset,
      '--patients',
      String(settings.patients),
      '--rounds',
      String(settings.rounds),
      '--seed',
      String(seed),
      '--job-runner',
      'in-process',
      '--run-id',
      `criteria-${variant.id}-${seed}`,
      '--out',
      'out',
      ...variant.args,
    ];
    const result = spawnSync(process.execPath, [HIMAS, ...args], {
      cwd,
      env: { ...process.env, HIMAS_HOME: path.join(cwd, '.himas') },
      encoding: 'utf8',
      timeout: 900_000,
    });
    if (result.status !== 0)
      throw new Error(`himas ${args.join(' ')} exited ${result.status}:\n${result.stderr.slice(-2000)}`);
    const report = TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(cwd, 'out', 'report.json'), 'utf8')),
    );
    return { seed, variant: variant.id, seconds: (Date.now() - started) / 1000, ...criteriaOf(report) };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The criteria of one report, from its simulation baselines. */
export function criteriaOf(report: TrainingReport): Omit<TrainCriteriaRun, 'seed' | 'variant' | 'seconds'> {
  const named = (name: string) => {
    const b = report.baselines.find((x) => x.name === name);
    if (!b) throw new Error(`the report has no '${name}' baseline (a run with no model to compare?)`);
    return b.quality;
  };
  const federated = named('federated (exact)');
  const shared =
    report.baselines.find((x) => x.name === 'federated, shared intercept (exact)')?.quality ?? null;
  const central = named('central');
  const local = named('local-only');
  const hospitals = Object.keys(federated.perHospital);
  const logOE = (oe: number | null) => (oe === null || oe <= 0 ? null : Math.abs(Math.log(oe)));
  const excesses = hospitals.map((h) => {
    const f = logOE(federated.perHospital[h]?.observedExpectedRatio ?? null);
    const c = logOE(central.perHospital[h]?.observedExpectedRatio ?? null);
    return f === null || c === null ? null : f - c;
  });
  const fa = federated.pooled.auroc;
  const ca = central.pooled.auroc;
  return {
    pooledOE: federated.pooled.observedExpectedRatio,
    slope: federated.pooled.calibrationSlope,
    aurocGap: fa === null || ca === null ? null : ca - fa,
    worstExcess: excesses.some((e) => e === null) ? null : Math.max(...(excesses as number[])),
    localOnlyWins: hospitals.filter(
      (h) => (local.perHospital[h]?.auroc ?? -Infinity) > (federated.perHospital[h]?.auroc ?? Infinity),
    ).length,
    hospitals: hospitals.length,
    sharedOE: shared?.pooled.observedExpectedRatio ?? null,
    sharedSlope: shared?.pooled.calibrationSlope ?? null,
  };
}

/** Runs meeting each criterion (issue 14's ranges), and the spread of each figure. */
export function summarise(variant: string, runs: TrainCriteriaRun[]): TrainCriteriaSummary {
  const count = (ok: (r: TrainCriteriaRun) => boolean) => runs.filter(ok).length;
  const within = (v: number | null, lo: number, hi: number) => v !== null && v >= lo && v <= hi;
  return {
    variant,
    runs: runs.length,
    pooledOEWithin: count((r) => within(r.pooledOE, 0.9, 1.1)),
    slopeWithin: count((r) => within(r.slope, 0.85, 1.15)),
    aurocWithin: count((r) => r.aurocGap !== null && r.aurocGap <= 0.02),
    everyHospitalWithin: count((r) => r.worstExcess !== null && r.worstExcess <= 0.1),
    federatedBeatsEveryLocal: count((r) => r.localOnlyWins === 0),
    pooledOE: spread(runs.map((r) => r.pooledOE)),
    slope: spread(runs.map((r) => r.slope)),
    aurocGap: spread(runs.map((r) => r.aurocGap)),
    worstExcess: spread(runs.map((r) => r.worstExcess)),
    meanLocalOnlyWins: runs.length === 0 ? 0 : runs.reduce((a, r) => a + r.localOnlyWins, 0) / runs.length,
    sharedOE: spread(runs.map((r) => r.sharedOE ?? null)),
    sharedSlope: spread(runs.map((r) => r.sharedSlope ?? null)),
  };
}

function spread(values: Array<number | null>): Spread | null {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length === 0) return null;
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) };
}
