import { z } from 'zod';
import {
  DEFAULT_MIN_HOSPITALS,
  defaultThreshold,
  MAX_MASKING_PARTICIPANTS,
  maskingSettingsProblem,
} from '../src/core/secure-aggregation/protocol-parameters';

/**
 * The training configuration of a run: validated once at the edge (flags, a JSON/YAML file or
 * HIMAS_* environment variables, see src/config/training-config-loader.ts) and stored in the run
 * document, so every part of the system reads the same values.
 */
export const PRESETS = ['archetypes', 'eicu-like', 'mimic-careunit'] as const;

/** `--outbreak` text: hospital id, start week, number of weeks, mean extra stays per week. */
export const OUTBREAK_SPEC = /^([A-Za-z0-9][A-Za-z0-9._-]*):(\d+):(\d+):(\d+(?:\.\d+)?)$/;

/**
 * The training settings whose good values depend on the privacy mode. DP-SGD's noise is fixed by
 * ε, so what matters there is signal per noisy step: fewer, larger Poisson batches, more local
 * passes at a higher rate, and a model with few parameters (d enters the noise norm as √d).
 * Chosen by measurement (archetypes cohort, 3 hospitals, 5 rounds, ε = 1 per hospital;
 * docs/architecture.md §5). The update clip norm is the same in both modes (measured: 2, 5, 10
 * and 100 all within run-to-run noise under DP-SGD), so hospital-level noise keeps its meaning.
 */
export const NON_PRIVATE_RECIPE = {
  model: 'mlp',
  hiddenUnits: [64, 32],
  localEpochs: 2,
  batchSize: 64,
  localLearningRate: 0.003,
} as const;
export const DP_SGD_RECIPE = {
  model: 'logistic',
  hiddenUnits: [16],
  localEpochs: 4,
  batchSize: 128,
  // 0.01, not 0.02: with noisy gradients a larger Adam step inflates the weights (calibration
  // slope 0.69–0.77 at 0.02, 0.92–1.11 at 0.01; docs/architecture.md §5, model quality).
  localLearningRate: 0.01,
} as const;

