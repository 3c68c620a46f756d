import * as path from 'node:path';
import type { TrainingConfig } from '../../../schemas/training-config';
import { CsvCohortSource } from '../../adapters/cohort/csv-cohort-source';
import { hospitalStateDir, localHospitalLedger } from '../../adapters/ledger/local-hospital-ledger';
import { CONFIG_FIELDS, flagName, loadTrainingConfig } from '../../config/training-config-loader';
import { referencePreprocessor } from '../../core/data';
import {
  computeEpsilon,
  dpSgdPrivacyEvent,
  explainTrainingPlan,
  noiseMultiplierForEpsilon,
  totalsWith,
  type RunPrivacyPlan,
  type TrainingPlanExplanation,
} from '../../core/privacy';
import { views } from '../../services/hospital-ledger';
import { planForHospital } from '../../services/patient-privacy';
import { parseCommandArgs, stringFlag } from '../args';
import { declaredCohortSizes, discoverHospitals, roughly } from '../cohort-files';
import type { Command } from '../main';
import { UserError } from '../user-error';
import { planTable } from '../privacy-plan-view';
import { readHospitalLedgers, renderHospitalLedgers } from '../privacy-ledger-view';
import { defaultHome } from '../run-locations';
import { verifyModelPrivacy, renderVerification } from '../privacy-verify';
import { generateCohortOrExplain } from './data';

const CONFIG_FLAGS = Object.keys(CONFIG_FIELDS).map(flagName);

const HELP = `Usage: himas privacy epsilon --noise-multiplier Z --sampling-rate Q --steps T --delta D [--orders a,b,c] [--json]
       himas privacy plan --target-epsilon E --delta D --sampling-rate Q --steps T [--json]
       himas privacy plan [--config FILE] [--data DIR] [--home DIR] [training flags] [--json]
       himas privacy ledger [--hospital H] [--home DIR] [--delta D] [--json]
       himas privacy verify MODEL_DIR [--json]

epsilon   ε of T steps of the Poisson-sampled Gaussian mechanism (rate Q, noise multiplier Z) at δ,
          by Rényi DP (Mironov, Talwar, Zhang 2019) and the conversion of Balle et al. 2020, over
          dp_accounting's default orders unless --orders is given. --json prints exactly
          {"epsilon": number, "order": number}; with no guarantee (Z = 0) ε is ∞, printed as
          {"epsilon": null, "order": null} because JSON has no Infinity.
plan      with --sampling-rate and --steps: the smallest noise multiplier reaching ε ≤ E
          ({"noiseMultiplier": number, "epsilon": number} with --json).
          Otherwise, before training: what each hospital's patients will spend in the run — every
          mechanism (DP-SGD, evaluations, surveillance, treatment) with its noise and ε, composed per
          split (train, test) to the run's total — and whether it fits what is left of each
          hospital's lifetime budget in its ledger (--home DIR, default .himas). Exits 1 when a
          hospital would refuse the run. Hospital sizes are the declared (public) ones: --data DIR's
          cohort.json, or the synthetic cohort \`himas train\` would generate. Hospital level: DP-FedAvg.
ledger    each hospital's privacy ledger (one per hospital, across every run and data file): every
          reservation and use with its mechanisms, the lifetime ε after each entry, each run's
          total and each mechanism's share (ε at δ, default 1e-5).
verify    recomputes a model folder's privacy guarantee from the signed ledger excerpt its model.json
          carries, offline: checks every signature and the hash chain, recomputes each hospital's
          ε with the RDP accountant and fails (exit 1) if any stated ε is below the recomputation.

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
    if (sub === 'verify') return verifyCommand(rest);
    throw new UserError(`unknown subcommand 'privacy ${sub}'; subcommands: epsilon, plan, ledger, verify`);
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
    home: { type: 'string' },
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
    values.home !== undefined ||
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
  if (values['target-epsilon'] !== undefined) flags.patientTargetEpsilon ??= String(values['target-epsilon']);
  const config = loadTrainingConfig({ flags, file: stringFlag(values, 'config'), env: process.env });
  const declared = await declaredSizes(config, stringFlag(values, 'data'));
  const parameters = parameterCount(config, referencePreprocessor().featureNames.length);
  const explanation = explainTrainingPlan({
    rounds: config.rounds,
    localEpochs: config.localEpochs,
    batchSize: config.batchSize,
    delta: config.delta,
    parameters,
    hospitals: Object.entries(declared).map(([hospitalId, trainRows]) => ({ hospitalId, trainRows })),
    patientTargetEpsilon: config.patientPrivacy === 'dp-sgd' ? config.patientTargetEpsilon : null,
    aggregation: config.aggregation,
    clipNorm: config.clipNorm,
    noiseMultiplier: config.noiseMultiplier,
    epsilonBudget: config.epsilonBudget,
  });
  const ledgers = localHospitalLedger(
    hospitalStateDir(path.resolve(stringFlag(values, 'home') ?? defaultHome())),
  );
  const hospitals = [];
  for (const [hospitalId, declaredTrainStays] of Object.entries(declared)) {
    let plan: RunPrivacyPlan;
    try {
      plan = planForHospital(config, declaredTrainStays, hospitalId);
    } catch (error) {
      throw new UserError(`${hospitalId}: ${(error as Error).message}`);
    }
    const entries = views(await ledgers.read(hospitalId));
    const before = totalsWith(entries, [], config.delta).epsilon;
    const after = totalsWith(entries, plan.mechanisms, config.delta).epsilon;
    const waived = config.patientPrivacy === 'none';
    hospitals.push({
      hospitalId,
      declaredTrainStays,
      plan,
      lifetimeBefore: before,
      lifetimeAfter: after,
      refused: !waived && !(after <= config.patientBudgetEpsilon),
    });
  }
  const refused = hospitals.filter((h) => h.refused);
  if (values.json) {
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    process.stdout.write(
      `${JSON.stringify(
        {
          parameters,
          budgetEpsilon: config.patientBudgetEpsilon,
          hospitals: hospitals.map((h) => ({
            hospitalId: h.hospitalId,
            declaredTrainStays: h.declaredTrainStays,
            epsilon: finite(h.plan.epsilon),
            partitions: {
              train: finite(h.plan.partitions.train.epsilon),
              test: finite(h.plan.partitions.test.epsilon),
            },
            mechanisms: h.plan.mechanisms.map((m) => ({
              mechanism: m.mechanism,
              partitions: m.partitions,
              uses: m.uses,
              noiseMultiplier: m.noiseMultiplier,
              samplingProbability: m.samplingProbability ?? null,
              steps: m.stepsPerUse === undefined ? null : m.stepsPerUse * m.uses,
              epsilon: finite(m.epsilonAlone),
            })),
            lifetimeBefore: finite(h.lifetimeBefore),
            lifetimeAfter: finite(h.lifetimeAfter),
            refused: h.refused,
          })),
          ...explanation,
        },
        null,
        2,
      )}\n`,
    );
    return refused.length > 0 ? 1 : 0;
  }
  const out = [renderPlan(config, hospitals.length, parameters, explanation)];
  for (const h of hospitals) {
    out.push(`${h.hospitalId} (declared ${h.declaredTrainStays} training stays):`);
    out.push(...planTable(h.plan));
    out.push(
      `    lifetime: ε = ${fmtEps(h.lifetimeBefore)} spent before, ${fmtEps(h.lifetimeAfter)} after this run, budget ${config.patientBudgetEpsilon}${h.refused ? ' — REFUSED: the hospital would refuse this run before reading a record' : ''}`,
    );
  }
  if (refused.length > 0)
    out.push(
      `${refused.map((h) => h.hospitalId).join(', ')} cannot afford this run: lower --patient-target-epsilon, or raise --patient-budget-epsilon if your privacy policy allows it (\`himas privacy ledger\` shows what was spent).`,
    );
  process.stdout.write(`${out.join('\n')}\n`);
  return refused.length > 0 ? 1 : 0;
}

