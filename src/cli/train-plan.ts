import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { RunIdSchema } from '../../schemas/events';
import { secureAggregationProblem, type TrainingConfig } from '../../schemas/training-config';
import { CsvCohortSource } from '../adapters/cohort/csv-cohort-source';
import type { SyntheticCohort } from '../core/data';
import { hospitalLevelGuarantee, roundPrivacyEvent } from '../services/privacy-guarantee';
import { declaredCohortSizes, discoverHospitals, roughly, writeCohort } from './cohort-files';
import { generateCohortOrExplain } from './commands/data';
import { checkWritableFolder } from './output-paths';
import { parseOutbreakSpec } from './outbreak-spec';
import { UserError } from './user-error';

/**
 * Everything `himas train` can check before it writes a byte or spends any ε: the run id, the
 * data (a folder's files, or the cohort it will generate, in memory), the settings that depend on
 * the number of hospitals, and the places it will write. Only once all of it holds does the run
 * take the store and write its folder.
 */
export type DataPlan = (
  | { kind: 'folder'; dataDir: string; hospitals: string[] }
  | { kind: 'generated'; dataDir: string; hospitals: string[]; cohort: SyntheticCohort }
) & {
  /** Each hospital's declared (public) training stays: what DP-SGD plans with (cohort-files.ts). */
  declaredTrainStays: Record<string, number>;
  /** Said to the user when the CLI declared sizes from the files. */
  notes: string[];
};

/** Run ids name folders, blob prefixes and documents: the event schema's identifier, nothing else. */
export function checkRunId(runId: string, flag: string): void {
  const parsed = RunIdSchema.safeParse(runId);
  if (!parsed.success)
    throw new UserError(
      `${flag} '${runId}' is not a run id: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit (no spaces or '/'), e.g. icu-2026-q1`,
    );
}

export async function planData(
  config: TrainingConfig,
  data: string | undefined,
  outDir: string,
): Promise<DataPlan> {
  if (data && config.outbreak !== undefined)
    throw new UserError(
      `--outbreak injects into the synthetic cohort HIMAS generates; drop --data, or make the folder with \`himas data generate --outbreak ...\``,
    );
  const plan = data ? await planFolder(config, path.resolve(data)) : planGenerated(config, outDir);
  checkHospitalCount(config, plan.hospitals);
  checkHospitalBudget(config, plan.hospitals.length);
  return plan;
}

/**
 * The settings that depend on how many hospitals the run has, checked once the hospitals are
 * known and before any of their records is read: a quorum no round could meet, and secure
 * aggregation that would unmask a sum of too few hospitals (docs/architecture.md §5).
 */
function checkHospitalCount(config: TrainingConfig, hospitals: string[]): void {
  if (config.quorum !== undefined && config.quorum > hospitals.length)
    throw new UserError(
      `--quorum ${config.quorum} is more than the ${hospitals.length} hospitals of this run (${hospitals.join(', ')}): no round could close; use at most ${hospitals.length}`,
    );
  const masking = secureAggregationProblem(config, hospitals.length);
  if (masking !== null) throw new UserError(`refused before reading any data: ${masking.message}`);
}

async function planFolder(config: TrainingConfig, dataDir: string): Promise<DataPlan> {
  const all = await discoverHospitals(dataDir);
  if (config.hospitals !== undefined && config.hospitals > all.length) {
    throw new UserError(
      `--hospitals ${config.hospitals} but ${dataDir} holds only ${all.length}: ${all.join(', ')}`,
    );
  }
  const hospitals = all.slice(0, config.hospitals ?? all.length);
  checkHospitalCount(config, hospitals);
  await checkCohortFiles(dataDir, hospitals);
  const cohorts = new CsvCohortSource(dataDir);
  const declared = await declaredCohortSizes(
    dataDir,
    hospitals,
    async (h) => (await cohorts.read(h, 'train')).length,
  );
  return { kind: 'folder', dataDir, hospitals, declaredTrainStays: declared.sizes, notes: declared.notes };
}

