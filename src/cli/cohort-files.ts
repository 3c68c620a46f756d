import { mkdir, readdir, writeFile } from 'node:fs/promises';
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
    })),
    // What an analysis must recover (treatment log-OR, injected outbreak); never read by training.
    truth: {
      ...cohort.truth,
      outbreak: cohort.truth.outbreak && { ...cohort.truth.outbreak, stayIds: undefined },
    },
  };
  await writeFile(path.join(dir, 'cohort.json'), `${JSON.stringify(manifest, null, 2)}\n`);
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
