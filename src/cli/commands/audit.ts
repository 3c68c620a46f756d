import * as path from 'node:path';
import { AuditRecordSchema, paths, type AuditRecord } from '../../../schemas/documents';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { defaultHome } from '../run-locations';
import { parseStoreKind, withStoreReader } from '../store-reader';
import { checkOutputFile, writeOutputFile } from '../output-paths';
import { didYouMean } from '../suggest';
import { UserError } from '../user-error';

const HELP = `Usage: himas audit [--run RUN_ID] [--action ACTION] [--home DIR] [--stack embedded|emulators] [--out FILE]

Exports the append-only audit log (enrolments, updates accepted or rejected with the reason,
noise added, models published, budget halts) as JSON Lines, oldest first: one AuditRecord per line
(schemas/json/AuditRecord.schema.json). The log holds identifiers of hospitals, runs and model
versions and never a patient record. Writes to stdout unless --out FILE is given.`;

export const auditCommand: Command = {
  summary: 'export the privacy audit log as JSON Lines (himas audit)',
  async run(argv) {
    const { values } = parseCommandArgs('audit', argv, {
      run: { type: 'string' },
      action: { type: 'string' },
      home: { type: 'string' },
      stack: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    const runId = stringFlag(values, 'run');
    const action = stringFlag(values, 'action');
    const out = stringFlag(values, 'out');
    if (out !== undefined) checkOutputFile(out, 'the audit log');
    const { records, runExists } = await withStoreReader(
      home,
      parseStoreKind(stringFlag(values, 'stack')),
      async ({ documents }) => ({
        records: (await documents.list(paths.audits())).map((snapshot) => {
          const parsed = AuditRecordSchema.safeParse(snapshot.data);
          if (!parsed.success)
            throw new UserError(
              `audit record ${snapshot.id} in ${home} does not match the AuditRecord schema: ${parsed.error.issues[0]?.message}`,
            );
          return parsed.data;
        }),
        runExists: runId !== undefined && (await documents.get(paths.run(runId))) !== undefined,
      }),
    );
    // A filter that names nothing is a typo, not an empty log: say so rather than print nothing.
    if (runId !== undefined && !runExists && !records.some((r) => r.runId === runId))
      throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs`);
    const actions = [...new Set(records.map((r) => r.action))].sort();
    if (action !== undefined && !actions.includes(action))
      throw new UserError(
        `no audit record has action '${action}'${didYouMean(action, actions)}; the log holds: ${actions.join(', ') || 'no records yet'}`,
      );
    const selected = orderedForExport(records).filter(
      (r) => (runId === undefined || r.runId === runId) && (action === undefined || r.action === action),
    );
    const lines = selected.map((r) => `${JSON.stringify(r)}\n`).join('');
    if (out === undefined) {
      process.stdout.write(lines);
      return 0;
    }
    await writeOutputFile(out, lines, 'the audit log');
    process.stderr.write(
      `${selected.length} audit record${selected.length === 1 ? '' : 's'} written to ${out}\n`,
    );
    return 0;
  },
};

/** Oldest first; records written in the same millisecond keep a stable order by id. */
export function orderedForExport(records: readonly AuditRecord[]): AuditRecord[] {
  return [...records].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}