function planGenerated(config: TrainingConfig, outDir: string): DataPlan {
  const cohort = generateCohortOrExplain({
    preset: config.preset,
    hospitals: config.hospitals,
    patients: config.patients,
    seed: config.seed,
    ...(config.outbreak === undefined ? {} : { outbreak: parseOutbreakSpec(config.outbreak) }),
  });
  return {
    kind: 'generated',
    dataDir: path.join(outDir, 'data'),
    hospitals: cohort.hospitals.map((h) => h.hospitalId),
    cohort,
    // The simulation's public declaration: each split's size to two significant digits.
    declaredTrainStays: Object.fromEntries(
      cohort.hospitals.map((h) => [h.hospitalId, roughly(h.train.length)]),
    ),
    notes: [],
  };
}

/**
 * Reads every hospital's CSVs once before anything starts, so a malformed file is one clear error
 * now rather than a failed hospital job in the middle of a run. (Only simulation data is local.)
 */
async function checkCohortFiles(dataDir: string, hospitals: string[]): Promise<void> {
  const cohorts = new CsvCohortSource(dataDir);
  for (const hospitalId of hospitals) {
    for (const split of ['train', 'test'] as const) {
      try {
        await cohorts.read(hospitalId, split);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
    }
  }
}

/**
 * A hospital-level budget that cannot pay for a single round would let every hospital train (and
 * spend its patients' ε) for a round the aggregator must then refuse: refuse the settings instead.
 */
export function checkHospitalBudget(config: TrainingConfig, hospitals: number): void {
  if (config.epsilonBudget === null) return;
  const oneRound = hospitalLevelGuarantee(
    config,
    [roundPrivacyEvent(config, hospitals, hospitals)],
    1,
  ).epsilon;
  if (oneRound !== null && oneRound <= config.epsilonBudget) return;
  throw new UserError(
    `--epsilon-budget ${config.epsilonBudget} cannot pay for one round: a round with noise multiplier ${config.noiseMultiplier} costs hospital-level ε = ${oneRound === null ? '∞' : oneRound.toFixed(3)} (δ = ${config.delta}); raise --noise-multiplier (\`himas privacy plan --target-epsilon ${config.epsilonBudget} --delta ${config.delta} --sampling-rate 1 --steps ${config.rounds}\` gives the one for all ${config.rounds} rounds) or the budget`,
  );
}

/** How many of the run's rounds its hospital-level budget pays for (all when there is no budget). */
export function roundsWithinBudget(config: TrainingConfig, hospitals: number): number {
  if (config.epsilonBudget === null) return config.rounds;
  const event = roundPrivacyEvent(config, hospitals, hospitals);
  for (let rounds = 1; rounds <= config.rounds; rounds++) {
    const epsilon = hospitalLevelGuarantee(
      config,
      Array.from({ length: rounds }, () => event),
      1,
    ).epsilon;
    if (epsilon === null || epsilon > config.epsilonBudget) return rounds - 1;
  }
  return config.rounds;
}

/**
 * The run folder must be writable, and must not hold another run's report unless --force says to
 * replace it (a resumed run writes over its own).
 */
export function checkRunFolder(outDir: string, options: { force: boolean; resume: boolean }): void {
  checkWritableFolder(outDir, 'the run folder');
  if (!options.resume && !options.force && existsSync(path.join(outDir, 'report.json')))
    throw new UserError(
      `${path.join(outDir, 'report.json')} already holds a run's report; choose another --out, or pass --force to replace it`,
    );
}

export async function writePlannedData(plan: DataPlan, say: (line: string) => void): Promise<void> {
  for (const note of plan.notes) say(`  ${note}`);
  if (plan.kind !== 'generated') return;
  const { cohort, dataDir } = plan;
  await writeCohort(cohort, dataDir);
  say(`Generated a synthetic cohort (${cohort.preset}, seed ${cohort.seed}) in ${dataDir}`);
  if (cohort.truth.outbreak)
    say(
      `  with an injected outbreak: ${cohort.truth.outbreak.injectedStays} extra sepsis-like stays at ${cohort.truth.outbreak.hospitalId} in weeks ${cohort.truth.outbreak.startWeek}–${cohort.truth.outbreak.startWeek + cohort.truth.outbreak.weeks - 1}`,
    );
}
