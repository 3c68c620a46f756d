import { smallestNoiseMultiplier, UnreachableEpsilonError } from './calibration';
import { composedEvent, gaussianEvent, selfComposedEvent, type DpEvent } from './dp-event';
import { dpSgdPrivacyEvent, poissonSamplingPlan } from './patient-level-plan';
import { computeEpsilon } from './rdp-accountant';

/**
 * Everything one run may release about one hospital's patients, planned before any record is read
 * (../shared/ARCHITECTURE.md §2, "every release is paid for"). Each mechanism is a DP event on one
 * or both of the hospital's two disjoint patient partitions:
 *
 * - `train` (the training split): DP-SGD, or — without DP-SGD — training with no guarantee (ε = ∞);
 * - `test` (the held-out split): the evaluation releases (noisy risk histograms, one per evaluated
 *   model version);
 * - both: the aggregate releases for the agents (surveillance counts, treatment tables), which read
 *   every stay.
 *
 * The partitions hold different patients, so a patient is exposed only to the mechanisms on their
 * own partition (parallel composition); the hospital's guarantee is the worse of the two, each
 * composed with the RDP accountant over heterogeneous events. Noise of the fixed mechanisms comes
 * from the configuration; DP-SGD's z and the evaluations' z are calibrated so that each partition
 * stays within the run's target. The plan depends on public inputs only (the settings and the
 * hospital's declared cohort size), so anyone can recompute it.
 */
export type Partition = 'train' | 'test';
export const PARTITIONS: readonly Partition[] = ['train', 'test'];

export type MechanismKind = 'dp-sgd' | 'unprotected-training' | 'evaluation' | 'surveillance' | 'treatment';

/** What a use of the data is called in the ledger: one per training round, evaluation or stats job. */
export type SlotKind = 'train' | 'evaluation' | 'stats';

export interface PlannedMechanism {
  mechanism: MechanismKind;
  partitions: Partition[];
  /** The kind of use that runs it, and how many uses the run plans. */
  slot: SlotKind;
  uses: number;
  /** One use (one round of DP-SGD, one evaluation, one stats release). */
  perUse: DpEvent;
  /** All planned uses: perUse self-composed `uses` times. */
  event: DpEvent;
  noiseMultiplier: number;
  /** L2 sensitivity of one patient on the released vector (the noise SD is z times it). */
  l2Sensitivity: number;
  /** DP-SGD only: Poisson rate q and steps per round. */
  samplingProbability?: number;
  stepsPerUse?: number;
  /** ε of this mechanism alone over the run, at the plan's δ (∞ as Infinity). */
  epsilonAlone: number;
}

export interface PartitionTotal {
  epsilon: number;
  order: number | null;
}

export interface RunPrivacyPlan {
  targetEpsilon: number;
  delta: number;
  mechanisms: PlannedMechanism[];
  partitions: Record<Partition, PartitionTotal>;
  /** The hospital's run guarantee: the worse partition (Infinity without DP-SGD). */
  epsilon: number;
}

export interface RunPrivacyPlanInput {
  targetEpsilon: number;
  delta: number;
  rounds: number;
  /** Null: the hospital trains without DP-SGD (no patient-level guarantee for the train split). */
  dpSgd: {
    /** The hospital's declared (public) number of training stays: q = batch / declared. */
    declaredTrainStays: number;
    batchSize: number;
    epochsPerRound: number;
  } | null;
  /** Model versions evaluated on the test split over the run (≥ 0). */
  evaluations: number;
  /** Null = not released. Surveillance counts: one stay moves up to L2 = 2 (surveillance-counts.ts). */
  surveillanceNoiseMultiplier: number | null;
  surveillanceSensitivity: number;
  /** Null = not released. Treatment tables: one stay moves one cell by 1. */
  treatmentNoiseMultiplier: number | null;
}

export class PrivacyPlanError extends Error {}

/** Evaluation releases: one stay adds 1 to one cell of the per-class risk histogram. */
export const EVALUATION_L2_SENSITIVITY = 1;

/** Above this z a calibrated mechanism's release is noise; the plan refuses rather than pretend. */
export const MAX_CALIBRATED_NOISE_MULTIPLIER = 1e4;

