import type { TrainingConfig } from '../../schemas/training-config';

/**
 * What each training setting means and what it defaults to, in one table: `himas train --help`
 * prints it and the README's settings table is checked against it (test/e2e/help-and-docs), so a
 * new setting cannot ship without saying what it is. Defaults are the schema's
 * (schemas/training-config.ts); "(DP-SGD) / …" marks the recipe fields whose default follows the
 * privacy mode.
 */
export interface SettingHelp {
  defaultText: string;
  meaning: string;
}

export const TRAINING_SETTINGS_HELP: Record<keyof TrainingConfig, SettingHelp> = {
  rounds: { defaultText: '5', meaning: 'federated rounds' },
  hospitals: { defaultText: "preset's (3)", meaning: 'hospitals to simulate, or the first N of `--data`' },
  preset: { defaultText: 'archetypes', meaning: 'synthetic cohort preset' },
  patients: { defaultText: "preset's", meaning: 'total synthetic ICU stays' },
  seed: {
    defaultText: '42',
    meaning: 'cohort, initial weights and (without DP-SGD) batch order; never DP noise or sampling',
  },
  model: { defaultText: 'logistic (DP-SGD) / mlp', meaning: '`mlp` or `logistic`' },
  hiddenUnits: { defaultText: '16 (DP-SGD) / 64,32', meaning: 'MLP layer widths' },
  localEpochs: { defaultText: '4 (DP-SGD) / 2', meaning: "passes over a hospital's rows per round" },
  batchSize: {
    defaultText: '128 (DP-SGD) / 64',
    meaning: 'local mini-batch size (the expected Poisson batch under DP-SGD)',
  },
  localLearningRate: { defaultText: '0.01 (DP-SGD) / 0.003', meaning: 'hospital Adam learning rate' },
  serverLearningRate: { defaultText: '1', meaning: 'server step on the averaged update' },
  aggregation: {
    defaultText: 'dp-fedavg',
    meaning:
      '`fedavg` (example-weighted), `dp-fedavg` (clip, fixed denominator, Gaussian noise), or robust `median` / `trimmed-mean` (no secure aggregation)',
  },
  trimFraction: { defaultText: '0.1', meaning: 'fraction of updates the trimmed mean drops at each end' },
  serverOptimizer: {
    defaultText: 'sgd',
    meaning:
      '`sgd` (FedAvg), `momentum` (FedAvgM), `adam` (FedAdam), `yogi` (FedYogi) or `adagrad` (FedAdagrad)',
  },
  serverMomentum: { defaultText: '0.9', meaning: "server momentum β of serverOptimizer 'momentum'" },
  proximalMu: {
    defaultText: '0',
    meaning: 'FedProx proximal term μ: each hospital adds μ/2·‖w − w_global‖² to its loss; 0 = FedAvg',
  },
  clipNorm: { defaultText: '2', meaning: 'L2 bound C of each hospital update' },
  noiseMultiplier: {
    defaultText: '0',
    meaning: 'hospital-level noise z (std z·C/m); 0 = no DP guarantee',
  },
  secureAggregation: {
    defaultText: 'true with dp-fedavg',
    meaning:
      'double-masked updates (self-mask plus pairwise masks, t-of-n Shamir shares): the aggregator sees only sums of at least the minimum number of hospitals, also when some drop out',
  },
  secureAggregationMinHospitals: {
    defaultText: '3',
    meaning:
      'fewest hospitals in any sum the aggregator may unmask; fewer hospitals, or a quorum below it, is refused before any data is read (below 3 only with hospital-level noise)',
  },
  secureAggregationThreshold: {
    defaultText: 'majority (at most the quorum)',
    meaning:
      "survivors needed to rebuild a self-mask or a dropped hospital's masking key (t of the t-of-n Shamir shares)",
  },
  epsilonBudget: {
    defaultText: 'none',
    meaning: 'hospital-level ε budget; the run halts before exceeding it (refused if one round exceeds it)',
  },
  delta: { defaultText: '1e-5', meaning: 'δ of every reported guarantee' },
  patientPrivacy: {
    defaultText: 'dp-sgd',
    meaning:
      '`dp-sgd`: patient-level DP-SGD in every hospital job (per-example clipping, Gaussian noise, Poisson sampling), calibrated before training; `none`: no patient-level guarantee',
  },
  patientTargetEpsilon: {
    defaultText: '1',
    meaning: 'patient-level ε per hospital over the whole run, every release included',
  },
  patientBudgetEpsilon: {
    defaultText: '3',
    meaning:
      'lifetime patient-level ε of a hospital over all its runs and releases; a run that would exceed it is refused before it reads a record',
  },
  evaluateEveryRound: {
    defaultText: 'false',
    meaning:
      "also evaluate each round's model on the test splits (noisier: the test split's budget is shared over more releases; the orchestrator may then stop early on them, so the final test figures are no longer an untouched hold-out)",
  },
  exampleClipNorm: { defaultText: '3', meaning: 'per-patient gradient bound C_example of DP-SGD' },
  siteIntercept: {
    defaultText: 'false',
    meaning:
      "each hospital trains and keeps its own intercept (its updates carry only the intercept's change) and scores with it: better per-hospital calibration; the shared model gets the hospitals' mean intercept, its calibration unmeasured, so its risks read as a ranking (`himas predict --hospital ID` scores with a hospital's own)",
  },
  quorum: {
    defaultText: 'all hospitals',
    meaning: 'accepted updates needed to close a round (at most the number of hospitals)',
  },
  deadlineSeconds: { defaultText: '600', meaning: 'how long a round waits for updates' },
  outbreak: {
    defaultText: 'none',
    meaning:
      'inject an outbreak into the generated cohort: `HOSPITAL:START_WEEK:WEEKS:EXTRA_STAYS_PER_WEEK`, e.g. `h2-cardiac:60:4:12`',
  },
  surveillancePeriodStart: {
    defaultText: '2022-01-03',
    meaning: 'first day (ISO date) of week 0 of the weekly surveillance counts',
  },
  surveillanceWeeks: { defaultText: '104', meaning: 'weeks of surveillance counts each hospital releases' },
  surveillanceNoiseMultiplier: {
    defaultText: 'none',
    meaning:
      "noise multiplier z of the hospitals' weekly counts (SD 2z per count), or none: not released; charged to each hospital's ledger",
  },
  surveillanceThreshold: {
    defaultText: '6',
    meaning: 'CUSUM decision threshold h of the surveillance agent',
  },
  treatmentNoiseMultiplier: {
    defaultText: 'none',
    meaning:
      "noise multiplier z of the hospitals' treatment tables (SD z per cell), or none: not released; charged to each hospital's ledger",
  },
};