export const TrainingConfigSchema = z
  .object({
    /** Federated rounds to run. */
    rounds: z.number().int().min(1).max(1000).default(5),
    /** Hospitals to simulate when HIMAS generates the cohort (default: the preset's default). */
    hospitals: z.number().int().min(1).max(300).optional(),
    /** Synthetic cohort preset (CLINICAL_DATA.md section 5.4). */
    preset: z.enum(PRESETS).default('archetypes'),
    /** Total synthetic ICU stays over all hospitals (default: the preset's default). */
    patients: z.number().int().min(200).max(2_000_000).optional(),
    /** Seed for the synthetic cohort, weight initialisation and shuffling (never for DP noise). */
    seed: z.number().int().min(0).max(4294967295).default(42),
    // The recipe fields (model to localLearningRate) have no schema default: each one left unset
    // takes the recipe of the privacy mode (NON_PRIVATE_RECIPE or DP_SGD_RECIPE); explicit wins.
    /** Model architecture: a multilayer perceptron, or logistic regression as the baseline. */
    model: z.enum(['mlp', 'logistic']).optional(),
    hiddenUnits: z.array(z.number().int().min(1).max(4096)).min(1).max(6).optional(),
    /** Local passes over each hospital's training rows per round. */
    localEpochs: z.number().int().min(1).max(200).optional(),
    batchSize: z.number().int().min(1).max(65536).optional(),
    /** Adam learning rate of the local (hospital) optimizer. */
    localLearningRate: z.number().gt(0).max(10).optional(),
    /** Server step size applied to the (noised) average update; 1 is plain FedAvg. */
    serverLearningRate: z.number().gt(0).max(100).default(1),
    /**
     * Aggregation: FedAvg (weighted by examples), DP-FedAvg (clip, fixed denominator, Gaussian
     * noise), or a Byzantine-robust rule over the updates in the clear: the coordinate-wise median
     * or the trimmed mean (src/core/federated/robust-aggregation.ts; no secure aggregation, no noise).
     */
    aggregation: z.enum(['fedavg', 'dp-fedavg', 'median', 'trimmed-mean']).default('dp-fedavg'),
    /** β of the trimmed mean: the fraction of updates dropped at each end of every coordinate. */
    trimFraction: z.number().min(0).lt(0.5).default(0.1),
    /**
     * Server optimizer applied to the aggregated update (Reddi et al. 2021): SGD (FedAvg), server
     * momentum (FedAvgM), Adam (FedAdam), Yogi (FedYogi) or Adagrad (FedAdagrad).
     */
    serverOptimizer: z.enum(['sgd', 'momentum', 'adam', 'yogi', 'adagrad']).default('sgd'),
    /** β of FedAvgM's server momentum (serverOptimizer 'momentum'). */
    serverMomentum: z.number().min(0).lt(1).default(0.9),
    /**
     * FedProx's proximal term μ (Li et al. 2020): each hospital minimises its loss plus
     * μ/2·‖w − w_global‖², which keeps local models near the global one on non-IID data. 0 = FedAvg.
     */
    proximalMu: z.number().min(0).max(100).default(0),
    /** L2 norm every hospital update is clipped to (DP-FedAvg's sensitivity bound C). */
    clipNorm: z.number().gt(0).max(1e6).default(2),
    /** Hospital-level noise multiplier z: Gaussian noise with std z·C/m on the average. 0 = no noise. */
    noiseMultiplier: z.number().min(0).max(1000).default(0),
    /**
     * Secure aggregation (pairwise masks, src/core/secure-aggregation): the aggregator sees only the
     * sum of the clipped updates. Unset = on whenever aggregation is 'dp-fedavg' (its clip norm
     * bounds the fixed-point encoding); see `usesSecureAggregation`.
     */
    secureAggregation: z.boolean().optional(),
    /**
     * The fewest hospitals in any sum the aggregator may unmask (secure aggregation): a sum of one
     * is that hospital's update, of two each learns the other's. Below 3 only with hospital-level
     * noise; never below 2 (src/core/secure-aggregation/protocol-parameters.ts).
     */
    secureAggregationMinHospitals: z
      .number()
      .int()
      .min(2)
      .max(MAX_MASKING_PARTICIPANTS)
      .default(DEFAULT_MIN_HOSPITALS),
    /**
     * t of the t-of-n Shamir shares of each hospital's self-mask seed and round masking key: the
     * survivors that must answer the reveal. Unset = a majority of the hospitals, capped at the quorum.
     */
    secureAggregationThreshold: z.number().int().min(2).max(MAX_MASKING_PARTICIPANTS).optional(),
    /** Hospital-level privacy budget ε; null = no budget (only allowed without a DP claim). */
    epsilonBudget: z.number().gt(0).max(1000).nullable().default(null),
    /** δ of every (ε, δ) guarantee HIMAS reports. */
    delta: z.number().gt(0).lt(1).default(1e-5),
    /**
     * Patient-level protection inside each hospital: DP-SGD (per-example clipping, Gaussian noise,
     * Poisson-sampled batches), calibrated before training to `patientTargetEpsilon` per hospital.
     * On by default, with DP_SGD_RECIPE's training settings (measured within 0.05 pooled AUROC of
     * the non-private model, docs/architecture.md §5); 'none' trains with NON_PRIVATE_RECIPE.
     */
    patientPrivacy: z.enum(['dp-sgd', 'none']).default('dp-sgd'),
    /**
     * Patient-level ε each hospital's patients get over the whole run (at `delta`), covering every
     * release of the run: DP-SGD on the train split, the evaluations on the test split, and the
     * surveillance and treatment releases on both (src/core/privacy/run-privacy-plan.ts).
     */
    patientTargetEpsilon: z.number().gt(0).max(100).default(1),
    /**
     * Lifetime patient-level ε of a hospital over every run and every release (its one ledger
     * persists across runs and data files): a run whose plan would exceed it is refused before it
     * reads a record. 3 fits seven runs at the default target (RDP composition grows slower than the sum).
     */
    patientBudgetEpsilon: z.number().gt(0).max(1000).default(3),
    /**
     * Also evaluate each round's base model on the hospitals' test splits (a noisy histogram per
     * hospital per round, charged to the test split's budget, so each is noisier). Off by default:
     * only the final model is evaluated, once.
     */
    evaluateEveryRound: z.boolean().default(false),
    /**
     * L2 bound C_example of each patient's gradient in DP-SGD. 3, not 1: a logistic gradient is
     * (p − y)·x, so a death (|p − y| ≈ 0.9, ‖x‖ ≈ 3–5) was clipped about four times harder than a
     * survivor (|p − y| ≈ 0.1) and the model learnt to predict half the deaths (O:E 1.7–2.6 at
     * C = 1; at 3, pooled O:E within 0.9–1.1 in 13 of 15 runs against 8 of 15 at 2.5 and 9 of 15
     * at 3.5; docs/architecture.md §5, model quality).
     */
    exampleClipNorm: z.number().gt(0).max(1000).default(3),
    /**
     * Site-specific intercepts (src/core/model/site-intercept.ts): each hospital trains its own
     * value of the output bias inside its DP-SGD and keeps it in its own storage; its updates carry
     * only the round's change of it, so the shared intercept follows the hospitals' mean. Each hospital then scores
     * (evaluations, and the risks it serves itself) with its own intercept. Off by default: it fixes
     * most per-hospital miscalibration on `archetypes`, but a hospital of ~60 stays gets an
     * intercept that is mostly noise at ε = 1 (docs/architecture.md §5, model quality).
     */
    siteIntercept: z.boolean().default(false),
    /** Minimum number of accepted hospital updates for a round to close (default: every hospital). */
    quorum: z.number().int().min(1).max(300).optional(),
    /** Seconds a round waits for updates before `round.deadline` closes or fails it. */
    deadlineSeconds: z.number().int().min(1).max(86400).default(600),
    /**
     * Inject an outbreak into the synthetic cohort HIMAS generates (surveillance tests):
     * `HOSPITAL:START_WEEK:WEEKS:EXTRA_STAYS_PER_WEEK`, e.g. `h2-cardiac:60:4:12`.
     */
    outbreak: z
      .string()
      .regex(
        OUTBREAK_SPEC,
        'expected HOSPITAL:START_WEEK:WEEKS:EXTRA_STAYS_PER_WEEK, e.g. h2-cardiac:60:4:12 (weeks counted from surveillancePeriodStart)',
      )
      .optional(),
    /** First day of week 0 of the weekly surveillance counts (ISO date; the synthetic cohort's default start). */
    surveillancePeriodStart: z.iso.date().default('2022-01-03'),
    /** Weeks of surveillance counts each hospital releases. */
    surveillanceWeeks: z.number().int().min(30).max(1040).default(104),
    /**
     * Noise multiplier z of the hospitals' surveillance counts (noise SD z·Δ₂ = 2z per count), or
     * null: not released. Off by default: at the default per-run budget the counts would need a
     * noise SD above 30 per weekly count, which hides any outbreak (docs/architecture.md §5).
     */
    surveillanceNoiseMultiplier: z.number().gt(0).max(1000).nullable().default(null),
    /** CUSUM decision threshold h of the surveillance agent (src/core/agents/cusum.ts). */
    surveillanceThreshold: z.number().gt(0).max(100).default(6),
    /** Noise multiplier z of the hospitals' treatment tables (noise SD z per cell, Δ₂ = 1), or null: not released (default). */
    treatmentNoiseMultiplier: z.number().gt(0).max(1000).nullable().default(null),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.epsilonBudget !== null && config.noiseMultiplier === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['epsilonBudget'],
        message:
          'a privacy budget needs noise: set noiseMultiplier > 0 (`himas privacy plan` computes it), or drop the budget',
      });
    }
    if (config.aggregation !== 'dp-fedavg' && config.noiseMultiplier > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['noiseMultiplier'],
        message: `noise needs aggregation 'dp-fedavg' (${config.aggregation === 'fedavg' ? 'plain FedAvg' : config.aggregation} has no sensitivity bound)`,
      });
    }
    if (config.aggregation !== 'dp-fedavg' && config.secureAggregation === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['secureAggregation'],
        message:
          config.aggregation === 'fedavg'
            ? "secure aggregation needs aggregation 'dp-fedavg': its clip norm bounds the fixed-point encoding of masked updates"
            : `secure aggregation hides the single updates that ${config.aggregation} needs: use aggregation 'dp-fedavg', or turn secure aggregation off`,
      });
    }
    const masking = secureAggregationProblem(config, config.hospitals);
    if (masking !== null) ctx.addIssue({ code: 'custom', path: [masking.field], message: masking.message });
    if (isRobustAggregation(config.aggregation) && config.serverOptimizer !== 'sgd') {
      ctx.addIssue({
        code: 'custom',
        path: ['serverOptimizer'],
        message: `${config.aggregation} is its own server rule: it takes serverOptimizer 'sgd' (with serverLearningRate), not '${config.serverOptimizer}'`,
      });
    }
    if (config.patientTargetEpsilon > config.patientBudgetEpsilon) {
      ctx.addIssue({
        code: 'custom',
        path: ['patientTargetEpsilon'],
        message: `a run's patient-level target ε ${config.patientTargetEpsilon} exceeds each hospital's lifetime budget patientBudgetEpsilon ${config.patientBudgetEpsilon}; lower the target or raise the budget`,
      });
    }
    if (config.quorum !== undefined && config.hospitals !== undefined && config.quorum > config.hospitals) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: `quorum ${config.quorum} is more than the ${config.hospitals} hospitals`,
      });
    }
  })
  .transform(withRecipeDefaults);

