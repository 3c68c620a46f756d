import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TrainingConfig } from '../../../schemas/training-config';
import { CsvCohortSource } from '../../adapters/cohort/csv-cohort-source';
import { CONFIG_FIELDS, flagName, loadTrainingConfig } from '../../config/training-config-loader';
import { fitPreprocessor, type CohortRecord } from '../../core/data';
import {
  computeEpsilon,
  dpSgdPrivacyEvent,
  explainTrainingPlan,
  noiseMultiplierForEpsilon,
  type TrainingPlanExplanation,
} from '../../core/privacy';
import { parseCommandArgs, stringFlag } from '../args';
import { discoverHospitals } from '../cohort-files';
import type { Command } from '../main';
import { UserError } from '../user-error';
import { patientLedgerDir } from '../../adapters/ledger/file-patient-ledger-store';
import { readPatientLedgers, renderPatientLedgers } from '../privacy-ledger-view';
import { generateCohortOrExplain } from './data';

const CONFIG_FLAGS = Object.keys(CONFIG_FIELDS).map(flagName);

const HELP = `Usage: himas privacy epsilon --noise-multiplier Z --sampling-rate Q --steps T --delta D [--orders a,b,c] [--json]
       himas privacy plan --target-epsilon E --delta D --sampling-rate Q --steps T [--json]
       himas privacy plan [--config FILE] [--data DIR] [--target-epsilon E] [training flags] [--json]
       himas privacy ledger [--hospital H] [--data DIR | --out RUN_DIR] [--delta D] [--json]

epsilon   ε of T steps of the Poisson-sampled Gaussian mechanism (rate Q, noise multiplier Z) at δ,
          by Rényi DP (Mironov, Talwar, Zhang 2019) and the conversion of Balle et al. 2020, over
          dp_accounting's default orders unless --orders is given. --json prints exactly
          {"epsilon": number, "order": number}; with no guarantee (Z = 0) ε is ∞, printed as
          {"epsilon": null, "order": null} because JSON has no Infinity.
plan      with --sampling-rate and --steps: the smallest noise multiplier reaching ε ≤ E
          ({"noiseMultiplier": number, "epsilon": number} with --json).
          Otherwise, before training: the guarantee each unit will get from the training settings
          (--config FILE and/or the flags of \`himas train\`), and warnings when a guarantee is
          missing or the noise would drown the signal. Patient level: DP-SGD calibrated to
          --target-epsilon (default 1) with each hospital's own training rows, read from --data DIR
          or from the synthetic cohort \`himas train\` would generate. Hospital level: DP-FedAvg.
ledger    each hospital's patient-level ledger: every DP-SGD training attempt charged to its cohort
          (run, round, attempt, mechanism, ε after it) and the cumulative ε at δ (default 1e-5).
          Ledgers belong to a cohort (sha256 of its training split), not to a run, and live beside
          it: DIR/privacy-ledger, or for --out RUN_DIR the cohort that run trained on.

Training flags: ${CONFIG_FLAGS.map((f) => `--${f}`).join('  ')}`;

const NUMERIC_OPTIONS = {
  'noise-multiplier': { type: 'string' },
  'sampling-rate': { type: 'string' },
  steps: { type: 'string' },
  delta: { type: 'string' },
  'target-epsilon': { type: 'string' },
  orders: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const privacyCommand: Command = {
  summary: 'privacy arithmetic and the plan of a run before training (himas privacy)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(`${HELP}\n`);
      return sub ? 0 : 2;
    }
    if (sub === 'epsilon') return epsilonCommand(rest);
    if (sub === 'plan') return planCommand(rest);
    if (sub === 'ledger') return ledgerCommand(rest);
    throw new UserError(`unknown subcommand 'privacy ${sub}'; subcommands: epsilon, plan, ledger`);
  },
};

function epsilonCommand(argv: string[]): number {
  const { values } = parseCommandArgs('privacy epsilon', argv, NUMERIC_OPTIONS);
  if (values.help) return print(HELP);
  if (values['target-epsilon'] !== undefined)
    throw new UserError('--target-epsilon belongs to `himas privacy plan`; `epsilon` computes ε');
  const noiseMultiplier = numberFlag(values, 'noise-multiplier', (z) => z >= 0, 'a number ≥ 0');
  const samplingRate = samplingRateFlag(values);
  const steps = stepsFlag(values);
  const delta = deltaFlag(values);
  const orders = ordersFlag(values);
  const { epsilon, order } = computeEpsilon(
    dpSgdPrivacyEvent(samplingRate, noiseMultiplier, steps),
    delta,
    orders,
  );
  const finite = Number.isFinite(epsilon);
  if (values.json)
    return print(JSON.stringify({ epsilon: finite ? epsilon : null, order: finite ? order : null }));
  return print(
    finite
      ? `ε = ${epsilon.toPrecision(8)} at δ = ${delta} (best RDP order ${order}) after ${steps} step(s) of the Poisson-sampled Gaussian with q = ${samplingRate}, z = ${noiseMultiplier}`
      : `ε = ∞ at δ = ${delta}: no differential-privacy guarantee (z = ${noiseMultiplier})`,
  );
}

