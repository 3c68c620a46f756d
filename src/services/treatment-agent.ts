import type { EventOf } from '../../schemas/events';
import {
  TREATMENT_ESTIMATES_TABLE,
  TREATMENT_TABLES_TABLE,
  type TreatmentEstimateRow,
  type TreatmentTablesRow,
} from '../../schemas/warehouse';
import { AsyncMutex } from '../adapters/embedded/async-mutex';
import {
  estimateTreatmentEffect,
  type OddsRatioEstimate,
  type TreatmentEffectReport,
} from '../core/agents/treatment-effect';
import { POOLED_ID } from '../core/agents/surveillance';
import { logs } from '../logs';
import type { Delivery } from '../ports/event-bus';
import { decodeOrLogPoison } from './event-publishing';
import { verifySender } from './enrolled-keys';
import { readRun } from './run-documents';
import type { SurveillanceDeps } from './surveillance-agent';

/**
 * The treatment-optimization function's logic (issue 7, agent 3; functions/agents/
 * treatment-optimization registers it). Each hospital's `stats` job sends `treatment.reported`
 * (DP-noised severity-stratified 2×2 tables of day-1 vasopressors by death, public strata; see
 * src/services/hospital-aggregates.ts) on himas-updates. The agent stores each hospital's tables in
 * `treatment_tables`; when every hospital of the run has reported it pools them with
 * Mantel–Haenszel (src/core/agents/treatment-effect.ts) and writes one `treatment_estimates` row per
 * hospital and one pooled ('all'), each with its 95 % CI, the crude estimate and the caveats of
 * observational data.
 *
 * Why when all hospitals reported rather than at model.published: the tables do not depend on the
 * model, so the estimate is ready before round 1 and a run halted early still gets it. The rows
 * are keyed (run, hospital), so a redelivery or a second pass writes nothing new; the noise in the
 * tables was drawn once by each hospital, so every pass computes the same numbers.
 */
export class TreatmentAgent {
  private readonly lock = new AsyncMutex();

  constructor(private readonly deps: SurveillanceDeps) {}

  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const event = decodeOrLogPoison(delivery, this.deps.logger);
    if (!event) return;
    if (event.type === 'treatment.reported') await this.lock.runExclusive(() => this.receive(event));
  }

  /** Stores a hospital's tables and, once all hospitals reported, returns the estimate (else null). */
  async receive(event: EventOf<'treatment.reported'>): Promise<TreatmentEffectReport | null> {
    // Only what the hospital itself signed (enrolled, not revoked) goes into the warehouse.
    const sender = await verifySender(this.deps.documents, event, this.deps.clock.now());
    if (!sender.ok) {
      logs.unverifiedMessage(this.deps.logger, event.type, event.data.hospitalId, sender.reason);
      return null;
    }
    const { runId } = event;
    const run = await readRun(this.deps.documents, runId);
    const { hospitalId, tables } = event.data;
    if (!run || !run.hospitals.includes(hospitalId)) {
      logs.poisonMessage(
        this.deps.logger,
        `treatment.reported ${event.id} rejected: ${run ? `hospital ${hospitalId} is not in the run` : `unknown run ${runId}`}`,
      );
      return null;
    }
    const row: TreatmentTablesRow = {
      runId,
      hospitalId,
      stratumCuts: event.data.stratumCuts,
      tables,
      noiseStd: event.data.privacy.noiseStd,
      epsilon: event.data.privacy.epsilon,
      delta: event.data.privacy.delta,
      eventId: event.id,
      time: event.time,
    };
    await this.deps.warehouse.insert(TREATMENT_TABLES_TABLE, [row]);
    const shared = (await this.deps.warehouse.query(TREATMENT_TABLES_TABLE, { where: { runId } }))
      .filter((r) => run.hospitals.includes(r.hospitalId))
      .sort((a, b) => run.hospitals.indexOf(a.hospitalId) - run.hospitals.indexOf(b.hospitalId));
    if (shared.length < run.hospitals.length) return null;
    const cuts = JSON.stringify(shared[0].stratumCuts);
    const mismatched = shared.filter((s) => JSON.stringify(s.stratumCuts) !== cuts);
    if (mismatched.length > 0) {
      // Strata defined differently cannot be pooled as one stratification.
      logs.poisonMessage(
        this.deps.logger,
        `run ${runId}: hospitals ${mismatched.map((m) => m.hospitalId).join(', ')} used other strata; no pooled estimate`,
      );
      return null;
    }
    const report = estimateTreatmentEffect(
      shared.map((s) => ({ hospitalId: s.hospitalId, tables: s.tables, skipped: 0 })),
    );
    const at = this.deps.clock.now().toISOString();
    const rowOf = (
      id: string,
      scope: TreatmentEstimateRow['scope'],
      estimate: OddsRatioEstimate | null,
      crude: OddsRatioEstimate | null,
      counts: { stays: number; treated: number },
    ): TreatmentEstimateRow => ({
      runId,
      hospitalId: id,
      scope,
      logOddsRatio: estimate?.logOddsRatio ?? null,
      standardError: estimate?.standardError ?? null,
      ciLow: estimate?.ci95[0] ?? null,
      ciHigh: estimate?.ci95[1] ?? null,
      crudeLogOddsRatio: crude?.logOddsRatio ?? null,
      ...counts,
      adjustment: report.adjustment,
      caveats: [
        ...report.caveats,
        `Each hospital's cells carry Gaussian noise of SD ${shared[0].noiseStd} (patient-level DP); the intervals do not include that noise's variance.`,
      ],
      summary: report.summary,
      time: at,
    });
    const totals = (tables: TreatmentTablesRow['tables']) => ({
      stays: tables.reduce((s, t) => s + t.a + t.b + t.c + t.d, 0),
      treated: tables.reduce((s, t) => s + t.a + t.b, 0),
    });
    const rows = report.hospitals.map((h, i) =>
      rowOf(h.hospitalId, 'hospital', h.estimate, h.crude, totals(shared[i].tables)),
    );
    rows.push(
      rowOf(POOLED_ID, 'pooled', report.pooled, report.pooledCrude, totals(shared.flatMap((s) => s.tables))),
    );
    await this.deps.warehouse.insert(TREATMENT_ESTIMATES_TABLE, rows);
    logs.treatmentEstimated(this.deps.logger, runId, report.summary);
    return report;
  }
}
