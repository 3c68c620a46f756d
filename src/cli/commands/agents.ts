import * as path from 'node:path';
import { paths, RunDocumentSchema } from '../../../schemas/documents';
import { PRIVACY_AUDIT_TABLE, RUN_PROGRESS_TABLE } from '../../../schemas/warehouse';
import { parseCommandArgs, stringFlag } from '../args';
import { formatSurveillanceTreatment, readSurveillanceTreatment } from '../surveillance-treatment-view';
import { parseStoreKind, withStoreReader } from '../store-reader';
import { fmt } from '../format-metrics';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { currentRunSummary, ORCHESTRATOR_ACTOR } from '../../services/orchestrator-agent';
import { readRunVerdict } from '../../services/run-verdict';
import { clinicalSupportStatus } from '../../services/clinical-support-status';
import { UserError } from '../user-error';

const HELP = `Usage: himas agents [RUN_ID] [--home DIR] [--stack embedded|emulators] [--json]

What the agents produced for a run (default: the latest run), read from the warehouse tables:
the privacy guardian's audit per round (level, ε recomputed from the ledger vs the claim), the
orchestrator's progress per round, its convergence verdict and the run summary, the surveillance
alerts, and the treatment estimate (per hospital and pooled, with 95 % CIs and caveats).
--stack emulators reads the emulator stack recorded in <home>/stack.json (its warehouse rows live
in the Firestore emulator) instead of the embedded store.`;

const eps = (epsilon: number | null): string => (epsilon === null ? '∞' : epsilon.toFixed(4));

export const agentsCommand: Command = {
  summary: 'show what the agents produced for a run: privacy audit, progress, summary (himas agents)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'agents',
      argv,
      {
        home: { type: 'string' },
        stack: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length > 1)
      throw new UserError(`himas agents takes at most one RUN_ID, got ${positionals.length}`);
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    return withStoreReader(home, parseStoreKind(stringFlag(values, 'stack')), async (store) => {
      const runs = (await store.documents.list(paths.runs()))
        .map((s) => RunDocumentSchema.parse(s.data))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const runId = positionals[0] ?? runs.at(-1)?.runId;
      if (runId === undefined) throw new UserError(`no runs in ${home}; run \`himas train\` first`);
      const run = runs.find((r) => r.runId === runId);
      if (!run) throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs`);
      const warehouse = store.warehouse;
      const audit = await warehouse.query(PRIVACY_AUDIT_TABLE, { where: { runId }, orderBy: 'round' });
      const progress = await warehouse.query(RUN_PROGRESS_TABLE, { where: { runId }, orderBy: 'round' });
      const latest = progress.at(-1) ?? null;
      const surveillanceTreatment = await readSurveillanceTreatment(warehouse, run);
      const clinical = await clinicalSupportStatus(store.models, run);
      if (values.json) {
        const result = {
          runId,
          halt: run.halt,
          clinicalDecisionSupport: clinical,
          privacyAudit: audit,
          progress,
          summary: latest?.summary ?? null,
          ...surveillanceTreatment,
        };
        return print(JSON.stringify(result, null, 2));
      }
      // The summary and verdict as of now (with the final evaluation), not as of the last
      // model.published: a finished run is described as finished.
      const now = await currentRunSummary(store, run);
      const outcome =
        run.status === 'running' ? null : await readRunVerdict(store.documents, store.models, run);
      const out: string[] = [
        `Run ${runId}: ${run.status}${run.halt ? ` (halted by ${run.halt.by})` : ''}, round ${run.currentRound} of ${run.config.rounds}${outcome ? `; outcome: ${outcome.kind}: ${outcome.reason}` : ''}`,
      ];
      out.push('', 'Privacy guardian (ε recomputed from the ledger vs the aggregator’s claim):');
      if (audit.length === 0) out.push('  no checks recorded (agents run during `himas train`)');
      else
        out.push(
          `  ${'round'.padEnd(6)} ${'unit'.padEnd(9)} ${'level'.padEnd(9)} ${'ε recomputed'.padEnd(13)} ${'ε claimed'.padEnd(10)} budget`,
        );
      for (const a of audit) {
        out.push(
          `  ${String(a.round).padEnd(6)} ${a.unit.padEnd(9)} ${a.level.padEnd(9)} ${eps(a.recomputedEpsilon).padEnd(13)} ${eps(a.claimedEpsilon).padEnd(10)} ${a.budgetEpsilon ?? '-'}`,
        );
        for (const f of a.findings) out.push(`         ${f.level}: ${f.message}`);
      }
      out.push(
        '',
        'Clinical decision support (the version `himas predict --run` and the service answer with):',
        clinical.served ? `  serves ${clinical.served}` : `  serves nothing: ${clinical.refusal}`,
        ...clinical.refused.map((r) => `  refuses ${r.versionId}: ${r.reason}`),
      );
      out.push(
        '',
        run.config.evaluateEveryRound
          ? "Orchestrator (pooled metrics come from the hospitals' DP-noised evaluations and lag one version; each is an estimate, see the report's intervals):"
          : 'Orchestrator (this run evaluates only its final model, to save test-split budget: no per-round metrics; `--evaluate-every-round` buys them):',
      );
      if (progress.length === 0) out.push('  no progress recorded');
      else
        out.push(
          `  ${'round'.padEnd(6)} ${'AUROC'.padEnd(7)} ${'loss'.padEnd(7)} ${'converged'.padEnd(10)} late hospitals`,
        );
      for (const p of progress) {
        out.push(
          `  ${String(p.round).padEnd(6)} ${fmt(p.pooledAuroc).padEnd(7)} ${fmt(p.pooledLoss).padEnd(7)} ${(p.converged ? 'yes' : 'no').padEnd(10)} ${p.lateHospitals.join(', ') || '-'}`,
        );
      }
      // The orchestrator's stop (if it stopped the run), else the plateau rule over every version now.
      const stop = progress.find((p) => p.converged);
      const stopped = run.halt?.by === ORCHESTRATOR_ACTOR && run.halt.reason.startsWith('stopped: ');
      out.push(
        `  verdict: ${stop ? `${stopped ? 'stopped (not converged)' : 'converged'} at ${stop.modelVersionId}` : latest ? now.plateau.reason : 'none yet'}`,
      );
      if (latest)
        out.push(
          '',
          `Run summary (${run.status === 'running' ? 'so far' : 'now that the run has ended'}):`,
          ...now.summary
            .trimEnd()
            .split('\n')
            .map((l) => `  ${l}`),
        );
      out.push(...formatSurveillanceTreatment(surveillanceTreatment, run));
      return print(out.join('\n'));
    });
  },
};

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}