async function planCommand(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    ...NUMERIC_OPTIONS,
    config: { type: 'string' },
    data: { type: 'string' },
  };
  for (const flag of CONFIG_FLAGS) options[flag] ??= { type: 'string' };
  const { values } = parseCommandArgs('privacy plan', argv, options);
  if (values.help) return print(HELP);
  const numeric = values['sampling-rate'] !== undefined || values.steps !== undefined;
  if (numeric) return noiseMultiplierPlan(values);
  if (values.orders !== undefined) throw new UserError('--orders needs --sampling-rate and --steps');
  return trainingPlan(values);
}

type Values = Record<string, string | boolean | string[] | undefined>;

function noiseMultiplierPlan(values: Values): number {
  for (const flag of ['sampling-rate', 'steps', 'target-epsilon', 'delta'])
    if (values[flag] === undefined)
      throw new UserError(`\`himas privacy plan\` with a sampling rate needs --${flag}`);
  if (
    values.config !== undefined ||
    values.data !== undefined ||
    CONFIG_FLAGS.some((f) => f !== 'delta' && values[f] !== undefined)
  )
    throw new UserError(
      '--sampling-rate/--steps plan one mechanism; drop the training flags (or drop --sampling-rate and --steps)',
    );
  const targetEpsilon = numberFlag(values, 'target-epsilon', (e) => e > 0, 'a number > 0');
  const samplingProbability = samplingRateFlag(values);
  const steps = stepsFlag(values);
  const delta = deltaFlag(values);
  let plan: { noiseMultiplier: number; epsilon: number };
  try {
    plan = noiseMultiplierForEpsilon({
      targetEpsilon,
      delta,
      samplingProbability,
      steps,
      orders: ordersFlag(values),
    });
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  if (values.json) return print(JSON.stringify(plan));
  return print(
    `noise multiplier z = ${plan.noiseMultiplier.toPrecision(7)} gives ε = ${plan.epsilon.toPrecision(6)} ≤ ${targetEpsilon} at δ = ${delta} over ${steps} step(s) with q = ${samplingProbability}`,
  );
}

async function trainingPlan(values: Values): Promise<number> {
  const flags: Record<string, string> = {};
  for (const field of Object.keys(CONFIG_FIELDS)) {
    const text = stringFlag(values, flagName(field));
    if (text !== undefined) flags[field] = text;
  }
  const config = loadTrainingConfig({ flags, file: stringFlag(values, 'config'), env: process.env });
  // The run's own setting, unless --target-epsilon asks "what if".
  const targetText =
    stringFlag(values, 'target-epsilon') ??
    (config.patientPrivacy === 'dp-sgd' ? String(config.patientTargetEpsilon) : 'none');
  const patientTargetEpsilon = /^none$/i.test(targetText)
    ? null
    : numberFlag({ 'target-epsilon': targetText }, 'target-epsilon', (e) => e > 0, "a number > 0 or 'none'");
  const cohort = await trainingRows(config, stringFlag(values, 'data'));
  const inputDim = fitPreprocessor(cohort.flatMap((h) => h.train)).featureNames.length;
  const parameters = parameterCount(config, inputDim);
  const explanation = explainTrainingPlan({
    rounds: config.rounds,
    localEpochs: config.localEpochs,
    batchSize: config.batchSize,
    delta: config.delta,
    parameters,
    hospitals: cohort.map((h) => ({ hospitalId: h.hospitalId, trainRows: h.train.length })),
    patientTargetEpsilon,
    aggregation: config.aggregation,
    clipNorm: config.clipNorm,
    noiseMultiplier: config.noiseMultiplier,
    epsilonBudget: config.epsilonBudget,
  });
  if (patientTargetEpsilon !== null && config.patientPrivacy === 'none') {
    explanation.lines.unshift({
      severity: 'warning',
      unit: 'patient',
      text: 'this configuration trains without DP-SGD (patientPrivacy none): the patient-level lines show what `--patient-privacy dp-sgd` would give',
    });
  }
  if (values.json) return print(JSON.stringify({ parameters, ...explanation }, null, 2));
  return print(renderPlan(config, cohort.length, parameters, patientTargetEpsilon, explanation));
}

/** Each hospital's training records, from --data or from the cohort `himas train` would generate. */
async function trainingRows(
  config: TrainingConfig,
  data: string | undefined,
): Promise<Array<{ hospitalId: string; train: CohortRecord[] }>> {
  if (!data) {
    const cohort = generateCohortOrExplain({
      preset: config.preset,
      hospitals: config.hospitals,
      patients: config.patients,
      seed: config.seed,
    });
    return cohort.hospitals.map((h) => ({ hospitalId: h.hospitalId, train: h.train }));
  }
  const dir = path.resolve(data);
  const all = await discoverHospitals(dir);
  if (config.hospitals !== undefined && config.hospitals > all.length)
    throw new UserError(
      `--hospitals ${config.hospitals} but ${dir} holds only ${all.length}: ${all.join(', ')}`,
    );
  const source = new CsvCohortSource(dir);
  const out: Array<{ hospitalId: string; train: CohortRecord[] }> = [];
  for (const hospitalId of all.slice(0, config.hospitals ?? all.length)) {
    try {
      out.push({ hospitalId, train: await source.read(hospitalId, 'train') });
    } catch (error) {
      throw new UserError(`cannot read ${hospitalId}'s training rows in ${dir}: ${(error as Error).message}`);
    }
  }
  return out;
}

/** Weights and biases of the dense chain createModel builds: Σ (in·out + out). */
function parameterCount(config: TrainingConfig, inputDim: number): number {
  const widths = [inputDim, ...(config.model === 'mlp' ? config.hiddenUnits : []), 1];
  let total = 0;
  for (let i = 1; i < widths.length; i++) total += widths[i - 1] * widths[i] + widths[i];
  return total;
}

function renderPlan(
  config: TrainingConfig,
  hospitals: number,
  parameters: number,
  patientTargetEpsilon: number | null,
  explanation: TrainingPlanExplanation,
): string {
  const model = config.model === 'mlp' ? `mlp [${config.hiddenUnits.join(', ')}]` : 'logistic';
  const out = [
    `Privacy plan before training: ${hospitals} hospitals, ${config.rounds} rounds × ${config.localEpochs} local epochs, batch ${config.batchSize}, ${model} (d = ${parameters} parameters), δ = ${config.delta}`,
  ];
  const section = (unit: 'patient' | 'hospital', title: string) => {
    out.push(title);
    for (const line of explanation.lines.filter((l) => l.unit === unit))
      out.push(`  ${line.severity === 'warning' ? 'warning: ' : ''}${line.text}`);
  };
  section(
    'patient',
    patientTargetEpsilon === null
      ? 'Patient level:'
      : `Patient level (DP-SGD in each hospital job, target ε = ${patientTargetEpsilon} per hospital):`,
  );
  section('hospital', 'Hospital level (DP-FedAvg in the aggregator):');
  return out.join('\n');
}

async function ledgerCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('privacy ledger', argv, {
    hospital: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    delta: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return print(HELP);
  const delta = values.delta === undefined ? 1e-5 : deltaFlag(values);
  const cohortDir = await ledgerCohortDir(stringFlag(values, 'data'), stringFlag(values, 'out'));
  const report = await readPatientLedgers(patientLedgerDir(cohortDir), delta, stringFlag(values, 'hospital'));
  if (values.json) return print(JSON.stringify(report, null, 2));
  return print(renderPatientLedgers(report));
}

/** The cohort folder whose ledgers to show: --data DIR, or the cohort a run (--out RUN_DIR) used. */
async function ledgerCohortDir(data: string | undefined, out: string | undefined): Promise<string> {
  if (data && out) throw new UserError('give --data DIR or --out RUN_DIR, not both');
  if (data) return path.resolve(data);
  if (!out)
    throw new UserError(
      'which cohort? give --data DIR (its folder) or --out RUN_DIR (a run directory of `himas train`)',
    );
  try {
    const report = JSON.parse(await readFile(path.join(path.resolve(out), 'report.json'), 'utf8'));
    return String(report.dataSource.location);
  } catch {
    return path.join(path.resolve(out), 'data'); // a run still going, on its generated cohort
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

function numberFlag(values: Values, name: string, ok: (x: number) => boolean, what: string): number {
  const text = values[name];
  if (typeof text !== 'string') throw new UserError(`--${name} is required`);
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || !ok(value))
    throw new UserError(`--${name} '${text}' must be ${what}`);
  return value;
}

const samplingRateFlag = (values: Values) =>
  numberFlag(values, 'sampling-rate', (q) => q > 0 && q <= 1, 'in (0, 1]');
const stepsFlag = (values: Values) =>
  numberFlag(values, 'steps', (t) => Number.isInteger(t) && t >= 1, 'a whole number ≥ 1');
const deltaFlag = (values: Values) => numberFlag(values, 'delta', (d) => d > 0 && d < 1, 'in (0, 1)');

function ordersFlag(values: Values): number[] | undefined {
  const text = stringFlag(values, 'orders');
  if (text === undefined) return undefined;
  const orders = text.split(',').map((part) => Number(part.trim()));
  if (text.trim() === '' || orders.some((a) => !(a > 1) || Number.isNaN(a)))
    throw new UserError(`--orders '${text}' must be comma-separated RDP orders > 1 (e.g. 2,4,8,16,32)`);
  return orders;
}
