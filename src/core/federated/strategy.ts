import { freshFloat32, sumsOfSquares } from '../kernels/aggregation-kernels';
import type { SecureRandom } from '../random/random';
import type { DpEvent } from '../privacy/dp-event';

/** One hospital's contribution to a round. */
export interface ClientUpdate {
  hospitalId: string;
  /** Local weights minus the global weights the hospital started from. */
  delta: Float32Array;
  numExamples: number;
}

export interface AggregationContext {
  round: number;
  /** m: the fixed denominator of DP averaging (hospitals expected this round, not those that arrived). */
  expectedHospitals: number;
  enrolledHospitals: number;
  /** Required by the DP wrappers (Gaussian noise must come from a CSPRNG). */
  random?: SecureRandom;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Server-side optimizer state persisted between rounds (e.g. Adam moments as number[]). JSON only. */
export type StrategyState = { [key: string]: JsonValue };

export interface AggregationReport {
  strategy: string;
  /** Hospitals whose updates were aggregated, sorted. */
  participants: string[];
  /** Hospitals whose update norm exceeded the clip norm (DP wrappers only). */
  clippedHospitals: string[];
  /**
   * L2 norm of each hospital's update before clipping. These are raw functions of private data,
   * not differentially private: keep them on the server, never publish them with the model.
   */
  updateNorms: Record<string, number>;
  /** Std of the Gaussian noise added to each coordinate of the averaged update (0 if none). */
  noiseStd: number;
  /** The mechanism this round applied, for the privacy ledger; null if the round is not private. */
  privacyEvent: DpEvent | null;
}

export interface AggregationResult {
  /** The new global weights. */
  weights: Float32Array;
  state: StrategyState;
  report: AggregationReport;
}

/**
 * A server-side aggregation rule (Flower's Strategy, STYLE.md habit 4). Implementations are pure:
 * they never mutate their inputs, and wrappers (DP) compose around any inner strategy.
 */
export interface AggregationStrategy {
  readonly name: string;
  aggregate(
    global: Float32Array,
    updates: ClientUpdate[],
    state: StrategyState | undefined,
    context: AggregationContext,
  ): AggregationResult;
}

/** A round's inputs after validation: updates sorted by hospitalId and each one's L2 norm. */
export interface ValidatedRound {
  sorted: ClientUpdate[];
  /** ||sorted[k].delta||_2, accumulated in float64 (bit for bit what l2Norm returns). */
  norms: number[];
}

/**
 * Checks a round's inputs and returns the updates sorted by hospitalId. Aggregating in a canonical
 * order makes the result independent of arrival order bit for bit (float addition is not associative).
 */
export function validateUpdates(global: Float32Array, updates: readonly ClientUpdate[]): ClientUpdate[] {
  return validateRound(global, updates).sorted;
}

/**
 * validateUpdates plus every update's L2 norm, in one pass over each delta: the float64 sum of
 * squares of float32 values is finite exactly when every value is (|x| <= 3.4e38, so x² <= 1.2e77
 * and no sum of fewer than 1e231 of them overflows), so the norm doubles as the finiteness check.
 * Only a failed check rescans, to name the first bad index in the error.
 */
export function validateRound(global: Float32Array, updates: readonly ClientUpdate[]): ValidatedRound {
  if (updates.length === 0) throw new Error('cannot aggregate a round with no updates');
  // Σ x² is finite exactly when every value is (see above): one SIMD pass over the global weights.
  if (!Number.isFinite(sumsOfSquares([global])[0])) {
    const i = firstNonFinite(global);
    throw new Error(`global weights have a non-finite value at index ${i}`);
  }
  const seen = new Set<string>();
  for (const update of updates) {
    const id = update.hospitalId;
    if (typeof id !== 'string' || id.length === 0)
      throw new Error('every update needs a non-empty hospitalId');
    if (seen.has(id)) throw new Error(`hospital ${id} sent more than one update this round`);
    seen.add(id);
    if (!(update.delta instanceof Float32Array))
      throw new Error(`hospital ${id}: delta must be a Float32Array`);
    if (update.delta.length !== global.length) {
      throw new Error(
        `hospital ${id}: delta has ${update.delta.length} values, the global model has ${global.length}`,
      );
    }
    if (!Number.isFinite(update.numExamples) || update.numExamples < 0) {
      throw new Error(
        `hospital ${id}: numExamples must be a finite non-negative number, got ${update.numExamples}`,
      );
    }
  }
  const sorted = [...updates].sort((a, b) =>
    a.hospitalId < b.hospitalId ? -1 : a.hospitalId > b.hospitalId ? 1 : 0,
  );
  // Every norm in one batched kernel call (up to 8 updates read at once: src/core/kernels).
  const squares = sumsOfSquares(sorted.map((u) => u.delta));
  const finite = new Map(sorted.map((u, k) => [u, Number.isFinite(squares[k])]));
  const bad = updates.find((u) => !finite.get(u));
  if (bad !== undefined) throw nonFiniteDeltaError(bad.hospitalId, bad.delta);
  return { sorted, norms: squares.map(Math.sqrt) };
}

/** The error validateRound throws for a delta with a NaN or ±Infinity (names the first one). */
export function nonFiniteDeltaError(hospitalId: string, delta: Float32Array): Error {
  const i = firstNonFinite(delta);
  return new Error(`hospital ${hospitalId}: delta has a non-finite value (${delta[i]}) at index ${i}`);
}

function firstNonFinite(v: Float32Array): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return i;
  return -1;
}

/** global + step, computed in float64 and rounded once to float32. */
export function applyStep(global: Float32Array, step: Float64Array): Float32Array {
  const out = freshFloat32(global.length);
  for (let i = 0; i < global.length; i++) out[i] = global[i] + step[i];
  return out;
}