export type TrainingConfig = z.infer<typeof TrainingConfigSchema>;
export type TrainingConfigInput = z.input<typeof TrainingConfigSchema>;

/** The aggregations that need every update in the clear (no secure aggregation, no noise). */
export function isRobustAggregation(aggregation: TrainingConfig['aggregation']): boolean {
  return aggregation === 'median' || aggregation === 'trimmed-mean';
}

/** Whether a run masks its updates: explicitly set, or on by default with DP-FedAvg. */
export function usesSecureAggregation(
  config: Pick<TrainingConfig, 'aggregation' | 'secureAggregation'>,
): boolean {
  return config.secureAggregation ?? config.aggregation === 'dp-fedavg';
}

type MaskingFields = Pick<
  TrainingConfig,
  | 'aggregation'
  | 'secureAggregation'
  | 'secureAggregationMinHospitals'
  | 'secureAggregationThreshold'
  | 'quorum'
  | 'noiseMultiplier'
>;

/** The round's Shamir threshold t: as configured, else a majority of the hospitals capped at the quorum. */
export function secureAggregationThreshold(config: MaskingFields, hospitals: number): number {
  return config.secureAggregationThreshold ?? defaultThreshold(hospitals, config.quorum ?? hospitals);
}

/**
 * Why secure-aggregation settings would unmask too small a sum, with the field to blame and what
 * to do; null when they are sound or secure aggregation is off. `hospitals` is the run's count
 * when known (the CLI and run creation know it; a config file alone may not).
 */
