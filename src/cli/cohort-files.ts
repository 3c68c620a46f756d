import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { cohortToCsv, withEncounters, type SyntheticCohort } from '../core/data';
import { cohortFile } from '../adapters/cohort/csv-cohort-source';
import { UserError } from './user-error';

/** Writes `<dir>/<hospital>.train.csv` and `.test.csv` per hospital, plus `cohort.json` describing them. */
export async function writeCohort(cohort: SyntheticCohort, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const hospital of cohort.hospitals) {
    // With admission dates and day-1 vasopressors: the surveillance and treatment releases need them.
    const csv = (records: typeof hospital.train) => cohortToCsv(withEncounters(records, hospital.encounters));
    await writeFile(cohortFile(dir, hospital.hospitalId, 'train'), csv(hospital.train));
    await writeFile(cohortFile(dir, hospital.hospitalId, 'test'), csv(hospital.test));
  }
  const manifest = {
    // Cite only what the repository holds: a reader of cohort.json can open it.
    generator:
      'himas synthetic cohort, calibrated to published MIMIC-IV and eICU statistics (src/core/data/README.md, src/core/data/feature-model.ts)',
    preset: cohort.preset,
    seed: cohort.seed,
    hospitals: cohort.hospitals.map((h) => ({
      hospitalId: h.hospitalId,
      name: h.name,
      description: h.description,
      trainStays: h.train.length,
      testStays: h.test.length,
      // The public size a hospital declares (approximate, as a real one would): what DP-SGD plans with.
      declaredTrainStays: roughly(h.train.length),
    })),
    // What an analysis must recover (treatment log-OR, injected outbreak); never read by training.
    truth: {
      ...cohort.truth,
      outbreak: cohort.truth.outbreak && { ...cohort.truth.outbreak, stayIds: undefined },
    },
  };
  await writeFile(path.join(dir, 'cohort.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A count to two significant digits: "about 1,500", the precision a hospital would declare publicly. */
export function roughly(count: number): number {
  if (count < 100) return Math.max(1, Math.round(count / 10) * 10 || count);
  const magnitude = 10 ** (Math.floor(Math.log10(count)) - 1);
  return Math.round(count / magnitude) * magnitude;
}

/**
 * Each hospital's declared (public) number of training stays for a local cohort folder: from
 * cohort.json's `declaredTrainStays` when it has one, else — the CLI acting as the operator of
 * local hospitals — their training files' row counts to two significant digits, said in `notes`.
 */
export async function declaredCohortSizes(
  dir: string,
  hospitals: readonly string[],
  countTrainRows: (hospitalId: string) => Promise<number>,
): Promise<{ sizes: Record<string, number>; notes: string[] }> {
  let manifest: { hospitals?: Array<{ hospitalId?: unknown; declaredTrainStays?: unknown }> } = {};
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'cohort.json'), 'utf8'));
  } catch {
    // No manifest: the sizes are declared from the files below.
  }
  const sizes: Record<string, number> = {};
  const counted: string[] = [];
  for (const hospitalId of hospitals) {
    const declared = manifest.hospitals?.find((h) => h.hospitalId === hospitalId)?.declaredTrainStays;
    if (typeof declared === 'number' && Number.isInteger(declared) && declared >= 1)
      sizes[hospitalId] = declared;
    else {
      sizes[hospitalId] = roughly(await countTrainRows(hospitalId));
      counted.push(`${hospitalId} ≈ ${sizes[hospitalId]}`);
    }
  }
  const notes =
    counted.length === 0
      ? []
      : [
          `declared cohort sizes (public, used to plan DP-SGD): ${counted.join(', ')} — from the training files, to two significant digits; set "declaredTrainStays" per hospital in ${path.join(dir, 'cohort.json')} to declare your own`,
        ];
  return { sizes, notes };
}

/** The hospitals of a cohort folder: every `<id>.train.csv` that has its `<id>.test.csv`. */
export async function discoverHospitals(dir: string): Promise<string[]> {
  if (!existsSync(dir)) throw new UserError(`data folder ${dir} does not exist`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new UserError(`cannot read data folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const hospitals = names
    .filter((n) => n.endsWith('.train.csv'))
    .map((n) => n.slice(0, -'.train.csv'.length))
    .sort();
  if (hospitals.length === 0) {
    throw new UserError(
      `data folder ${dir} has no <hospital>.train.csv files (make some with \`himas data generate --out ${dir}\`)`,
    );
  }
  const withoutTest = hospitals.filter((h) => !names.includes(`${h}.test.csv`));
  if (withoutTest.length > 0) {
    throw new UserError(
      `data folder ${dir}: ${withoutTest.map((h) => `${h}.test.csv`).join(', ')} missing (each hospital needs a train and a test file)`,
    );
  }
  const badIds = hospitals.filter((h) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(h));
  if (badIds.length > 0)
    throw new UserError(
      `data folder ${dir}: hospital id(s) ${badIds.join(', ')} must be letters, digits, '.', '_' or '-'`,
    );
  return hospitals;
}
