import { z } from 'zod';

/**
 * The training configuration of a run: validated once at the edge (flags, a JSON/YAML file or
 * HIMAS_* environment variables, see src/config/training-config-loader.ts) and stored in the run
 * document, so every part of the system reads the same values.
 */
export const PRESETS = ['archetypes', 'eicu-like', 'mimic-careunit'] as const;

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
    /** Model architecture: a multilayer perceptron, or logistic regression as the baseline. */
    model: z.enum(['mlp', 'logistic']).default('mlp'),
    hiddenUnits: z.array(z.number().int().min(1).max(4096)).min(1).max(6).default([64, 32]),
    /** Local passes over each hospital's training rows per round. */
    localEpochs: z.number().int().min(1).max(200).default(2),
    batchSize: z.number().int().min(1).max(65536).default(64),
    /** Adam learning rate of the local (hospital) optimizer. */
    localLearningRate: z.number().gt(0).max(10).default(0.003),
    /** Server step size applied to the (noised) average update; 1 is plain FedAvg. */
    serverLearningRate: z.number().gt(0).max(100).default(1),
    /** Aggregation: FedAvg (weighted by examples) or DP-FedAvg (clip, fixed denominator, Gaussian noise). */
    aggregation: z.enum(['fedavg', 'dp-fedavg']).default('dp-fedavg'),
    /** Server optimizer applied to the aggregated update: SGD (FedAvg) or Adam (FedAdam). */
    serverOptimizer: z.enum(['sgd', 'adam']).default('sgd'),
    /** L2 norm every hospital update is clipped to (DP-FedAvg's sensitivity bound C). */
    clipNorm: z.number().gt(0).max(1e6).default(2),
    /** Hospital-level noise multiplier z: Gaussian noise with std z·C/m on the average. 0 = no noise. */
    noiseMultiplier: z.number().min(0).max(1000).default(0),
    /** Hospital-level privacy budget ε; null = no budget (only allowed without a DP claim). */
    epsilonBudget: z.number().gt(0).max(1000).nullable().default(null),
    /** δ of every (ε, δ) guarantee HIMAS reports. */
    delta: z.number().gt(0).lt(1).default(1e-5),
    /**
     * Patient-level protection inside each hospital: DP-SGD (per-example clipping, Gaussian noise,
     * Poisson-sampled batches), calibrated before training to `patientTargetEpsilon` per hospital.
     * Off by default until a default recipe reaches the non-private model within 0.05 AUROC (see
     * docs/architecture.md §5 for the measurements); the report then says ε = ∞ plainly.
     */
    patientPrivacy: z.enum(['dp-sgd', 'none']).default('none'),
    /** Patient-level ε each hospital's patients get over the whole run (at `delta`). */
    patientTargetEpsilon: z.number().gt(0).max(100).default(1),
    /** L2 bound C_example of each patient's gradient in DP-SGD. */
    exampleClipNorm: z.number().gt(0).max(1000).default(1),
    /** Minimum number of accepted hospital updates for a round to close (default: every hospital). */
    quorum: z.number().int().min(1).max(300).optional(),
    /** Seconds a round waits for updates before `round.deadline` closes or fails it. */
    deadlineSeconds: z.number().int().min(1).max(86400).default(600),
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
    if (config.aggregation === 'fedavg' && config.noiseMultiplier > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['noiseMultiplier'],
        message: "noise needs aggregation 'dp-fedavg' (plain FedAvg has no sensitivity bound)",
      });
    }
    if (config.quorum !== undefined && config.hospitals !== undefined && config.quorum > config.hospitals) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: `quorum ${config.quorum} is more than the ${config.hospitals} hospitals`,
      });
    }
  });

export type TrainingConfig = z.infer<typeof TrainingConfigSchema>;
export type TrainingConfigInput = z.input<typeof TrainingConfigSchema>;
