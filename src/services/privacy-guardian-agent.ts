import { modelVersionId, paths, RoundDocumentSchema, type RunDocument } from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import type { DpEventData, HospitalPrivacy } from '../../schemas/privacy';
import { PRIVACY_AUDIT_TABLE, type PrivacyAuditRow } from '../../schemas/warehouse';
import {
  checkPrivacy,
  GUARDIAN_ACTOR,
  type GuardedRound,
  type PatientRecomputation,
  type PrivacyGuardianDecision,
} from '../core/agents/privacy-guardian';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { Delivery, EventBus } from '../ports/event-bus';
import type { ModelRegistry } from '../ports/model-registry';
import type { Warehouse } from '../ports/warehouse';
import { recordAudit } from './audit';
import { decodeOrLogPoison, makeEvent, publishEvent } from './event-publishing';
import { hospitalPrivacy } from './patient-privacy';
import { readPublishedLedger } from './published-ledgers';
import { readRound, readRun } from './run-documents';
import { haltRunOnce } from './run-halt';

export interface AgentDeps {
  documents: DocumentStore;
  blobs: BlobStore;
  events: EventBus;
  models: ModelRegistry;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
}

/**
 * The privacy guardian function's logic (issue 7, agent 1; functions/agents/privacy-guardian
 * registers it). On `model.published` it recomputes ε from the run's ledger as it stood when the
 * version was made (src/core/agents/privacy-guardian.ts decides), and acts on the decision:
 * halt flag and halted version, `privacy.alert`, audit record, and last the `privacy_audit` rows.
 * The rows are written last and checked first: a redelivery after they exist does nothing, and a
 * redelivery after a crash repeats only idempotent steps (the alert has a deterministic id).
 */
