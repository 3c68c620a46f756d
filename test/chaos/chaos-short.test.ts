import { describeWithEmulators } from '../integration/emulator-harness';
import { runChaos, type ChaosReport } from './chaos-suite';

/**
 * The short chaos suite (issue 20): a run per stack with two faults at seeded moments, resumed
 * until done, must end exactly as the clean run did (model weights, receipts, participants, run
 * ledger, each hospital's charges plus only repeated ones), with no update accepted twice, within
 * a bounded number of seconds of its last fault. The long one is `npm run chaos -- --faults 50`
 * (docs/operations.md); this one keeps CI to a few minutes. The seeds choose the faults: on the
 * embedded stack a SIGKILL of the CLI's process tree and of a hospital job right after it charged
 * its ledger (so its retry pays again, and the ledger assertion sees a real repeat), on the
 * emulators a SIGKILL of the CLI and a duplicated Pub/Sub push.
 */
// Generous for a loaded 2-core CI machine, far below the 600 s round deadline a stalled round waits.
const MAX_RECOVERY_SECONDS = 300;

function expectClean(report: ChaosReport, faults: number): void {
  const problems = report.iterations.flatMap((i) =>
    i.problems.map((p) => `${i.runId} (npm run chaos -- --seed ${i.seed} --stack ${i.stack}): ${p}`),
  );
  expect(problems).toEqual([]);
  expect(report.faults).toBe(faults);
  for (const iteration of report.iterations) {
    expect(iteration.completed).toBe(true);
    expect(iteration.recoverySeconds).toBeLessThanOrEqual(MAX_RECOVERY_SECONDS);
  }
}

describe('chaos on the embedded stack', () => {
  it('a SIGKILLed CLI, and a hospital job killed after charging its ledger, resumed, end as the clean run plus one repeated charge', async () => {
    const report = await runChaos({
      seed: 1,
      faults: 2,
      stacks: ['embedded'],
      maxRecoverySeconds: MAX_RECOVERY_SECONDS,
    });
    expectClean(report, 2);
    expect(report.iterations.flatMap((i) => i.injected.map((f) => f.kind))).toEqual([
      'kill-cli',
      'kill-job-charged',
    ]);
    expect(report.iterations.reduce((n, i) => n + i.chargedRetries, 0)).toBeGreaterThanOrEqual(1);
  }, 600_000);
});

describeWithEmulators('chaos on the emulator stack (real emulators)', () => {
  it('a SIGKILLed CLI and a duplicated push, resumed, end as the clean run', async () => {
    const report = await runChaos({
      seed: 12,
      faults: 2,
      stacks: ['emulators'],
      maxRecoverySeconds: MAX_RECOVERY_SECONDS,
    });
    expectClean(report, 2);
    expect(report.iterations.flatMap((i) => i.injected.map((f) => f.kind))).toEqual([
      'kill-cli',
      'duplicate-delivery',
    ]);
  }, 900_000);
});
