import { blobPaths, type RunDocument } from '../../schemas/documents';
import { EventSchemas, type EventOf } from '../../schemas/events';
import { releaseWeeklyCounts, weeklyCounts, L2_SENSITIVITY } from '../core/agents/surveillance';
import { noisyTables, REFERENCE_SEVERITY_CUTS, tablesWithCuts } from '../core/agents/treatment-effect';
import type { CohortRecord } from '../core/data';
import { computeEpsilon, gaussianEvent, type DpEvent } from '../core/privacy';
import type { SecureRandom } from '../core/random/random';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { CohortSource } from '../ports/cohort-source';
import type { EventBus } from '../ports/event-bus';
import { makeEvent, publishEvent } from './event-publishing';
import type { HospitalEventSigner } from '../runtime/hospital-event-signing';

/**
 * A hospital's aggregate releases for the surveillance and treatment agents, made once per run in
 * the `stats` job when the run enables them: weekly counts of all its stays (train and test) with
 * Gaussian noise of SD 2z (Δ₂ = 2), and severity-stratified 2×2 treatment tables with noise SD z
 * (Δ₂ = 1, public strata). Each is one Gaussian mechanism on both of the hospital's partitions,
 * part of the run's plan and reservation in the hospital's one ledger (patient-privacy.ts).
 *
 * `beforeRead` charges the use to that ledger and runs before the first record is read; the noisy
 * release is stored, and a re-run re-sends the stored numbers (post-processing: no new noise, no
 * data read, no new charge). Only noisy numbers ever leave: no exact count, not even how many
 * stays lacked a date.
 */
export type AggregateKind = 'surveillance' | 'treatment';

export interface AggregateDeps {
  cohorts: CohortSource;
  blobs: BlobStore;
  events: Pick<EventBus, 'publish'>;
  clock: Clock;
  random: SecureRandom;
  /** The hospital's signature on what it releases (the agents verify it against the enrolment). */
  sign: HospitalEventSigner;
}

/** What each release sent, for the job's outcome line. */
export interface AggregateOutcome {
  kind: AggregateKind;
  status: 'released' | 're-sent' | 'nothing to release' | 'not enabled';
  epsilon: number | null;
}

export async function shareAggregates(
  runId: string,
  hospitalId: string,
  run: RunDocument,
  deps: AggregateDeps,
  beforeRead: () => Promise<void>,
): Promise<AggregateOutcome[]> {
  const config = run.config;
  let records: CohortRecord[] | undefined;
  let charged = false;
  const allStays = async () => {
    if (!charged) {
      await beforeRead();
      charged = true;
    }
    return (records ??= [
      ...(await deps.cohorts.read(hospitalId, 'train')),
      ...(await deps.cohorts.read(hospitalId, 'test')),
    ]);
  };
  const outcomes: AggregateOutcome[] = [];
  const surveillanceZ = config.surveillanceNoiseMultiplier;
  const treatmentZ = config.treatmentNoiseMultiplier;

  if (surveillanceZ === null) outcomes.push({ kind: 'surveillance', status: 'not enabled', epsilon: null });
  else
    outcomes.push(
      await releaseOnce(runId, hospitalId, 'surveillance', deps, {
        noiseMultiplier: surveillanceZ,
        l2Sensitivity: L2_SENSITIVITY,
        build: async () => {
          const stays = await allStays();
          if (!stays.some((r) => r.admittime !== undefined)) return null;
          const exact = weeklyCounts(
            hospitalId,
            stays,
            config.surveillancePeriodStart,
            config.surveillanceWeeks,
          );
          const { release, noiseStd } = releaseWeeklyCounts(exact, surveillanceZ, deps.random);
          return (privacy) =>
            makeEvent('surveillance.reported', {
              id: `surveillance:${runId}:${hospitalId}`,
              runId,
              round: 0,
              time: deps.clock.now(),
              data: {
                hospitalId,
                periodStart: release.periodStart,
                signals: [...release.signals],
                counts: release.counts.map((row) => row.map(round3)),
                privacy: { ...privacy, noiseStd },
              },
            });
        },
        delta: config.delta,
      }),
    );
  if (treatmentZ === null) outcomes.push({ kind: 'treatment', status: 'not enabled', epsilon: null });
  else
    outcomes.push(
      await releaseOnce(runId, hospitalId, 'treatment', deps, {
        noiseMultiplier: treatmentZ,
        l2Sensitivity: 1,
        build: async () => {
          const stays = await allStays();
          if (!stays.some((r) => r.vasopressor_day1 !== undefined)) return null;
          const exact = tablesWithCuts(hospitalId, stays, REFERENCE_SEVERITY_CUTS);
          const { tables } = noisyTables(exact, treatmentZ, deps.random, {
            clampAtZero: false,
          });
          return (privacy) =>
            makeEvent('treatment.reported', {
              id: `treatment:${runId}:${hospitalId}`,
              runId,
              round: 0,
              time: deps.clock.now(),
              data: {
                hospitalId,
                treatment: 'vasopressor_day1',
                outcome: 'label_inhospital_mortality',
                stratumCuts: [...REFERENCE_SEVERITY_CUTS],
                tables: tables.tables.map((t) => ({
                  stratum: t.stratum,
                  a: round3(t.a),
                  b: round3(t.b),
                  c: round3(t.c),
                  d: round3(t.d),
                })),
                privacy: { ...privacy, noiseStd: treatmentZ },
              },
            });
        },
        delta: config.delta,
      }),
    );
  return outcomes;
}