export function planRunPrivacy(input: RunPrivacyPlanInput): RunPrivacyPlan {
  const { targetEpsilon, delta, rounds } = input;
  if (!(targetEpsilon > 0) || !Number.isFinite(targetEpsilon))
    throw new RangeError(`targetEpsilon must be positive and finite, got ${targetEpsilon}`);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  if (!Number.isInteger(input.evaluations) || input.evaluations < 0)
    throw new RangeError(`evaluations must be a non-negative integer, got ${input.evaluations}`);
  const epsilonOf = (events: DpEvent[]) =>
    events.length === 0 ? 0 : computeEpsilon(composedEvent(events), delta).epsilon;

  const mechanisms: PlannedMechanism[] = [];
  const fixed = (
    mechanism: 'surveillance' | 'treatment',
    noiseMultiplier: number | null,
    l2Sensitivity: number,
  ) => {
    if (noiseMultiplier === null) return;
    mechanisms.push(
      single(
        mechanism,
        ['train', 'test'],
        'stats',
        1,
        gaussianEvent(noiseMultiplier),
        noiseMultiplier,
        l2Sensitivity,
      ),
    );
  };
  fixed('surveillance', input.surveillanceNoiseMultiplier, input.surveillanceSensitivity);
  fixed('treatment', input.treatmentNoiseMultiplier, 1);
  const fixedOn = (partition: Partition) =>
    mechanisms.filter((m) => m.partitions.includes(partition)).map((m) => m.event);
  for (const partition of PARTITIONS) {
    const spent = epsilonOf(fixedOn(partition));
    if (spent > targetEpsilon)
      throw new PrivacyPlanError(
        `the surveillance and treatment releases alone cost ε = ${fmt(spent)} on the ${partition} split, more than the run's target ${targetEpsilon} (δ = ${delta}): raise their noise multipliers, turn them off, or raise patientTargetEpsilon`,
      );
  }

  mechanisms.push(trainingMechanism(input, fixedOn('train'), epsilonOf));
  if (input.evaluations > 0) mechanisms.push(evaluationMechanism(input, fixedOn('test'), epsilonOf));

  const partitions = {} as Record<Partition, PartitionTotal>;
  for (const partition of PARTITIONS) {
    const events = mechanisms.filter((m) => m.partitions.includes(partition)).map((m) => m.event);
    partitions[partition] =
      events.length === 0 ? { epsilon: 0, order: null } : computeEpsilon(composedEvent(events), delta);
  }
  for (const m of mechanisms) m.epsilonAlone = computeEpsilon(m.event, delta).epsilon;
  return {
    targetEpsilon,
    delta,
    mechanisms,
    partitions,
    epsilon: Math.max(partitions.train.epsilon, partitions.test.epsilon),
  };
}

function trainingMechanism(
  input: RunPrivacyPlanInput,
  fixedTrain: DpEvent[],
  epsilonOf: (events: DpEvent[]) => number,
): PlannedMechanism {
  if (input.dpSgd === null) {
    // Training without DP-SGD releases the update exactly: a Gaussian with no noise, ε = ∞.
    return single('unprotected-training', ['train'], 'train', input.rounds, gaussianEvent(0), 0, Infinity);
  }
  const { declaredTrainStays, batchSize, epochsPerRound } = input.dpSgd;
  const { samplingProbability, stepsPerEpoch } = poissonSamplingPlan(declaredTrainStays, batchSize);
  const stepsPerRound = stepsPerEpoch * epochsPerRound;
  const withNoise = (z: number) => dpSgdPrivacyEvent(samplingProbability, z, stepsPerRound * input.rounds);
  const z = calibrate(
    (noise) => epsilonOf([...fixedTrain, withNoise(noise)]),
    input.targetEpsilon,
    'DP-SGD on the train split',
  );
  return {
    mechanism: 'dp-sgd',
    partitions: ['train'],
    slot: 'train',
    uses: input.rounds,
    perUse: dpSgdPrivacyEvent(samplingProbability, z, stepsPerRound),
    event: withNoise(z),
    noiseMultiplier: z,
    l2Sensitivity: 1,
    samplingProbability,
    stepsPerUse: stepsPerRound,
    epsilonAlone: NaN,
  };
}

function evaluationMechanism(
  input: RunPrivacyPlanInput,
  fixedTest: DpEvent[],
  epsilonOf: (events: DpEvent[]) => number,
): PlannedMechanism {
  const n = input.evaluations;
  const z = calibrate(
    (noise) => epsilonOf([...fixedTest, selfComposedEvent(gaussianEvent(noise), n)]),
    input.targetEpsilon,
    `${n} evaluation release(s) on the test split`,
  );
  return single('evaluation', ['test'], 'evaluation', n, gaussianEvent(z), z, EVALUATION_L2_SENSITIVITY);
}

function calibrate(epsilonAt: (z: number) => number, target: number, what: string): number {
  try {
    return smallestNoiseMultiplier(epsilonAt, {
      targetEpsilon: target,
      tolerance: 1e-5,
      maxNoiseMultiplier: MAX_CALIBRATED_NOISE_MULTIPLIER,
    }).noiseMultiplier;
  } catch (error) {
    if (error instanceof UnreachableEpsilonError)
      throw new PrivacyPlanError(
        `${what} cannot fit the run's target ε = ${target}: the other releases on that split leave no room (noise would exceed z = ${MAX_CALIBRATED_NOISE_MULTIPLIER})`,
      );
    throw error;
  }
}

function single(
  mechanism: MechanismKind,
  partitions: Partition[],
  slot: SlotKind,
  uses: number,
  perUse: DpEvent,
  noiseMultiplier: number,
  l2Sensitivity: number,
): PlannedMechanism {
  return {
    mechanism,
    partitions,
    slot,
    uses,
    perUse,
    event: uses === 1 ? perUse : selfComposedEvent(perUse, uses),
    noiseMultiplier,
    l2Sensitivity,
    epsilonAlone: NaN,
  };
}

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : '∞');
