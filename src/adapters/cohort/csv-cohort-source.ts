import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseCohortCsv, type CohortRecord } from '../../core/data';
import type { CohortSource } from '../../ports/cohort-source';

/**
 * A hospital's cohort from `<dir>/<hospitalId>.train.csv` and `.test.csv` (what `himas data
 * generate` writes, or a user's own extract with the same columns).
 */
export class CsvCohortSource implements CohortSource {
  constructor(private readonly dir: string) {}

  async read(hospitalId: string, split: 'train' | 'test'): Promise<CohortRecord[]> {
    const file = cohortFile(this.dir, hospitalId, split);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(`cannot read the ${split} cohort of ${hospitalId}: ${file} (${code ?? String(error)})`);
    }
    return parseCohortCsv(text, path.basename(file));
  }

  describe() {
    return { kind: 'csv' as const, location: path.resolve(this.dir) };
  }
}

export const cohortFile = (dir: string, hospitalId: string, split: 'train' | 'test'): string =>
  path.join(dir, `${hospitalId}.${split}.csv`);
