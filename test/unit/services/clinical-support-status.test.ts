import type { ModelVersionDocument, RunDocument } from '../../../schemas/documents';
import { GUARDIAN_ACTOR } from '../../../src/core/agents/privacy-guardian';
import { clinicalSupportStatus } from '../../../src/services/clinical-support-status';

const version = (round: number, halted = false) =>
  ({ versionId: `r-r000${round}`, runId: 'r', round, halted }) as unknown as ModelVersionDocument;
const models = (versions: ModelVersionDocument[]) => ({ list: async () => versions });
const run = (halt: RunDocument['halt'] = null) => ({ runId: 'r', halt }) as unknown as RunDocument;

describe('clinicalSupportStatus (what `himas agents` and the console say the service serves)', () => {
  test('serves the newest trained version and refuses nothing when no version is halted', async () => {
    await expect(clinicalSupportStatus(models([version(0), version(1), version(2)]), run())).resolves.toEqual(
      {
        runId: 'r',
        served: 'r-r0002',
        refusal: null,
        refused: [],
      },
    );
  });

  test('refuses the version the guardian halted and every later one, serving the one before', async () => {
    const halt = { reason: 'budget reached', by: GUARDIAN_ACTOR, at: '2026-12-01T00:00:00.000Z' };
    const status = await clinicalSupportStatus(
      models([version(0), version(1), version(2, true), version(3)]),
      run(halt),
    );
    expect(status.served).toBe('r-r0001');
    expect(status.refused.map((r) => r.versionId).sort()).toEqual(['r-r0002', 'r-r0003']);
    for (const r of status.refused) expect(r.reason).toMatch(/halt/);
  });

  test('serves nothing, and says why, when the first trained version is halted', async () => {
    const halt = { reason: 'budget reached', by: GUARDIAN_ACTOR, at: '2026-12-01T00:00:00.000Z' };
    const status = await clinicalSupportStatus(models([version(0), version(1, true)]), run(halt));
    expect(status.served).toBeNull();
    expect(status.refusal).toMatch(/./);
    expect(status.refused.map((r) => r.versionId)).toEqual(['r-r0001']);
  });
});
