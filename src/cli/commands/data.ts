import * as path from 'node:path';
import { PRESETS } from '../../../schemas/training-config';
import { generateCohort, type PresetName } from '../../core/data';
import { intFlag, parseCommandArgs, stringFlag } from '../args';
import { writeCohort } from '../cohort-files';
import { parseOutbreakSpec } from '../outbreak-spec';
import type { Command } from '../main';
import { checkWritableFolder, explainWriteError } from '../output-paths';
import { UserError } from '../user-error';

const HELP = `Usage: himas data generate [--preset NAME] [--hospitals N] [--patients M] [--seed S]
                           [--outbreak H:START:WEEKS:EXTRA] --out DIR

Writes a synthetic ICU cohort calibrated to published MIMIC-IV statistics, split into hospitals:
DIR/<hospitalId>.train.csv, DIR/<hospitalId>.test.csv and DIR/cohort.json.

  --preset NAME     ${PRESETS.join(' | ')} (default archetypes)
  --hospitals N     hospitals to simulate (archetypes: 1-5, default 3; eicu-like: 2-300, default 20)
  --patients M      total ICU stays over all hospitals (default: the preset's)
  --seed S          seed; the same flags always give the same files (default 42)
  --outbreak SPEC   inject extra sepsis-like stays at one hospital (surveillance tests):
                    HOSPITAL:START_WEEK:WEEKS:EXTRA_STAYS_PER_WEEK, e.g. h2-cardiac:60:4:12
  --out DIR         output folder (required)`;

export const dataCommand: Command = {
  summary: 'generate a synthetic multi-hospital cohort (himas data generate)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(`${HELP}\n`);
      return sub ? 0 : 2;
    }
    if (sub !== 'generate')
      throw new UserError(`unknown subcommand 'data ${sub}'; did you mean \`himas data generate\`?`);
    const { values } = parseCommandArgs('data generate', rest, {
      preset: { type: 'string' },
      hospitals: { type: 'string' },
      patients: { type: 'string' },
      seed: { type: 'string' },
      outbreak: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const out = stringFlag(values, 'out');
    if (!out) throw new UserError('--out DIR is required: the folder to write the CSV files to');
    checkWritableFolder(out, 'the cohort folder');
    const preset = stringFlag(values, 'preset') ?? 'archetypes';
    if (!(PRESETS as readonly string[]).includes(preset))
      throw new UserError(`--preset '${preset}' is not one of ${PRESETS.join(', ')}`);
    const cohort = generateCohortOrExplain({
      preset: preset as PresetName,
      hospitals: intFlag('hospitals', stringFlag(values, 'hospitals'), 1, 300),
      patients: intFlag('patients', stringFlag(values, 'patients'), 200, 2_000_000),
      seed: intFlag('seed', stringFlag(values, 'seed'), 0, 4294967295),
      ...(values.outbreak === undefined
        ? {}
        : { outbreak: parseOutbreakSpec(stringFlag(values, 'outbreak')!) }),
    });
    try {
      await writeCohort(cohort, out);
    } catch (error) {
      throw explainWriteError(error, 'the cohort folder', out);
    }
    const rows = cohort.hospitals.map((h) => {
      const deaths = [...h.train, ...h.test].filter((r) => r.label_inhospital_mortality === 1).length;
      const total = h.train.length + h.test.length;
      return `  ${h.hospitalId.padEnd(22)} ${String(h.train.length).padStart(7)} ${String(h.test.length).padStart(6)} ${((100 * deaths) / total).toFixed(1).padStart(8)} %  ${h.name}`;
    });
    process.stdout.write(
      `Wrote ${cohort.hospitals.length} hospitals (${cohort.preset}, seed ${cohort.seed}) to ${path.resolve(out)}\n` +
        `  ${'hospital'.padEnd(22)} ${'train'.padStart(7)} ${'test'.padStart(6)} ${'mortality'.padStart(10)}\n${rows.join('\n')}\n`,
    );
    return 0;
  },
};

/** The generator's own option errors are user errors. */
export function generateCohortOrExplain(options: Parameters<typeof generateCohort>[0]) {
  try {
    return generateCohort(options);
  } catch (error) {
    if ((error as Error).name === 'CohortOptionsError') throw new UserError((error as Error).message);
    throw error;
  }
}