export class PrivacyGuardianAgent {
  constructor(private readonly deps: AgentDeps) {}

  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const event = decodeOrLogPoison(delivery, this.deps.logger);
    if (event?.type === 'model.published') await this.check(event);
  }

  /** The decision for one published version; null when the run is unknown or it was already checked. */
  async check(event: EventOf<'model.published'>): Promise<PrivacyGuardianDecision | null> {
    const { runId, round } = event;
    const versionId = event.data.modelVersionId;
    const done = await this.deps.warehouse.query(PRIVACY_AUDIT_TABLE, {
      where: { runId, modelVersionId: versionId },
      limit: 1,
    });
    if (done.length > 0) return null;
    const run = await readRun(this.deps.documents, runId);
    if (!run) {
      await this.audit(event, 'rejected', `unknown run ${runId}`);
      return null;
    }
    const decision = checkPrivacy({
      runId,
      config: run.config,
      hospitals: run.hospitals,
      ledgers: {
        hospital: await this.hospitalLedgerAt(run, round),
        patient: await this.patientRecomputation(run, event),
      },
      claimed: event.data.privacy,
      modelVersionId: versionId,
      round: await this.guardedRound(run, event),
    });
    const at = this.deps.clock.now().toISOString();
    if (decision.haltReason !== null) {
      await this.deps.models.annotate(versionId, { halted: true });
      await haltRunOnce(this.deps.documents, runId, { reason: decision.haltReason, by: GUARDIAN_ACTOR, at });
    }
    if (decision.alert !== null) {
      await publishEvent(
        this.deps.events,
        makeEvent('privacy.alert', {
          id: `privacy.alert:${decision.alert.level}:${versionId}`,
          runId,
          round,
          time: new Date(at),
          data: decision.alert,
        }),
      );
    }
    // The event's time, not now: the audit id derives from it, so a redelivery finds the same record.
    await recordAudit(this.deps.documents, decision.audit, new Date(event.time));
    logs.privacyChecked(this.deps.logger, runId, round, versionId, decision.level, decision.message);
    const rows: PrivacyAuditRow[] = decision.units.map((unit) => ({
      runId,
      round,
      modelVersionId: versionId,
      level: decision.level,
      unit: unit.unit,
      claimedEpsilon: unit.claimedEpsilon,
      recomputedEpsilon: unit.recomputedEpsilon,
      budgetEpsilon: unit.budgetEpsilon,
      findings: decision.findings.map(({ level, code, message }) => ({ level, code, message })),
      time: at,
    }));
    if (rows.length === 0) {
      // No unit could be checked (no hospital-level claim): still one row, so the check is on record.
      rows.push({
        runId,
        round,
        modelVersionId: versionId,
        level: decision.level,
        unit: 'hospital',
        claimedEpsilon: null,
        recomputedEpsilon: null,
        budgetEpsilon: run.config.epsilonBudget,
        findings: decision.findings.map(({ level, code, message }) => ({ level, code, message })),
        time: at,
      });
    }
    await this.deps.warehouse.insert(PRIVACY_AUDIT_TABLE, rows);
    return decision;
  }

  /**
   * The hospital-level ledger as it stood when this version was made: one entry per closed round
   * up to this one, in order. The run document may already hold later rounds' entries when the
   * guardian runs behind the aggregator.
   */
  private async hospitalLedgerAt(run: RunDocument, round: number): Promise<DpEventData[]> {
    const rounds = (await this.deps.documents.list(paths.rounds(run.runId))).map((s) =>
      RoundDocumentSchema.parse(s.data),
    );
    const closedUpTo = rounds.filter((r) => r.status === 'closed' && r.round <= round).length;
    return run.ledger.slice(0, closedUpTo);
  }

  /**
   * The patient-level figures recomputed from each participant's published ledger, verified under
   * its enrolled key, up to the entry the version was computed at (later entries, such as the final
   * evaluation's, belong to later claims): the least protected hospital's run and lifetime totals.
   */
  private async patientRecomputation(
    run: RunDocument,
    event: EventOf<'model.published'>,
  ): Promise<PatientRecomputation | undefined> {
    if (!event.data.privacy.some((g) => g.unit === 'patient')) return undefined;
    const version = await this.deps.models.get(event.data.modelVersionId);
    const unverifiable: string[] = [];
    let worst: HospitalPrivacy | undefined;
    for (const hospitalId of event.data.participants) {
      const ledger = await readPublishedLedger(this.deps, hospitalId);
      if (!ledger.ok) {
        unverifiable.push(ledger.reason);
        continue;
      }
      const stated = version?.hospitalPrivacy.find((h) => h.hospitalId === hospitalId);
      const upTo = stated ? stated.ledgerSequence + 1 : ledger.entries.length;
      if (ledger.entries.length < upTo) {
        unverifiable.push(
          `${hospitalId}'s published ledger has ${ledger.entries.length} entries, the version was computed at entry ${upTo - 1}`,
        );
        continue;
      }
      const again = hospitalPrivacy(ledger.entries.slice(0, upTo), run.runId, {
        delta: run.config.delta,
        budgetEpsilon: run.config.patientBudgetEpsilon,
      });
      if (!worst || (again.run.epsilon ?? Infinity) > (worst.run.epsilon ?? Infinity)) worst = again;
    }
    return {
      epsilon: worst?.run.epsilon ?? null,
      lifetimeEpsilon: worst?.lifetime.epsilon ?? null,
      budgetEpsilon: run.config.patientBudgetEpsilon,
      waived: run.config.patientPrivacy === 'none',
      unverifiable:
        worst || unverifiable.length > 0 ? unverifiable : ['no participant has a published ledger'],
    };
  }

  private async guardedRound(run: RunDocument, event: EventOf<'model.published'>): Promise<GuardedRound> {
    const roundDoc = await readRound(this.deps.documents, run.runId, event.round);
    return {
      round: event.round,
      expectedHospitals: roundDoc?.expectedHospitals ?? run.hospitals,
      quorum: roundDoc?.quorum ?? run.config.quorum ?? run.hospitals.length,
      // What the version says it was made from; the round document must agree.
      participants: event.data.participants,
    };
  }

  private audit(event: EventOf<'model.published'>, outcome: 'rejected', reason: string): Promise<void> {
    return recordAudit(
      this.deps.documents,
      {
        runId: event.runId,
        round: event.round,
        actor: GUARDIAN_ACTOR,
        action: 'privacy.check',
        outcome,
        reason,
        subject: event.data.modelVersionId ?? modelVersionId(event.runId, event.round),
      },
      new Date(event.time),
    );
  }
}