export function secureAggregationProblem(
  config: MaskingFields,
  hospitals: number | undefined,
): { field: keyof TrainingConfig; message: string } | null {
  if (!usesSecureAggregation(config)) return null;
  const min = config.secureAggregationMinHospitals;
  if (min < DEFAULT_MIN_HOSPITALS && config.noiseMultiplier === 0)
    return {
      field: 'secureAggregationMinHospitals',
      message: `a minimum of ${min} hospitals per unmasked sum lets each learn the other's update from the published model: keep it at ≥ ${DEFAULT_MIN_HOSPITALS}, or add hospital-level noise (--noise-multiplier > 0) to go lower knowingly`,
    };
  if (hospitals === undefined) {
    if (config.quorum !== undefined && config.quorum < min)
      return {
        field: 'quorum',
        message: maskingSettingsProblem({
          participants: min,
          quorum: config.quorum,
          threshold: 2,
          minHospitals: min,
        })!,
      };
    return null;
  }
  const quorum = config.quorum ?? hospitals;
  const problem = maskingSettingsProblem({
    participants: hospitals,
    quorum,
    threshold: secureAggregationThreshold(config, hospitals),
    minHospitals: min,
  });
  if (problem === null) return null;
  const field: keyof TrainingConfig =
    hospitals < min ? 'hospitals' : quorum < min ? 'quorum' : 'secureAggregationThreshold';
  return { field, message: problem };
}

/** Fills each recipe field left unset from the recipe of the run's privacy mode. */
function withRecipeDefaults<
  T extends { patientPrivacy: 'dp-sgd' | 'none' } & Partial<{
    model: 'mlp' | 'logistic';
    hiddenUnits: number[];
    localEpochs: number;
    batchSize: number;
    localLearningRate: number;
  }>,
>(config: T) {
  const recipe = config.patientPrivacy === 'dp-sgd' ? DP_SGD_RECIPE : NON_PRIVATE_RECIPE;
  return {
    ...config,
    model: config.model ?? recipe.model,
    hiddenUnits: config.hiddenUnits ?? [...recipe.hiddenUnits],
    localEpochs: config.localEpochs ?? recipe.localEpochs,
    batchSize: config.batchSize ?? recipe.batchSize,
    localLearningRate: config.localLearningRate ?? recipe.localLearningRate,
  };
}
