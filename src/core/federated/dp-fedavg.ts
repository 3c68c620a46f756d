import {
  memoryOf,
  noisyAverageInto,
  prepareFreshFloat32,
  scaledSumInto,
  sumOfSquares,
} from '../kernels/aggregation-kernels';
import { gaussianEvent, poissonSampledEvent } from '../privacy/dp-event';
import { serverStepOf } from './server-step';
import {
  nonFiniteDeltaError,
  validateRound,
  type AggregationContext,
  type AggregationReport,
  type AggregationResult,
  type ClientUpdate,
  type AggregationStrategy,
  type JsonValue,
  type StrategyState,
} from './strategy';

export interface DpFedAvgOptions {
  /** C: every hospital's update is scaled down to L2 norm <= C. */
  clipNorm: number;
  /** z: noise std per coordinate is z * C / m. 0 means clip only (no privacy: the event has epsilon = infinity). */
  noiseMultiplier: number;
}

/** The id under which the wrapper hands its noisy average to the inner server optimizer. */
export const DP_AGGREGATE_ID = 'dp-aggregate';

/**
 * The sum of the round's clipped updates, computed elsewhere: secure aggregation hands the
 * aggregator only Σ_k clip(Δ_k, C) (unmasked and decoded from fixed point), never an update.
 */
export interface ClippedSum {
  /** Hospitals whose clipped updates are in the sum. */
  participants: string[];
  /** Σ_k clip(Δ_k, C), one value per parameter. */
  sum: Float64Array;
}

/** DP-FedAvg that can also aggregate a pre-summed round (the masked path). */
export interface DpFedAvgStrategy extends AggregationStrategy {
  /**
   * The same mechanism as `aggregate` from Σ clip(Δ_k, C) instead of the updates: identical noise
   * (std z·C on the sum, ÷ m) and server step. Clipping is the hospitals' job here, so the report
   * has no norms and no clipped hospitals.
   */
  aggregateClippedSum(
    global: Float32Array,
    clipped: ClippedSum,
    state: StrategyState | undefined,
    context: AggregationContext,
  ): AggregationResult;
}

/**
 * Hospital-level DP-FedAvg with fixed clipping, as a wrapper around a server optimizer
 * (McMahan, Ramage, Talwar, Zhang 2018, "Learning Differentially Private Recurrent Language Models",
 * Alg. 1 with the fixed-denominator estimator f~_f and the Gaussian mechanism of Sec. 2-3):
 *
 *   noisyAverage = ( sum_k clip(Delta_k, C) + N(0, (z C)^2 I) ) / m,   m = expectedHospitals
 *
 * then `inner` takes one server step with noisyAverage as the round's only update: FedAvg gives
 * global + eta * noisyAverage, FedAdam (Reddi et al. 2021) adapts to it. The inner optimizer is
 * post-processing, so it costs no privacy.
 *
 * Why a fixed denominator and uniform weights: adding or removing one hospital then changes the
 * sum by at most C, so the average has L2 sensitivity C/m and noise z C/m is a Gaussian mechanism
 * with noise multiplier z. Dividing by the number that arrived, or weighting by numExamples, would
 * make the sensitivity depend on private data (a hospital with many examples could move the average
 * by far more than C/m), and the accounting below would no longer hold.
 *
 * The round's ledger event is PoissonSampled(q = expectedHospitals / enrolledHospitals, Gaussian(z))
 * (q = 1 when every enrolled hospital is expected), accounted by the sampled Gaussian RDP of
 * Mironov, Talwar, Zhang 2019. The event is only honest if hospitals really are sampled that way.
 * With z = 0 the event is still recorded, as Gaussian(0), whose RDP and epsilon are infinite, so a
 * ledger can never claim privacy for a clip-only round.
 */
