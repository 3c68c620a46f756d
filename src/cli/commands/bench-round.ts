import * as tf from '@tensorflow/tfjs';
import {
  hiddenUnitsForParams,
  runEmbeddedScenario,
  TINY_CONFIG,
  TINY_PATIENTS,
} from '../../../bench/suites/orchestration';
import { referencePreprocessor } from '../../core/data/preprocessing';
import { intFlag, parseCommandArgs, stringFlag } from '../args';
import { exitCode } from '../exit-codes';
import { UserError } from '../user-error';

export const BENCH_ROUND_HELP = `Usage: himas bench round --hospitals K [--params P] [--json]

Times one federated round on the embedded stack: workflows/federated-training.yaml on the local
workflow engine, the real coordinator, hospital job code (run in this process, 16 jobs at a time), aggregation
function, DuckDB document store and event bus, on a fresh temporary store that is removed after.
Tiny local work: every hospital reads the same ${TINY_PATIENTS} synthetic stays and trains one epoch, so
the round is almost all orchestration. Prints the round's seconds (round opened → the workflow
moves on after it closed) and this process's peak RSS; --json prints only
{"seconds", "peakRssBytes", "participants"}. The K sweep: npm run bench -- --only orchestration.

  --hospitals K   hospitals in the round, 1-${10_000}
  --params P      model parameters (one hidden layer sized to come closest; default the tiny
                  ${TINY_CONFIG.hiddenUnits.join('→')}-unit MLP)
  --json          machine-readable output

Exit status: 0 when the round closed with every hospital's update, ${exitCode('failed')} when it did not.`;

/** The config schema's limit on one layer's width. */
const MAX_HIDDEN_UNITS = 4096;

export async function benchRound(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('bench round', argv, {
    hospitals: { type: 'string' },
    params: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${BENCH_ROUND_HELP}\n`);
    return exitCode('ok');
  }
  const hospitals = intFlag('hospitals', stringFlag(values, 'hospitals'), 1, 10_000);
  if (hospitals === undefined)
    throw new UserError('--hospitals K is required: how many hospitals take part in the round');
  const inputDim = referencePreprocessor().featureNames.length;
  const minParams = inputDim + 3;
  const maxParams = MAX_HIDDEN_UNITS * (inputDim + 2) + 1;
  const params = intFlag('params', stringFlag(values, 'params'), minParams, maxParams);
  const hiddenUnits =
    params === undefined ? [...TINY_CONFIG.hiddenUnits] : [hiddenUnitsForParams(params, inputDim)];
  const modelParams = hiddenUnits[0] * (inputDim + 2) + 1;

  // The scenario trains on the plain-JS cpu backend, whose first use prints a "use tfjs-node" banner
  // on stderr; PROD only silences tfjs's warnings (this process runs nothing but the bench).
  tf.env().set('PROD', true);
  const scenario = await runEmbeddedScenario(hospitals, 1, false, hiddenUnits);
  const round = scenario.roundTimings[0];
  const result = {
    seconds: round.cycleSeconds,
    peakRssBytes: scenario.peakRssBytes,
    participants: round.participants,
  };
  const closedWithEveryone = round.participants === hospitals;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(
      `one round, K = ${hospitals} hospitals, P = ${modelParams} parameters (${hiddenUnits.join('→')} hidden units):\n` +
        `  ${result.seconds.toFixed(3)} s (${((result.seconds / hospitals) * 1000).toFixed(1)} ms per hospital)` +
        `, training jobs ${round.trainingSpanSeconds.toFixed(3)} s, closing ${round.closeSeconds.toFixed(3)} s\n` +
        `  peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB; the round closed with ${round.participants} of ${hospitals} updates\n`,
    );
  }
  if (!closedWithEveryone) {
    process.stderr.write(
      `himas: error: the round closed with ${round.participants} of ${hospitals} updates; the timing is not of a full round\n`,
    );
    return exitCode('failed');
  }
  return exitCode('ok');
}
