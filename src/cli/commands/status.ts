import * as path from 'node:path';
import { paths, RoundDocumentSchema, RunDocumentSchema } from '../../../schemas/documents';
import type { DocumentStore } from '../../ports/document-store';
import type { ModelRegistry } from '../../ports/model-registry';
import { cloudFlagsText, cloudTarget, CLOUD_FLAGS, openCloudReader } from '../cloud-target';
import { parseStoreKind, withStoreReader } from '../store-reader';
import { describeGuarantee } from '../../services/privacy-guarantee';
import { readRunVerdict } from '../../services/run-verdict';
import { parseCommandArgs, stringFlag } from '../args';
import { fmt } from '../format-metrics';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { UserError } from '../user-error';

const HELP = `Usage: himas status [RUN_ID] [--home DIR] [--stack embedded|emulators] [--json]
       himas status [RUN_ID] --stack gcp --project PROJECT --region REGION [--bucket B] [--json]

Without RUN_ID: every run in the store, oldest first, with its outcome (succeeded only when it
left a servable model). With RUN_ID: how that run ended and what it did, round by round, read
from the store (the run, round and model-version documents). --stack emulators reads the Firestore
emulator of the stack recorded in <home>/stack.json instead of the embedded store; --stack gcp reads
the deployed project's Firestore and artifacts bucket (Application Default Credentials).`;

export const statusCommand: Command = {
  summary: 'show runs and what they did, from the store (himas status)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'status',
      argv,
      {
        home: { type: 'string' },
        stack: { type: 'string' },
        ...CLOUD_FLAGS,
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
      throw new UserError(`himas status takes at most one RUN_ID, got ${positionals.length}`);
    if (stringFlag(values, 'stack') === 'gcp') {
      const target = cloudTarget(values, 'status');
      const reader = openCloudReader(target);
      try {
        return await showStatus(
          reader,
          positionals,
          values.json === true,
          `project ${target.projectId}`,
          `${cloudFlagsText(target)} `,
        );
      } finally {
        await reader.close();
      }
    }
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    return withStoreReader(home, parseStoreKind(stringFlag(values, 'stack')), (store) =>
      showStatus(store, positionals, values.json === true, home, ''),
    );
  },
};

/** The runs of a store, or one run round by round; `where` names the store in messages. */
async function showStatus(
  { documents, models }: { documents: DocumentStore; models: ModelRegistry },
  positionals: string[],
  json: boolean,
  where: string,
  /** Flags `himas train` needs to reach the same store, e.g. `--stack gcp --project p --region r `. */
  trainFlags: string,
): Promise<number> {
  const out: string[] = [];
  if (positionals.length === 0) {
    // Oldest first, by when they were created (run ids need not sort by time).
    const runs = (await documents.list(paths.runs()))
      .map((s) => RunDocumentSchema.parse(s.data))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.runId.localeCompare(b.runId));
    const outcomes = new Map<string, string>();
    for (const r of runs)
      outcomes.set(
        r.runId,
        r.status === 'running' ? 'running' : (await readRunVerdict(documents, models, r)).kind,
      );
    if (json)
      return print(
        JSON.stringify(
          runs.map(({ runId, status, currentRound, config, createdAt }) => ({
            runId,
            status,
            outcome: outcomes.get(runId),
            currentRound,
            rounds: config.rounds,
            createdAt,
          })),
          null,
          2,
        ),
      );
    if (runs.length === 0) return print(`no runs in ${where}`);
    out.push(
      `${'run'.padEnd(30)} ${'status'.padEnd(10)} ${'outcome'.padEnd(10)} ${'rounds'.padEnd(8)} created`,
    );
    for (const r of runs)
      out.push(
        `${r.runId.padEnd(30)} ${r.status.padEnd(10)} ${outcomes.get(r.runId)!.padEnd(10)} ${`${r.currentRound}/${r.config.rounds}`.padEnd(8)} ${r.createdAt}`,
      );
    return print(out.join('\n'));
  }
  const runId = positionals[0];
  const data = await documents.get(paths.run(runId));
  if (!data) throw new UserError(`no run '${runId}' in ${where}; \`himas status\` lists the runs`);
  const run = RunDocumentSchema.parse(data);
  const rounds = (await documents.list(paths.rounds(runId))).map((s) => RoundDocumentSchema.parse(s.data));
  const versions = await models.list(runId);
  if (json) return print(JSON.stringify({ run, rounds, versions }, null, 2));
  out.push(
    `Run ${run.runId}: ${run.status}${run.halt ? ` (halted: ${run.halt.reason})` : ''}, round ${run.currentRound} of ${run.config.rounds}`,
  );
  out.push(`  hospitals: ${run.hospitals.join(', ')}`);
  out.push(`  data: ${run.dataSource.kind} ${run.dataSource.location}`);
  if (run.status !== 'running') {
    const verdict = await readRunVerdict(documents, models, run);
    out.push(`  outcome: ${verdict.kind}: ${verdict.reason}`);
  }
  for (const g of run.privacy) out.push(`  privacy: ${describeGuarantee(g)}`);
  out.push(
    `  ${'round'.padEnd(6)} ${'status'.padEnd(11)} ${'updates'.padEnd(8)} ${'model version'.padEnd(36)} pooled AUROC`,
  );
  for (const r of rounds) {
    const version = versions.find((v) => v.versionId === r.modelVersionId);
    out.push(
      `  ${String(r.round).padEnd(6)} ${r.status.padEnd(11)} ${String(r.participants.length).padEnd(8)} ${(r.modelVersionId ?? r.failureReason ?? '').padEnd(36)} ${fmt(version?.pooled?.metrics.auroc)}`,
    );
  }
  const latest = versions.at(-1);
  if (latest) out.push(`  latest model: ${latest.versionId} (${latest.numParameters} parameters)`);
  if (run.status === 'running')
    out.push(`  (interrupted? continue it with \`himas train ${trainFlags}--resume ${run.runId}\`)`);
  return print(out.join('\n'));
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}
