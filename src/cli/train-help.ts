import { DP_SGD_RECIPE, NON_PRIVATE_RECIPE } from '../../schemas/training-config';
import { CONFIG_FIELDS, envName, flagName } from '../config/training-config-loader';
import { TRAINING_SETTINGS_HELP } from '../config/training-settings-help';
import { exitCodeLines } from './exit-codes';

/** Flags of `himas train` itself (not training settings): name with its value, meaning, default. */
const COMMAND_FLAGS: [flag: string, meaning: string][] = [
  [
    '--data DIR',
    'folder with <hospital>.train.csv and <hospital>.test.csv (himas data generate); default: generate the synthetic cohort into RUN_DIR/data',
  ],
  ['--out RUN_DIR', 'where report.json, report.html, run.log.jsonl and model/ go (default runs/<run id>)'],
  ['--force', 'replace the report of another run already in --out (default: refuse)'],
  ['--json', 'print only the report as JSON on stdout; progress stays on stderr (default: a summary)'],
  [
    '--resume RUN_ID',
    'continue a run that was interrupted; nothing is counted twice (a finished run is only reported)',
  ],
  ['--config FILE', 'a JSON or YAML file of training settings; flags and HIMAS_* variables win over it'],
  ['--run-id ID', "name the run: letters, digits, '.', '_', '-' (default run-<date>-<time>-<random>)"],
  ['--home DIR', 'the embedded store (default .himas, or $HIMAS_HOME)'],
  ['--job-runner KIND', 'process: one process per hospital job, as in Cloud Run (default) | in-process'],
  [
    '--stack KIND',
    "embedded (default) | emulators: the Google Cloud adapters on the gcloud Pub/Sub and Firestore emulators, functions on functions-framework behind push subscriptions (starts `himas stack up` in --home, or reuses the running one) | gcp: starts the deployed workflow (Workflows Executions API) and follows the run in the project's Firestore; the hospitals train on the cohorts in their own buckets (docs/operations.md)",
  ],
  [
    '--project ID, --region R',
    'with --stack gcp: the project and region HIMAS is deployed in (terraform var.project_id, var.region)',
  ],
  [
    '--workflow NAME, --bucket B',
    'with --stack gcp: the deployed workflow (default himas-training) and artifacts bucket (default <project>-himas-artifacts)',
  ],
];

const recipeText = (recipe: typeof DP_SGD_RECIPE | typeof NON_PRIVATE_RECIPE): string =>
  `--model ${recipe.model} --hidden-units ${recipe.hiddenUnits.join(',')} --local-epochs ${recipe.localEpochs} --batch-size ${recipe.batchSize} --local-learning-rate ${recipe.localLearningRate}`;

/** One flag a line block: the flag, then its meaning wrapped under it, then the default. */
function entry(flag: string, meaning: string, defaultText?: string): string {
  const text = defaultText === undefined ? meaning : `${meaning} [default: ${defaultText}]`;
  const width = 76;
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return [`  ${flag}`, ...lines.map((l) => `      ${l}`)].join('\n');
}

export function trainHelp(): string {
  const settings = Object.keys(CONFIG_FIELDS).map((field) => {
    const help = TRAINING_SETTINGS_HELP[field as keyof typeof TRAINING_SETTINGS_HELP];
    return entry(
      `--${flagName(field)} (${envName(field)})`,
      help.meaning.replace(/`/g, ''),
      help.defaultText,
    );
  });
  return `Usage: himas train [--data DIR] [--out RUN_DIR] [--run-id ID] [training settings] [--json]
       himas train --resume RUN_ID
       himas train --stack gcp --project ID --region R [training settings] [--resume RUN_ID]

Runs federated training of the ICU-mortality model: each hospital trains on its own records in its
own process; only clipped updates travel; the aggregation function combines them with DP-FedAvg
into a new model version each round. Every input is checked before anything is written or any ε
is spent. The run ends with a verdict: only a run that left a servable model exits 0 and writes
RUN_DIR/model/.

Flags:
${COMMAND_FLAGS.map(([flag, meaning]) => entry(flag, meaning)).join('\n')}

Training settings (a flag, or a HIMAS_<NAME> environment variable, or a field of --config; flags
win, then the environment, then the file):
${settings.join('\n')}

Patient-level DP-SGD is on by default (--patient-privacy dp-sgd). Recipe settings marked
"(DP-SGD) / …" that you leave unset follow the privacy mode:
  dp-sgd: ${recipeText(DP_SGD_RECIPE)}
  none:   ${recipeText(NON_PRIVATE_RECIPE)}

Exit codes:
${exitCodeLines().join('\n')}`;
}
