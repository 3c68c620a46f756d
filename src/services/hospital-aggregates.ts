import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { blobPaths, type RunDocument } from '../../schemas/documents';
import { EventSchemas, type EventOf } from '../../schemas/events';
import { DpEventDataSchema } from '../../schemas/privacy';
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

/**
 * A hospital's aggregate releases for the surveillance and treatment agents (issue 7, agents 2
 * and 3), made once per run in the `stats` job: weekly counts of all its stays (train and test)
 * with Gaussian noise of SD 2z (Δ₂ = 2), and severity-stratified 2×2 treatment tables with noise
 * SD z (Δ₂ = 1, public strata). The stay is the unit; each release is one Gaussian mechanism,
 * stated as ε at the run's δ with the RDP accountant.
 *
 * Privacy bookkeeping, as for DP-SGD (patient-privacy.ts): the mechanism is written to the
 * hospital's release ledger BEFORE the data is read, so a crashed or retried attempt is charged
 * too; the noisy release is stored, and a re-run re-sends the stored numbers (post-processing,
 * no new noise, no new charge). Only noisy numbers ever leave: no exact count, not even how
 * many stays lacked a date.
 */
export type AggregateKind = 'surveillance' | 'treatment';

export interface AggregateDeps {
  cohorts: CohortSource;
  blobs: BlobStore;
  events: Pick<EventBus, 'publish'>;
  clock: Clock;
  random: SecureRandom;
}

const LedgerEntrySchema = z.object({
  kind: z.enum(['surveillance', 'treatment']),
  attempt: z.string(),
  event: DpEventDataSchema,
  noiseMultiplier: z.number().gt(0),
  l2Sensitivity: z.number().gt(0),
});

/** What each release sent, for the job's outcome line. */
export interface AggregateOutcome {
  kind: AggregateKind;
  status: 'released' | 're-sent' | 'nothing to release';
  epsilon: number | null;
}

export async function shareAggregates(
  runId: string,
  hospitalId: string,
  run: RunDocument,
  deps: AggregateDeps,
): Promise<AggregateOutcome[]> {
  const config = run.config;
  let records: CohortRecord[] | undefined;
  const allStays = async () =>
    (records ??= [
      ...(await deps.cohorts.read(hospitalId, 'train')),
      ...(await deps.cohorts.read(hospitalId, 'test')),
    ]);
  const outcomes: AggregateOutcome[] = [];

  outcomes.push(
    await releaseOnce(runId, hospitalId, 'surveillance', deps, {
      noiseMultiplier: config.surveillanceNoiseMultiplier,
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
        const { release, noiseStd } = releaseWeeklyCounts(
          exact,
          config.surveillanceNoiseMultiplier,
          deps.random,
        );
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
  outcomes.push(
    await releaseOnce(runId, hospitalId, 'treatment', deps, {
      noiseMultiplier: config.treatmentNoiseMultiplier,
      l2Sensitivity: 1,
      build: async () => {
        const stays = await allStays();
        if (!stays.some((r) => r.vasopressor_day1 !== undefined)) return null;
        const exact = tablesWithCuts(hospitalId, stays, REFERENCE_SEVERITY_CUTS);
        const { tables } = noisyTables(exact, config.treatmentNoiseMultiplier, deps.random, {
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
              privacy: { ...privacy, noiseStd: config.treatmentNoiseMultiplier },
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
    await publishEvent(deps.events, event);
    return { kind, status: 're-sent', epsilon: event.data.privacy.epsilon };
  }
  const event: DpEvent = gaussianEvent(spec.noiseMultiplier);
  const attempt = randomUUID().slice(0, 8);
  // Charged before the data is read: an attempt that crashes after drawing noise still counts.
  await deps.blobs.put(
    blobPaths.releaseLedgerEntry(runId, hospitalId, kind, attempt),
    Buffer.from(
      JSON.stringify(
        LedgerEntrySchema.parse({
          kind,
          attempt,
          event,
          noiseMultiplier: spec.noiseMultiplier,
          l2Sensitivity: spec.l2Sensitivity,
        }),
      ),
    ),
    { contentType: 'application/json' },
  );
  const make = await spec.build();
  if (make === null) return { kind, status: 'nothing to release', epsilon: null };
  const epsilon = finiteOrNull(computeEpsilon(event, spec.delta).epsilon);
  const release = make({
    unit: 'stay',
    epsilon,
    delta: spec.delta,
    noiseMultiplier: spec.noiseMultiplier,
    l2Sensitivity: spec.l2Sensitivity,
    event,
  });
  await deps.blobs.put(stored, Buffer.from(JSON.stringify(release)), { contentType: 'application/json' });
  await publishEvent(deps.events, release);
  return { kind, status: 'released', epsilon };
}

/** Post-processing: three decimals are plenty for counts whose noise SD is ≥ 0.1. */
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The hospital's release guarantee as stated in its ledger: every attempt's mechanism composed. */
export async function releaseLedgerEpsilon(
  blobs: BlobStore,
  runId: string,
  hospitalId: string,
  delta: number,
): Promise<number | null> {
  const events: DpEvent[] = [];
  for (const path of await blobs.list(blobPaths.releaseLedger(runId, hospitalId))) {
    const entry = LedgerEntrySchema.parse(JSON.parse(Buffer.from(await blobs.get(path)).toString('utf8')));
    events.push(entry.event);
  }
  if (events.length === 0) return 0;
  return finiteOrNull(computeEpsilon({ kind: 'composed', events }, delta).epsilon);
}

/** One line for the log: what each release did and its ε (stay-level). */
export function describeAggregates(outcomes: readonly AggregateOutcome[]): string {
  return outcomes
    .map((o) =>
      o.status === 'nothing to release'
        ? `${o.kind}: nothing to release (no stay carries the needed column)`
        : `${o.kind} ${o.status} (stay-level ε = ${o.epsilon === null ? '∞' : o.epsilon.toFixed(2)})`,
    )
    .join('; ');
}
