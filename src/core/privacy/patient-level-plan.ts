import { gaussianEvent, poissonSampledEvent, selfComposedEvent, type DpEvent } from './dp-event';
import { noiseMultiplierForEpsilon } from './noise-calibration';
import { computeEpsilon } from './rdp-accountant';

/**
 * Poisson sampling for DP-SGD (Abadi et al. 2016, Sec. 3.1 "lot" sampling): every row joins every
 * step independently with rate q = batchSize / N, and an epoch is round(N / batchSize) steps, so it
 * touches N rows in expectation. One place for this arithmetic, shared by the batch schedule
 * (src/core/model/poisson-batches.ts) and the plan below, so the accounted steps are the run steps.
 */
export function poissonSamplingPlan(
  datasetSize: number,
  batchSize: number,
): { samplingProbability: number; stepsPerEpoch: number } {
  if (!Number.isInteger(datasetSize) || datasetSize < 1)
    throw new RangeError(`datasetSize must be a positive integer, got ${datasetSize}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  return {
    samplingProbability: Math.min(1, batchSize / datasetSize),
    stepsPerEpoch: Math.max(1, Math.round(datasetSize / batchSize)),
  };
}

/** The ledger entry of `steps` DP-SGD steps: self-composed PoissonSampled(q, Gaussian(z)). */
export function dpSgdPrivacyEvent(
  samplingProbability: number,
  noiseMultiplier: number,
  steps: number,
): DpEvent {
  return selfComposedEvent(poissonSampledEvent(samplingProbability, gaussianEvent(noiseMultiplier)), steps);
}

export interface PatientLevelPlanInput {
  targetEpsilon: number;
  delta: number;
  /** The hospital's own training rows N: each hospital plans with its own N. */
  datasetSize: number;
  batchSize: number;
  epochsPerRound: number;
  rounds: number;
}

export interface PatientLevelPlan {
  /** Smallest z reaching targetEpsilon over every step of every round. */
  noiseMultiplier: number;
  samplingProbability: number;
  stepsPerRound: number;
  totalSteps: number;
  /** ε actually reached with that z (≤ targetEpsilon). */
  epsilon: number;
}

/**
 * Calibrates patient-level DP-SGD before training: the noise multiplier z such that every step of
 * every round, composed (RDP of the sampled Gaussian, Mironov, Talwar, Zhang 2019), stays within
 * (targetEpsilon, delta) for any one patient of this hospital.
 */
export function planPatientLevelDp(input: PatientLevelPlanInput): PatientLevelPlan {
  const { targetEpsilon, delta, datasetSize, batchSize, epochsPerRound, rounds } = input;
  if (!Number.isInteger(epochsPerRound) || epochsPerRound < 1)
    throw new RangeError(`epochsPerRound must be a positive integer, got ${epochsPerRound}`);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  const { samplingProbability, stepsPerEpoch } = poissonSamplingPlan(datasetSize, batchSize);
  const stepsPerRound = stepsPerEpoch * epochsPerRound;
  const totalSteps = stepsPerRound * rounds;
  const { noiseMultiplier, epsilon } = noiseMultiplierForEpsilon({
    targetEpsilon,
    delta,
    samplingProbability,
    steps: totalSteps,
  });
  return { noiseMultiplier, samplingProbability, stepsPerRound, totalSteps, epsilon };
}

/** What one step adds up: E‖noise‖ versus the largest possible signal, over a whole run. */
export interface NoiseToSignal {
  /** z·√d/m: the norm of N(0, (z·C/m)²·I_d) on the average over the norm bound C of that average. */
  perStep: number;
  /** perStep/√T: a consistent signal adds up linearly over T steps, independent noise as √T. */
  overRun: number;
}

/**
 * Noise-to-signal ratio of a clip-and-noise mechanism averaging m clipped contributions per step.
 *
 * Why this ratio: the average of m contributions clipped to C has norm at most C (reached when they
 * agree); the noise on it, N(0, (z·C/m)²) per coordinate over d coordinates, has norm ≈ z·C·√d/m.
 * Their ratio z·√d/m is independent of C. Over T steps the agreeing part of the updates adds up
 * linearly and independent noise as √T, so z·√d/(m·√T) > 1 means the noise outweighs even the best
 * case signal of the whole run: it drowns it. (Per coordinate this is the same comparison: noise
 * std z·C/m against a signal C/√d spread evenly over d coordinates.)
 */
export function noiseToSignal(
  noiseMultiplier: number,
  contributorsPerStep: number,
  parameters: number,
  steps: number,
): NoiseToSignal {
  const perStep = (noiseMultiplier * Math.sqrt(parameters)) / contributorsPerStep;
  return { perStep, overRun: perStep / Math.sqrt(Math.max(1, steps)) };
}

/** Above this run-level ratio the plan warns that the noise drowns the signal. */
export const DROWNING_RATIO = 1;

export interface TrainingPlanInput {
  rounds: number;
  localEpochs: number;
  batchSize: number;
  delta: number;
  /** Model parameters d (noise is added to every one of them). */
  parameters: number;
  /** Each enrolled hospital with its own training rows. */
  hospitals: ReadonlyArray<{ hospitalId: string; trainRows: number }>;
  /** Patient-level DP-SGD target; null when the hospital jobs do not run DP-SGD. */
  patientTargetEpsilon: number | null;
  /** Hospital-level DP-FedAvg in the aggregator. */
  aggregation: 'fedavg' | 'dp-fedavg' | 'median' | 'trimmed-mean';
  clipNorm: number;
  noiseMultiplier: number;
  /** Hospitals expected per round (default: all of them, q = 1). */
  hospitalsPerRound?: number;
  /** Hospital-level budget, if any. */
  epsilonBudget?: number | null;
}

export interface PlanLine {
  severity: 'info' | 'warning';
  unit: 'patient' | 'hospital';
  /** One sentence a person can read. */
  text: string;
}

export interface PatientLevelHospitalPlan extends Partial<PatientLevelPlan> {
  hospitalId: string;
  trainRows: number;
  /** Why no plan could be made (target unreachable), when so. */
  error?: string;
  noiseToSignal?: NoiseToSignal;
}

export interface HospitalLevelPlan {
  epsilon: number | null;
  order: number | null;
  noiseMultiplier: number;
  clipNorm: number;
  samplingProbability: number;
  rounds: number;
  noiseStdOnAverage: number;
  noiseToSignal: NoiseToSignal | null;
}

export interface TrainingPlanExplanation {
  delta: number;
  patientLevel: PatientLevelHospitalPlan[] | null;
  hospitalLevel: HospitalLevelPlan;
  lines: PlanLine[];
}

const fmt = (x: number, digits = 3): string =>
  Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : '∞';

/**
 * Before training: the guarantee each unit will get, and warnings when a guarantee is absent or the
 * noise would drown the signal. Pure: the caller supplies the hospitals' sizes and parameter count.
 */
export function explainTrainingPlan(input: TrainingPlanInput): TrainingPlanExplanation {
  const lines: PlanLine[] = [];
  const patientLevel = input.patientTargetEpsilon === null ? null : explainPatientLevel(input, lines);
  if (patientLevel === null) {
    lines.push({
      severity: 'warning',
      unit: 'patient',
      text: 'no patient-level DP-SGD: a single patient is protected only through the hospital-level guarantee, if any',
    });
  }
  const hospitalLevel = explainHospitalLevel(input, lines);
  return { delta: input.delta, patientLevel, hospitalLevel, lines };
}

function explainPatientLevel(input: TrainingPlanInput, lines: PlanLine[]): PatientLevelHospitalPlan[] {
  const target = input.patientTargetEpsilon!;
  return input.hospitals.map(({ hospitalId, trainRows }) => {
    try {
      const plan = planPatientLevelDp({
        targetEpsilon: target,
        delta: input.delta,
        datasetSize: trainRows,
        batchSize: input.batchSize,
        epochsPerRound: input.localEpochs,
        rounds: input.rounds,
      });
      const expectedBatch = plan.samplingProbability * trainRows;
      const ratio = noiseToSignal(plan.noiseMultiplier, expectedBatch, input.parameters, plan.totalSteps);
      lines.push({
        severity: 'info',
        unit: 'patient',
        text: `${hospitalId} (N = ${trainRows}): patient-level ε = ${fmt(plan.epsilon)}, δ = ${input.delta} with DP-SGD z = ${fmt(plan.noiseMultiplier, 4)}, q = ${fmt(plan.samplingProbability)}, ${plan.totalSteps} steps (${plan.stepsPerRound} per round)`,
      });
      if (ratio.overRun > DROWNING_RATIO) {
        lines.push({
          severity: 'warning',
          unit: 'patient',
          text: `${hospitalId}: noise drowns the signal — noise-to-signal z·√d/(B·√T) = ${fmt(ratio.overRun)} > ${DROWNING_RATIO} (d = ${input.parameters} parameters, expected batch B = ${fmt(expectedBatch)}); more rows, a larger batch or a looser ε would help`,
        });
      }
      return { hospitalId, trainRows, ...plan, noiseToSignal: ratio };
    } catch (error) {
      const message = (error as Error).message;
      lines.push({
        severity: 'warning',
        unit: 'patient',
        text: `${hospitalId} (N = ${trainRows}): patient-level ε = ${target} cannot be reached: ${message}`,
      });
      return { hospitalId, trainRows, error: message };
    }
  });
}

function explainHospitalLevel(input: TrainingPlanInput, lines: PlanLine[]): HospitalLevelPlan {
  const enrolled = input.hospitals.length;
  const perRound = Math.min(enrolled, input.hospitalsPerRound ?? enrolled);
  const samplingProbability = perRound / enrolled;
  const noiseMultiplier = input.aggregation === 'dp-fedavg' ? input.noiseMultiplier : 0;
  const base = {
    noiseMultiplier,
    clipNorm: input.clipNorm,
    samplingProbability,
    rounds: input.rounds,
    // DP-FedAvg adds N(0, (z·C)²) to the sum of clipped updates and divides by the expected m.
    noiseStdOnAverage: (noiseMultiplier * input.clipNorm) / perRound,
  };
  if (noiseMultiplier === 0) {
    lines.push({
      severity: 'warning',
      unit: 'hospital',
      text: `no hospital-level guarantee (ε = ∞): ${input.aggregation === 'dp-fedavg' ? 'noise multiplier 0' : input.aggregation === 'fedavg' ? 'plain FedAvg adds no noise' : `the ${input.aggregation} adds no noise`}; \`himas privacy plan --target-epsilon E --sampling-rate ${fmt(samplingProbability)} --steps ${input.rounds} --delta ${input.delta}\` gives the z for a target`,
    });
    return { ...base, epsilon: null, order: null, noiseToSignal: null };
  }
  const { epsilon, order } = computeEpsilon(
    dpSgdPrivacyEvent(samplingProbability, noiseMultiplier, input.rounds),
    input.delta,
  );
  const ratio = noiseToSignal(noiseMultiplier, perRound, input.parameters, input.rounds);
  lines.push({
    severity: 'info',
    unit: 'hospital',
    text: `hospital-level ε = ${fmt(epsilon)}, δ = ${input.delta} over ${input.rounds} round(s): DP-FedAvg z = ${noiseMultiplier}, C = ${input.clipNorm}, q = ${fmt(samplingProbability)} (${perRound} of ${enrolled} hospitals per round); noise std on the average z·C/m = ${fmt(base.noiseStdOnAverage)} per parameter`,
  });
  if (input.epsilonBudget != null && epsilon > input.epsilonBudget) {
    lines.push({
      severity: 'warning',
      unit: 'hospital',
      text: `the planned hospital-level ε = ${fmt(epsilon)} exceeds the budget ${input.epsilonBudget}: training will halt before the last round`,
    });
  }
  if (ratio.overRun > DROWNING_RATIO) {
    lines.push({
      severity: 'warning',
      unit: 'hospital',
      text: `noise drowns the signal: with m = ${perRound} hospitals the noise on the average (norm ≈ z·C·√d/m, d = ${input.parameters}) is ${fmt(ratio.perStep)}× the largest possible average update C per round, ${fmt(ratio.overRun)}× over ${input.rounds} rounds (ratio z·√d/(m·√T) > ${DROWNING_RATIO}); hospital-level DP needs many hospitals per round`,
    });
  }
  return { ...base, epsilon: Number.isFinite(epsilon) ? epsilon : null, order, noiseToSignal: ratio };
}
