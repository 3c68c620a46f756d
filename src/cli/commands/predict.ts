import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseCohortCsv, transformRecords } from '../../core/data';
import { initializeBackend, predictProbabilities } from '../../core/model';
import { loadHimasModel } from '../../services/model-artifacts';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { UserError } from '../user-error';
import { defaultHome } from '../run-locations';
import { predictOneStay, refuseIfHalted } from './predict-stay';
import { dataSufficiency } from '../../core/agents/data-sufficiency';
import { screenFeatures } from '../../core/agents/stay-input';
import { checkOutputFile, writeOutputFile } from '../output-paths';
import { useHospitalOwnIntercept } from '../hospital-own-model';

const HELP = `Usage: himas predict --model DIR --input CSV --out CSV [--hospital ID]
       himas predict --model DIR --stay JSON_FILE|- [--hospital ID] [--json]
       himas predict --run RUN_ID --stay JSON_FILE|- [--home DIR] [--json]

Batch: scores ICU stays with a HIMAS model folder (model.json + weights.bin, e.g. runs/<id>/model).
The input needs stay_id, the first-24-hour feature columns and first_careunit (empty cells are
missing values); the label column is optional. Writes stay_id,risk,note in the input's row order:
implausible values are treated as missing and named in the note, and a stay with too little data
(fewer than 6 of the 11 SAPS II inputs, or no heart rate or blood pressure) gets no risk.

One stay (clinical decision support, the same code as the clinicalDecisionSupport function): a JSON
object with first_careunit and the feature columns (null or absent = not measured), from a file or
stdin (-). Prints risk, risk band, implausible values (flagged and treated as missing), the top
contributing features (gradient × input on the logit), the model version, its privacy guarantee and
a narrative citing guideline passages. --run serves the run's newest version the privacy guardian
did not halt, from the store. Both ways, --model refuses a folder whose version the store (--home)
knows as halted by the privacy guardian.

--hospital ID (with --model, after \`himas train --site-intercept\`): scores as that hospital
serves its own model, the shared weights with its own intercept from its state folder in the
store (--home). Without it, such a run's shared model ranks stays but its risks are not calibrated.`;

export const predictCommand: Command = {
  summary: 'score ICU stays with a trained model (himas predict)',
  async run(argv) {
    const { values } = parseCommandArgs('predict', argv, {
      model: { type: 'string' },
      run: { type: 'string' },
      stay: { type: 'string' },
      home: { type: 'string' },
      json: { type: 'boolean' },
      input: { type: 'string' },
      out: { type: 'string' },
      hospital: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const modelDir = stringFlag(values, 'model');
    const stay = stringFlag(values, 'stay');
    const runId = stringFlag(values, 'run');
    const input = stringFlag(values, 'input');
    const out = stringFlag(values, 'out');
    const hospital = stringFlag(values, 'hospital');
    if (hospital !== undefined && modelDir === undefined)
      throw new UserError(
        "--hospital scores with a hospital's own intercept on a model folder: pass --model DIR (e.g. runs/<run id>/model)",
      );
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    const batch = input !== undefined || out !== undefined;
    if (stay !== undefined && batch)
      throw new UserError(
        '--stay scores one stay and --input/--out score a CSV file: pass one or the other; see `himas predict --help`',
      );
    if (runId !== undefined && batch)
      throw new UserError(
        "--run serves one stay (--stay); to score a CSV, pass the run folder's model: --model runs/<run id>/model",
      );
    if (stay !== undefined || runId !== undefined) {
      return predictOneStay({ stay, modelDir, runId, home, hospital, json: values.json === true });
    }
    const missing = [!modelDir && '--model DIR', !input && '--input CSV', !out && '--out CSV'].filter(
      Boolean,
    );
    if (missing.length > 0)
      throw new UserError(`missing ${missing.join(', ')}; see \`himas predict --help\``);

    checkOutputFile(out!, 'the scores');
    const { modelJson, weights } = await readModelFolder(modelDir!);
    if (!existsSync(input!)) throw new UserError(`input file ${input} does not exist`);
    let records;
    try {
      records = parseCohortCsv(await readFile(input!, 'utf8'), path.basename(input!), {
        requireLabel: false,
      });
    } catch (error) {
      if ((error as Error).name === 'CohortFormatError') throw new UserError((error as Error).message);
      throw error;
    }
    await initializeBackend('auto');
    let loaded;
    try {
      loaded = await loadHimasModel({ modelJson, weights });
    } catch (error) {
      throw new UserError(
        `model folder ${modelDir} is not a usable HIMAS model: ${(error as Error).message}`,
      );
    }
    try {
      // The same verdict as for one stay: a version the store knows as halted is never served.
      await refuseIfHalted(home, loaded.metadata, modelDir!);
      if (hospital !== undefined)
        await useHospitalOwnIntercept(
          home,
          loaded.metadata,
          hospital,
          loaded.model,
          `model folder ${modelDir}`,
        );
      // The same screening and the same "insufficient data" rule as for one stay (--stay).
      const screened = records.map((r) => {
        const { features, flags } = screenFeatures(r.features);
        return { record: { ...r, features }, flags, sufficiency: dataSufficiency(features) };
      });
      const design = transformRecords(
        loaded.preprocessor,
        screened.map((s) => s.record),
      );
      const risks = predictProbabilities(loaded.model, design.features, design.rows, design.cols);
      const lines = [
        'stay_id,risk,note',
        ...screened.map(({ record, flags, sufficiency }, i) => {
          const notes = [
            ...(sufficiency.sufficient ? [] : [`insufficient data: ${sufficiency.reason}`]),
            ...flags.map((f) => f.message),
          ];
          const risk = sufficiency.sufficient ? risks[i].toFixed(6) : '';
          return `${csvCell(record.stay_id)},${risk},${csvCell(notes.join('; '))}`;
        }),
      ];
      await writeOutputFile(out!, `${lines.join('\n')}\n`, 'the scores');
      const insufficient = screened.filter((s) => !s.sufficiency.sufficient).length;
      const flagged = screened.filter((s) => s.flags.length > 0).length;
      process.stderr.write(
        `Scored ${records.length - insufficient} of ${records.length} stays with ${loaded.metadata.versionId ?? 'the model'} → ${out}` +
          (insufficient > 0 ? `; ${insufficient} with insufficient data got no risk` : '') +
          (flagged > 0 ? `; ${flagged} had implausible values, treated as missing` : '') +
          ' (see the note column)\n',
      );
      return 0;
    } finally {
      loaded.model.dispose();
    }
  },
};

export async function readModelFolder(
  dir: string,
): Promise<{ modelJson: Record<string, unknown>; weights: Uint8Array }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`model directory ${dir} does not exist`);
  const jsonPath = path.join(dir, 'model.json');
  const weightsPath = path.join(dir, 'weights.bin');
  if (!existsSync(jsonPath)) throw new UserError(`model directory ${dir} has no model.json`);
  if (!existsSync(weightsPath)) throw new UserError(`model directory ${dir} has no weights.bin`);
  let modelJson: Record<string, unknown>;
  try {
    modelJson = JSON.parse(await readFile(jsonPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${jsonPath} is not valid JSON: ${(error as Error).message}`);
  }
  return { modelJson, weights: new Uint8Array(await readFile(weightsPath)) };
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
