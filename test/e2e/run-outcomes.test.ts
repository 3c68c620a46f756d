import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths } from '../../schemas/documents';
import { TrainingReportSchema, type TrainingReport } from '../../schemas/report';
import { GUARDIAN_ACTOR } from '../../src/core/agents/privacy-guardian';
import { openEmbeddedPlatform } from '../../src/local/embedded-platform';
import { silentLogger } from '../../src/logging/logger';
import { expectOneLineError, himas, type CliResult } from './cli-runner';

/**
 * Runs that did not produce a servable model are failures, said and exited as such (issue 17):
 * halted (the privacy guardian stops the run at its first version), refused before it starts (the
 * hospitals' lifetime budgets are spent), failed (every hospital refuses to train: its own ledger
 * was rewritten and no longer matches its published copy), diverged (learning rates that blow the
 * model up). None of them shows a "Final model" or leaves `model/`; the report says so first. Small
 * cohorts, in-process jobs, one to three rounds: each run takes seconds.
 */
describe('runs that leave no model to serve exit non-zero and say why', () => {
  let cwd: string;
  const train = (args: string[]) =>
    himas(['train', '--data', 'data', '--job-runner', 'in-process', ...args], { cwd });
  const report = (runId: string): TrainingReport =>
    TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(cwd, 'runs', runId, 'report.json'), 'utf8')),
    );
  const presentsNoModel = (result: CliResult, runId: string) => {
    expect(result.stdout).not.toMatch(/Final model/);
    expect(result.stdout).toMatch(/No model to serve: nothing in the run folder is a final model\./);
    expect(existsSync(path.join(cwd, 'runs', runId, 'model'))).toBe(false);
    const r = report(runId);
    expect(r.finalModel).toBeNull();
    const html = readFileSync(path.join(cwd, 'runs', runId, 'report.html'), 'utf8');
    expect(html).toContain(`class="outcome outcome-${r.outcome.kind}"`);
    expect(html).toContain('No model to serve');
    return r;
  };

  let spent: CliResult;
  let refusedBeforeStart: CliResult;
  let refused: CliResult;
  let diverged: CliResult;
  let halted: CliResult;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-outcomes-'));
    const generated = himas(
      ['data', 'generate', '--hospitals', '3', '--patients', '600', '--seed', '3', '--out', 'data'],
      { cwd },
    );
    if (generated.status !== 0) throw new Error(generated.stderr);
    // Named against their order, so `himas status` shows it sorts by date, not by name.
    spent = train(['--rounds', '1', '--run-id', 'zz-spends-budget', '--patient-budget-epsilon', '1']);
    refusedBeforeStart = train(['--rounds', '2', '--run-id', 'nn-refused', '--patient-budget-epsilon', '1']);
    // An attack on the budget: every hospital's own ledger rewritten so that it looks unspent. The
    // CLI's pre-check reads only those copies and lets the run start; each job compares its ledger
    // with the published copy, refuses, and the run fails. The ledgers are put back afterwards.
    const ledgers = path.join(cwd, '.himas', 'hospital-state', 'ledgers');
    const originals = new Map<string, string>();
    for (const hospital of readdirSync(ledgers))
      for (const entry of readdirSync(path.join(ledgers, hospital))) {
        const file = path.join(ledgers, hospital, entry);
        const text = readFileSync(file, 'utf8');
        originals.set(file, text);
        writeFileSync(file, text.replace(/"noiseMultiplier":[\d.]+/g, '"noiseMultiplier":1000'));
      }
    refused = train(['--rounds', '2', '--run-id', 'mm-refused', '--patient-budget-epsilon', '1.5']);
    for (const [file, text] of originals) writeFileSync(file, text);
    diverged = train([
      '--rounds',
      '3',
      '--run-id',
      'aa-diverged',
      '--patient-privacy',
      'none',
      '--local-learning-rate',
      '10',
      '--server-learning-rate',
      '10',
    ]);
  }, 300_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('a run that trained a servable model exits 0 and shows it as final', () => {
    expect(spent.status).toBe(0);
    expect(spent.stdout).toMatch(
      /^Run zz-spends-budget completed in .*: all 1 rounds closed; the model is zz-spends-budget-r0001$/m,
    );
    expect(spent.stdout).toMatch(/Final model zz-spends-budget-r0001 → runs\/zz-spends-budget\/model/);
    expect(existsSync(path.join(cwd, 'runs', 'zz-spends-budget', 'model', 'weights.bin'))).toBe(true);
    expect(report('zz-spends-budget').outcome).toMatchObject({
      kind: 'succeeded',
      modelVersionId: 'zz-spends-budget-r0001',
    });
  });

  it("refused before it starts: every hospital's lifetime budget is spent; exit 4, nothing started", () => {
    expect(refusedBeforeStart.status).toBe(4);
    expect(refusedBeforeStart.stdout).toBe('');
    for (const hospital of ['h1-academic', 'h2-cardiac', 'h3-community'])
      expect(refusedBeforeStart.stderr).toMatch(
        new RegExp(
          `hospital ${hospital} would refuse this run: its patients' lifetime budget ε = 1 \\(δ = 0\\.00001\\) has 1\\.000 spent and this run would bring it to \\d\\.\\d{3} .*nothing was started and no record was read`,
        ),
      );
    expect(refusedBeforeStart.stderr).not.toMatch(/--resume/);
    expect(existsSync(path.join(cwd, 'runs', 'nn-refused'))).toBe(false);
  });

  it('failed: no round closed because every hospital refused to train; exit 4, the cause named once per job', () => {
    expect(refused.status).toBe(4);
    expect(refused.stdout).toMatch(
      /^Run mm-refused FAILED in .*: no round closed, so no model was trained; rounds 1–2: 0 accepted update\(s\), quorum is 3/m,
    );
    expect(refused.stdout).toMatch(
      /the jobs of h1-academic, h2-cardiac, h3-community failed \(h1-academic: hospital h1-academic's privacy ledger \(\S+\) and its published copy \(.*\) differ at entry 0: one was replaced\. Nothing was charged and no data was read/,
    );
    // The job's own words, not the execution's JSON; the same cause in later rounds is said once.
    expect(refused.stderr).toMatch(
      /workflow: reserving the run: h2-cardiac's job failed: hospital h2-cardiac's privacy ledger .* differ at entry 0/,
    );
    expect(refused.stderr).toMatch(/workflow: round 1: h2-cardiac's job failed again, for the same reason/);
    expect(refused.stderr).toMatch(/workflow: round 2: h2-cardiac's job failed again, for the same reason/);
    expect(refused.stderr).not.toMatch(/"operation":/);
    // Nothing was released, and the summary says so instead of claiming ε = 0 for a model.
    expect(refused.stdout).toMatch(/Privacy: hospital-level ε = 0\.000.* \(no model version was released\)/);
    const r = presentsNoModel(refused, 'mm-refused');
    expect(r.status).toBe('failed');
    expect(r.outcome.kind).toBe('failed');
    const html = readFileSync(path.join(cwd, 'runs', 'mm-refused', 'report.html'), 'utf8');
    expect(html).toContain('No model version was released: nothing to guarantee (0 rounds accounted)');
  });

  it('diverged: a model worse than the initial one is flagged, not served; exit 5', () => {
    expect(diverged.status).toBe(5);
    expect(diverged.stdout).toMatch(
      /^Run aa-diverged DIVERGED in .*: training diverged: aa-diverged-r0003 is not a model to serve \(the hospitals' training loss exploded to \d+\.\d{3}/m,
    );
    expect(diverged.stdout).toMatch(/Last version aa-diverged-r0003 \(not served: it diverged\)/);
    const r = presentsNoModel(diverged, 'aa-diverged');
    expect(r.status).toBe('completed');
    expect(r.outcome).toMatchObject({ kind: 'diverged', divergedVersionId: 'aa-diverged-r0003' });
    expect(r.outcome.divergence?.diverged).toBe(true);
  });

  it('halted: the guardian halts the first version (the budget is reached), so nothing is served; exit 3', () => {
    // A budget of exactly one round's ε: the round is published, and the guardian halts at it.
    const epsilon = himas(
      [
        'privacy',
        'epsilon',
        '--noise-multiplier',
        '5',
        '--sampling-rate',
        '1',
        '--steps',
        '1',
        '--delta',
        '1e-5',
        '--json',
      ],
      { cwd },
    );
    const oneRound = String((JSON.parse(epsilon.stdout) as { epsilon: number }).epsilon);
    // The diverged run trained without DP-SGD: its hospitals' patients have no finite lifetime
    // guarantee left, so a DP run is refused before it starts, and the refusal says why.
    const afterWaiver = train([
      '--rounds',
      '1',
      '--run-id',
      'after-waiver',
      '--patient-budget-epsilon',
      '100',
    ]);
    expect(afterWaiver.status).toBe(4);
    expect(afterWaiver.stderr).toMatch(
      /hospital h1-academic would refuse this run: .* has ∞ spent .*its ledger records run aa-diverged trained without patient-level DP \(--patient-privacy none\)/,
    );
    halted = train([
      '--rounds',
      '2',
      '--run-id',
      'halted-at-budget',
      '--noise-multiplier',
      '5',
      '--epsilon-budget',
      oneRound,
      '--patient-privacy',
      'none',
    ]);
    expect(halted.status).toBe(3);
    expect(halted.stdout).toMatch(
      /^Run halted-at-budget HALTED in .*: halted by agent:privacy-guardian before any model was trained within its limits: privacy halt at halted-at-budget-r0001: hospital-level ε = 0\.7945 has reached the budget/m,
    );
    expect(halted.stderr).toMatch(/the hospital-level budget ε = \S+ pays for 1 of the 2 rounds/);
    expect(presentsNoModel(halted, 'halted-at-budget').outcome.kind).toBe('halted');
  });

  it('--resume of a finished run says how it ended and recomputes and rewrites nothing', () => {
    const file = path.join(cwd, 'runs', 'zz-spends-budget', 'report.json');
    const before = { text: readFileSync(file, 'utf8'), mtime: statSync(file).mtimeMs };
    const again = himas(['train', '--resume', 'zz-spends-budget'], { cwd });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(
      /^Run zz-spends-budget is already completed \(finished .*\): all 1 rounds closed; the model is zz-spends-budget-r0001\. Nothing to resume; nothing was recomputed or rewritten\./,
    );
    expect(again.stderr).not.toMatch(/round 1\/1|Computing/);
    expect(readFileSync(file, 'utf8')).toBe(before.text);
    expect(statSync(file).mtimeMs).toBe(before.mtime);
    // A finished run that failed keeps its exit code.
    const failed = himas(['train', '--resume', 'mm-refused'], { cwd });
    expect(failed.status).toBe(4);
    expect(failed.stdout).toMatch(/^Run mm-refused is already failed/);
  });

  it('himas status lists runs by date with their outcome, and says how one ended', () => {
    const list = himas(['status'], { cwd });
    expect(list.status).toBe(0);
    const order = list.stdout
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => line.split(/\s+/).slice(0, 3));
    expect(order.slice(0, 3)).toEqual([
      ['zz-spends-budget', 'completed', 'succeeded'],
      ['mm-refused', 'failed', 'failed'],
      ['aa-diverged', 'completed', 'diverged'],
    ]);
    const one = himas(['status', 'aa-diverged'], { cwd });
    expect(one.stdout).toMatch(/^ {2}outcome: diverged: training diverged/m);
  });

  it('himas agents describes a finished run as finished, and never calls a rising loss "still improving"', () => {
    const result = himas(['agents', 'aa-diverged'], { cwd });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Run aa-diverged: completed, round 3 of 3; outcome: diverged/);
    expect(result.stdout).toMatch(
      /Run summary \(now that the run has ended\):\n {2}Run aa-diverged: completed, 3 of 3 round\(s\)\./,
    );
    expect(result.stdout).not.toMatch(/aa-diverged: running|running, \d+ of/);
    expect(result.stdout).not.toMatch(/still improving|improved -/);
    // Only the final model is evaluated by default: the orchestrator says why it cannot judge.
    expect(result.stdout).toMatch(/this run evaluates only its final model/);
    expect(result.stdout).toMatch(/verdict: 1 version\(s\), at least 4 needed/);
  });

  it('himas audit names an unknown run or action instead of printing nothing', () => {
    expectOneLineError(
      himas(['audit', '--run', 'nope'], { cwd }),
      /no run 'nope' in \S+; `himas status` lists the runs/,
    );
    const bogus = himas(['audit', '--action', 'bogus'], { cwd });
    expectOneLineError(bogus, /no audit record has action 'bogus'; the log holds: .*model\.published/);
    expect(bogus.status).toBe(2);
    expectOneLineError(
      himas(['audit', '--action', 'model.publish'], { cwd }),
      /action 'model\.publish' \(did you mean 'model\.published'\?\)/,
    );
    const known = himas(['audit', '--run', 'mm-refused', '--action', 'update.submitted'], { cwd });
    expect(known.status).toBe(0);
  });

  it('batch predict refuses a model the store knows as halted, as --stay does', async () => {
    const csv = path.join(cwd, 'data', 'h1-academic.test.csv');
    const modelDir = path.join('runs', 'zz-spends-budget', 'model');
    const before = himas(['predict', '--model', modelDir, '--input', csv, '--out', 'scores.csv'], { cwd });
    expect(before.status).toBe(0);
    expectOneLineError(
      himas(['predict', '--model', modelDir, '--input', csv, '--out', 'nowhere/x.csv'], { cwd }),
      /cannot write the scores nowhere\/x\.csv: the folder \S+nowhere does not exist/,
    );
    // The state the privacy guardian leaves when it halts a version (its halt flag and the mark).
    const platform = await openEmbeddedPlatform({
      home: path.join(cwd, '.himas'),
      dataDir: '',
      logger: silentLogger,
      withAggregator: false,
    });
    try {
      await platform.models.annotate('zz-spends-budget-r0001', { halted: true });
      await platform.stack.documents.update(paths.run('zz-spends-budget'), {
        halt: { reason: 'test: budget reached', by: GUARDIAN_ACTOR, at: new Date().toISOString() },
      });
    } finally {
      await platform.close();
    }
    rmSync(path.join(cwd, 'scores.csv'));
    const refusedBatch = himas(['predict', '--model', modelDir, '--input', csv, '--out', 'scores.csv'], {
      cwd,
    });
    expectOneLineError(
      refusedBatch,
      /model zz-spends-budget-r0001 in \S+ must not be served: .*\(halted by the privacy guardian\)/,
    );
    expect(refusedBatch.status).toBe(2);
    expect(existsSync(path.join(cwd, 'scores.csv'))).toBe(false);
    writeFileSync(path.join(cwd, 'stay.json'), JSON.stringify({ first_careunit: 'MICU' }));
    expectOneLineError(
      himas(['predict', '--model', modelDir, '--stay', 'stay.json'], { cwd }),
      /must not be served: .*\(halted by the privacy guardian\)/,
    );
  });
});