const fmtEps = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞');

/** Each hospital's declared (public) training stays: --data's cohort.json, or the cohort `himas train` would generate. */
async function declaredSizes(
  config: TrainingConfig,
  data: string | undefined,
): Promise<Record<string, number>> {
  if (!data) {
    const cohort = generateCohortOrExplain({
      preset: config.preset,
      hospitals: config.hospitals,
      patients: config.patients,
      seed: config.seed,
    });
    return Object.fromEntries(cohort.hospitals.map((h) => [h.hospitalId, roughly(h.train.length)]));
  }
  const dir = path.resolve(data);
  const all = await discoverHospitals(dir);
  if (config.hospitals !== undefined && config.hospitals > all.length)
    throw new UserError(
      `--hospitals ${config.hospitals} but ${dir} holds only ${all.length}: ${all.join(', ')}`,
    );
  const source = new CsvCohortSource(dir);
  const hospitals = all.slice(0, config.hospitals ?? all.length);
  const { sizes } = await declaredCohortSizes(dir, hospitals, async (h) => {
    try {
      return (await source.read(h, 'train')).length;
    } catch (error) {
      throw new UserError(`cannot read ${h}'s training rows in ${dir}: ${(error as Error).message}`);
    }
  });
  return sizes;
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
  out.push(
    `Patient level: every release of the run, per hospital, within ε = ${config.patientTargetEpsilon} (δ = ${config.delta}) and a lifetime budget of ${config.patientBudgetEpsilon}:`,
  );
  for (const line of explanation.lines.filter((l) => l.unit === 'patient' && l.severity === 'warning'))
    out.push(`  warning: ${line.text}`);
  section('hospital', 'Hospital level (DP-FedAvg in the aggregator):');
  return out.join('\n');
}

async function ledgerCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('privacy ledger', argv, {
    hospital: { type: 'string' },
    home: { type: 'string' },
    delta: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return print(HELP);
  const delta = values.delta === undefined ? 1e-5 : deltaFlag(values);
  const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
  const stateDir = hospitalStateDir(home);
  const report = await readHospitalLedgers(
    localHospitalLedger(stateDir),
    stateDir,
    delta,
    stringFlag(values, 'hospital'),
  );
  const wanted = stringFlag(values, 'hospital');
  if (wanted !== undefined && report.hospitals.length === 0)
    throw new UserError(
      `hospital ${wanted} has no privacy ledger in ${hospitalStateDir(home)} (\`himas privacy ledger\` lists the hospitals that have one)`,
    );
  if (values.json) return print(JSON.stringify(report, null, 2));
  return print(renderHospitalLedgers(report));
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'privacy verify',
    argv,
    {
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) return print(HELP);
  if (positionals.length !== 1)
    throw new UserError('usage: himas privacy verify MODEL_DIR (a folder with model.json)');
  const result = await verifyModelPrivacy(path.resolve(positionals[0]));
  process.stdout.write(`${values.json ? JSON.stringify(result, null, 2) : renderVerification(result)}\n`);
  return result.ok ? 0 : 1;
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