type ReleaseEvent = EventOf<'surveillance.reported'> | EventOf<'treatment.reported'>;
type ReleasePrivacy = Omit<ReleaseEvent['data']['privacy'], 'noiseStd'>;

async function releaseOnce(
  runId: string,
  hospitalId: string,
  kind: AggregateKind,
  deps: AggregateDeps,
  spec: {
    noiseMultiplier: number;
    l2Sensitivity: number;
    delta: number;
    /** Reads the data and draws the noise; null when the hospital has no such data. */
    build: () => Promise<((privacy: ReleasePrivacy) => ReleaseEvent) | null>;
  },
): Promise<AggregateOutcome> {
  const stored = blobPaths.release(runId, hospitalId, kind);
  if (await deps.blobs.stat(stored)) {
    const event = EventSchemas[`${kind}.reported`].parse(
      JSON.parse(Buffer.from(await deps.blobs.get(stored)).toString('utf8')),
    ) as ReleaseEvent;
    await publishEvent(deps.events, deps.sign(event));
    return { kind, status: 're-sent', epsilon: event.data.privacy.epsilon };
  }
  const event: DpEvent = gaussianEvent(spec.noiseMultiplier);
  // build() charges the hospital's ledger before it reads the first record (see beforeRead).
  const make = await spec.build();
  if (make === null) return { kind, status: 'nothing to release', epsilon: null };
  const epsilon = finiteOrNull(computeEpsilon(event, spec.delta).epsilon);
  const release = make({
    unit: 'patient',
    epsilon,
    delta: spec.delta,
    noiseMultiplier: spec.noiseMultiplier,
    l2Sensitivity: spec.l2Sensitivity,
    event,
  });
  await deps.blobs.put(stored, Buffer.from(JSON.stringify(release)), { contentType: 'application/json' });
  await publishEvent(deps.events, deps.sign(release));
  return { kind, status: 'released', epsilon };
}

/** Post-processing: three decimals are plenty for counts whose noise SD is ≥ 0.1. */
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** One line for the log: what each release did and its ε (patient-level, this release alone). */
export function describeAggregates(outcomes: readonly AggregateOutcome[]): string {
  return outcomes
    .map((o) =>
      o.status === 'nothing to release'
        ? `${o.kind}: nothing to release (no stay carries the needed column)`
        : o.status === 'not enabled'
          ? `${o.kind}: not enabled in this run`
          : `${o.kind} ${o.status} (this release alone: patient-level ε = ${o.epsilon === null ? '∞' : o.epsilon.toFixed(2)}, part of the hospital's run total)`,
    )
    .join('; ');
}
