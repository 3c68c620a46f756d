import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditRecordSchema } from '../../../schemas/documents';
import { openEmbeddedStack } from '../../../src/adapters/embedded';
import { auditCommand } from '../../../src/cli/commands/audit';
import { recordAudit } from '../../../src/services/audit';

describe('himas audit (JSON Lines export of the audit log)', () => {
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-audit-'));
    const stack = await openEmbeddedStack(home);
    const at = (iso: string) => new Date(iso);
    // Written out of time order on purpose: the export sorts by time.
    await recordAudit(
      stack.documents,
      {
        runId: 'r1',
        round: 2,
        actor: 'aggregator',
        action: 'update.rejected',
        outcome: 'rejected',
        reason: 'signature does not verify',
        subject: 'h2',
      },
      at('2026-01-01T00:00:02Z'),
    );
    await recordAudit(
      stack.documents,
      {
        runId: 'r1',
        round: 1,
        actor: 'aggregator',
        action: 'update.accepted',
        outcome: 'accepted',
        reason: null,
        subject: 'h1',
      },
      at('2026-01-01T00:00:01Z'),
    );
    await recordAudit(
      stack.documents,
      {
        runId: 'r2',
        round: 1,
        actor: 'aggregator',
        action: 'update.accepted',
        outcome: 'accepted',
        reason: null,
        subject: 'h1',
      },
      at('2026-01-01T00:00:03Z'),
    );
    await stack.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  function exported(args: string[]): unknown[] {
    const file = path.join(home, `export-${args.join('-') || 'all'}.jsonl`);
    return readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line));
  }

  async function run(args: string[]): Promise<unknown[]> {
    const out = path.join(home, `export-${args.join('-') || 'all'}.jsonl`);
    expect(await auditCommand.run(['--home', home, '--out', out, ...args])).toBe(0);
    return exported(args);
  }

  it('writes every record, oldest first, one schema-valid record per line', async () => {
    const records = (await run([])).map((r) => AuditRecordSchema.parse(r));
    expect(records.map((r) => [r.runId, r.round, r.action])).toEqual([
      ['r1', 1, 'update.accepted'],
      ['r1', 2, 'update.rejected'],
      ['r2', 1, 'update.accepted'],
    ]);
    expect(records[1].reason).toBe('signature does not verify');
  });

  it('filters by run and by action', async () => {
    expect(await run(['--run', 'r1'])).toHaveLength(2);
    const rejected = await run(['--action', 'update.rejected']);
    expect(rejected).toHaveLength(1);
    expect(AuditRecordSchema.parse(rejected[0]).subject).toBe('h2');
  });

  it('says what to do when there is no store', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'himas-audit-empty-'));
    try {
      await expect(auditCommand.run(['--home', empty])).rejects.toThrow(/no HIMAS store in .*himas train/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
