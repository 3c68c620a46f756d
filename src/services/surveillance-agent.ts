import type { EventOf } from '../../schemas/events';
import {
  SURVEILLANCE_ALERTS_TABLE,
  SURVEILLANCE_RELEASES_TABLE,
  type SurveillanceAlertRow,
  type SurveillanceReleaseRow,
} from '../../schemas/warehouse';
import { AsyncMutex } from '../adapters/embedded/async-mutex';
import { detectOutbreaks, type SurveillanceAlert } from '../core/agents/surveillance';
import { logs } from '../logs';
import type { Delivery, EventBus } from '../ports/event-bus';
import { decodeOrLogPoison, makeEvent, publishEvent } from './event-publishing';
import type { AgentDeps } from './privacy-guardian-agent';
import { verifySender } from './enrolled-keys';
import { readRun } from './run-documents';

export const SURVEILLANCE_ACTOR = 'agent:disease-surveillance';

/** The agents on the hospitals' releases read the run, write the warehouse and (surveillance) publish. */
export type SurveillanceDeps = Omit<AgentDeps, 'blobs' | 'models' | 'events'> & {
  events: Pick<EventBus, 'publish'>;
};

/**
 * The disease-surveillance function's logic (issue 7, agent 2; functions/agents/disease-surveillance
 * registers it). Each hospital's `stats` job sends `surveillance.reported` (DP-noised weekly counts,
 * src/services/hospital-aggregates.ts) on himas-updates. The agent stores each release in the
 * `surveillance_releases` table; when every hospital of the run has reported it pools them into
 * time series, runs the CUSUM detector (src/core/agents/surveillance.ts, threshold h from the run
 * config) per hospital and pooled, and for each alarm publishes `surveillance.alert` and writes a
 * `surveillance_alerts` row.
 *
 * Why on the releases and not on `model.published`: the counts do not depend on the model, so
 * detection waits only for the last hospital's release (before round 1), not for training.
 * Idempotence: an alert's row is checked first and written after its event (deterministic id
 * `surveillance.alert:<run>:<hospital>:<signal>:<week>`), so a redelivery publishes nothing new and
 * a crash between the two re-sends the same event, which a consumer recognises by its id. Releases
 * are handled one at a time per instance (two last releases arriving together would otherwise both
 * see a complete set and publish the same alert twice); Terraform runs one instance.
 */
export class SurveillanceAgent {
  private readonly lock = new AsyncMutex();

  constructor(private readonly deps: SurveillanceDeps) {}

  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const event = decodeOrLogPoison(delivery, this.deps.logger);
    if (!event) return;
    if (event.type === 'surveillance.reported') await this.lock.runExclusive(() => this.receive(event));
  }

  /**
   * Stores a release and, once all hospitals reported, returns the alerts (null while waiting).
   * Callers that may run concurrently go through handle(), which serialises them.
   */
  async receive(event: EventOf<'surveillance.reported'>): Promise<SurveillanceAlert[] | null> {
    // Only what the hospital itself signed (enrolled, not revoked) goes into the warehouse.
    const sender = await verifySender(this.deps.documents, event, this.deps.clock.now());
    if (!sender.ok) {
      logs.unverifiedMessage(this.deps.logger, event.type, event.data.hospitalId, sender.reason);
      return null;
    }
    const { runId } = event;
    const run = await readRun(this.deps.documents, runId);
    if (!run) {
      logs.poisonMessage(this.deps.logger, `surveillance.reported for unknown run ${runId}`);
      return null;
    }
    const problem = this.checkRelease(event, run.hospitals, run.config.surveillancePeriodStart);
    if (problem !== null) {
      logs.poisonMessage(this.deps.logger, `surveillance.reported ${event.id} rejected: ${problem}`);
      return null;
    }
    const row: SurveillanceReleaseRow = {
      runId,
      hospitalId: event.data.hospitalId,
      periodStart: event.data.periodStart,
      signals: event.data.signals,
      counts: event.data.counts,
      noiseStd: event.data.privacy.noiseStd,
      epsilon: event.data.privacy.epsilon,
      delta: event.data.privacy.delta,
      eventId: event.id,
      time: event.time,
    };
    // The first release of a hospital wins; a redelivery or a re-sent copy changes nothing.
    await this.deps.warehouse.insert(SURVEILLANCE_RELEASES_TABLE, [row]);
    const releases = (await this.deps.warehouse.query(SURVEILLANCE_RELEASES_TABLE, { where: { runId } }))
      .filter((r) => run.hospitals.includes(r.hospitalId))
      .sort((a, b) => run.hospitals.indexOf(a.hospitalId) - run.hospitals.indexOf(b.hospitalId));
    if (releases.length < run.hospitals.length) return null;
    return this.detect(runId, releases, run.config.surveillanceThreshold);
  }

  private async detect(
    runId: string,
    releases: SurveillanceReleaseRow[],
    threshold: number,
  ): Promise<SurveillanceAlert[]> {
    // Every hospital uses the run's noise multiplier, so one noise SD describes every series.
    const noiseStd = Math.max(...releases.map((r) => r.noiseStd));
    const alerts = detectOutbreaks(
      releases.map((r) => ({
        hospitalId: r.hospitalId,
        periodStart: r.periodStart,
        signals: r.signals,
        counts: r.counts,
      })),
      { cusum: { noiseStd, h: threshold } },
    );
    const done = await this.deps.warehouse.query(SURVEILLANCE_ALERTS_TABLE, { where: { runId } });
    const at = this.deps.clock.now();
    for (const alert of alerts) {
      const key = `${alert.hospitalId}:${alert.signal}:${alert.week}`;
      if (done.some((d) => `${d.hospitalId}:${d.signal}:${d.week}` === key)) continue;
      const eventId = `surveillance.alert:${runId}:${key}`;
      await publishEvent(
        this.deps.events,
        makeEvent('surveillance.alert', {
          id: eventId,
          runId,
          round: 0,
          time: at,
          data: {
            hospitalId: alert.hospitalId,
            signal: alert.signal,
            week: alert.week,
            weekStart: alert.weekStart,
            size: alert.size,
            message: alert.message,
          },
        }),
      );
      const row: SurveillanceAlertRow = { runId, ...alert, eventId, time: at.toISOString() };
      await this.deps.warehouse.insert(SURVEILLANCE_ALERTS_TABLE, [row]);
    }
    logs.surveillanceChecked(this.deps.logger, runId, releases.length, alerts.length);
    return alerts;
  }

  /** A release the detector can pool: an enrolled hospital, the run's period, a rectangular table. */
  private checkRelease(
    event: EventOf<'surveillance.reported'>,
    hospitals: readonly string[],
    periodStart: string,
  ): string | null {
    const { hospitalId, counts, signals } = event.data;
    if (!hospitals.includes(hospitalId)) return `hospital ${hospitalId} is not in the run`;
    if (event.data.periodStart !== periodStart)
      return `period starts ${event.data.periodStart}, the run's starts ${periodStart}`;
    if (counts.some((row) => row.length !== signals.length || row.some((c) => !Number.isFinite(c))))
      return `counts must be finite, one per signal (${signals.length}) every week`;
    return null;
  }
}