export function dpFedAvg(inner: AggregationStrategy, options: DpFedAvgOptions): DpFedAvgStrategy {
  const { clipNorm, noiseMultiplier } = options;
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm))
    throw new RangeError(`clipNorm must be positive, got ${clipNorm}`);
  if (!(noiseMultiplier >= 0) || !Number.isFinite(noiseMultiplier)) {
    throw new RangeError(`noiseMultiplier must be finite and >= 0, got ${noiseMultiplier}`);
  }
  const name = `dp-fedavg(${inner.name})`;

  /** noisyAverage = (sum + N(0, (zC)^2 I)) / m, then the inner server step on it. */
  function noiseAndStep(
    global: Float32Array,
    sum: Float64Array,
    state: StrategyState | undefined,
    context: AggregationContext,
    report: Pick<AggregationReport, 'participants' | 'clippedHospitals' | 'updateNorms'>,
  ): AggregationResult {
    const m = checkContext(context);
    const noiseStd = (noiseMultiplier * clipNorm) / m;
    const random = context.random;
    if (noiseStd > 0 && (random === undefined || random.secure !== true)) {
      throw new Error('DP-FedAvg needs context.random to be a SecureRandom (node:crypto) to draw its noise');
    }
    const length = global.length;
    const innerStep = serverStepOf(inner);
    // Where the clipped sum lives in kernel memory, the noise and the average go to its reused work
    // areas (no fresh 12 MB to fault in per round at P = 10^6) and the average is computed there in
    // place. Only for this module's server steps: they read the average and keep no reference to
    // it, so the area may be overwritten next round; any other inner strategy gets its own copy.
    const memory = innerStep === undefined ? null : memoryOf(sum);
    // noisyAverage in float32, with its sum of squares: its norm for the inner step and, since
    // a huge C or z can overflow float32, the finiteness check the inner validation would make.
    const noisyAverage = memory?.workspaceFloat32('average', length) ?? new Float32Array(length);
    let squares = 0;
    if (noiseStd > 0 && random !== undefined) {
      const noise = memory?.workspaceFloat64('noise', length) ?? new Float64Array(length);
      random.fillStandardNormal(noise);
      // fround((sum + zC·noise) / m), its squares on the SIMD kernels (noisyAverageInto).
      squares = noisyAverageInto(noisyAverage, sum, noise, noiseMultiplier * clipNorm, m);
      // Spent noise is never left behind, as the noise worker zeroes its own buffer after use.
      noise.fill(0);
    } else {
      for (let i = 0; i < length; i++) noisyAverage[i] = Math.fround(sum[i] / m);
      squares = sumOfSquares(noisyAverage);
    }

    const innerState = isStrategyState(state?.inner) ? state.inner : undefined;
    const average: ClientUpdate = { hospitalId: DP_AGGREGATE_ID, delta: noisyAverage, numExamples: 1 };
    let innerResult;
    if (innerStep === undefined) {
      innerResult = inner.aggregate(global, [average], innerState, context);
    } else {
      // The input was validated by the caller; the average is one well-formed update once it is finite.
      if (!Number.isFinite(squares)) throw nonFiniteDeltaError(DP_AGGREGATE_ID, noisyAverage);
      innerResult = innerStep(
        global,
        { sorted: [average], norms: [Math.sqrt(squares)] },
        innerState,
        context,
      );
    }
    const samplingProbability = Math.min(1, context.expectedHospitals / context.enrolledHospitals);
    return {
      weights: innerResult.weights,
      state: { inner: innerResult.state },
      report: {
        strategy: name,
        ...report,
        noiseStd,
        privacyEvent: poissonSampledEvent(samplingProbability, gaussianEvent(noiseMultiplier)),
      },
    };
  }

  return {
    name,
    aggregateClippedSum(global, clipped, state, context) {
      if (clipped.sum.length !== global.length) {
        throw new RangeError(`clipped sum has ${clipped.sum.length} values, the model has ${global.length}`);
      }
      for (let i = 0; i < clipped.sum.length; i++) {
        if (!Number.isFinite(clipped.sum[i]))
          throw new RangeError(`clipped sum value ${i} is ${clipped.sum[i]}`);
      }
      const participants = [...clipped.participants].sort();
      return noiseAndStep(global, clipped.sum, state, context, {
        participants,
        clippedHospitals: [],
        updateNorms: {},
      });
    },
    aggregate(global, updates, state, context) {
      const { sorted, norms } = validateRound(global, updates);
      checkContext(context);

      // The CSPRNG draws the round's noise on another core while this one sums (when it can).
      if (noiseMultiplier > 0) context.random?.prefetchStandardNormal?.(global.length);

      // Clipping folded into the sum: clipToNorm's float32 copy v[i]·scale becomes fround(v[i]·scale)
      // added in place (scale 1 adds v[i] itself), the same value without allocating K copies; one
      // tiled kernel pass reads every update once (src/core/kernels). The norms come from validation.
      // The sum lives with the updates when they are in kernel memory (a reused work area), so a
      // helper thread can write its tiles of it in place.
      const memory = memoryOf(sorted[0].delta);
      const inMemory = memory !== null && sorted.every((u) => memory.owns(u.delta));
      const sum = inMemory ? memory.workspaceFloat64('sum', global.length) : new Float64Array(global.length);
      const clippedHospitals: string[] = [];
      const updateNorms: Record<string, number> = {};
      const scales = sorted.map(({ hospitalId }, k) => {
        const norm = norms[k];
        updateNorms[hospitalId] = norm;
        if (!(norm > clipNorm)) return 1;
        clippedHospitals.push(hospitalId);
        return clipNorm / norm;
      });
      // While the helper thread starts on the sum, this one faults in the new weights' pages
      // (a registered inner step takes them with freshFloat32).
      scaledSumInto(
        sum,
        sorted.map((u) => u.delta),
        scales,
        () => {
          if (serverStepOf(inner) !== undefined) prepareFreshFloat32(global.length);
        },
      );
      return noiseAndStep(global, sum, state, context, {
        participants: sorted.map((u) => u.hospitalId),
        clippedHospitals,
        updateNorms,
      });
    },
  };
}

function checkContext(context: AggregationContext): number {
  const m = context.expectedHospitals;
  const n = context.enrolledHospitals;
  if (!Number.isInteger(m) || m < 1)
    throw new RangeError(`expectedHospitals must be a positive integer, got ${m}`);
  if (!Number.isInteger(n) || n < m) {
    throw new RangeError(`enrolledHospitals must be an integer >= expectedHospitals (${m}), got ${n}`);
  }
  return m;
}

function isStrategyState(value: JsonValue | undefined): value is StrategyState {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
