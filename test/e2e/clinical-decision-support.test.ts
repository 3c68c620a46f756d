import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingReportSchema, type TrainingReport } from '../../schemas/report';
import { parseCohortCsv } from '../../src/core/data';
import { expectOneLineError, himas } from './cli-runner';

/**
 * Clinical decision support end to end (issue 7, agent 4): a short `himas train` on the embedded
 * stack (in-process jobs, 2 rounds), then `himas predict --stay` for a known test stay, from the
 * saved model folder and from the store through the same service the HTTP function runs.
 */
describe('himas predict --stay (clinical decision support, end to end)', () => {
  let cwd: string;
  let report: TrainingReport;
  let stayFile: string;
  let stayId: string;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-cds-'));
    const train = himas(
      ['train', '--rounds', '2', '--job-runner', 'in-process', '--run-id', 'cds-e2e', '--out', 'out'],
      { cwd },
    );
    if (train.status !== 0) throw new Error(`himas train failed:\n${train.stderr}`);
    report = TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(cwd, 'out', 'report.json'), 'utf8')),
    );
    // A known stay: the first test stay of the first hospital, posted as a client would send it.
    const csv = path.join(cwd, 'out', 'data', `${report.hospitals[0].hospitalId}.test.csv`);
    const [record] = parseCohortCsv(readFileSync(csv, 'utf8'), 'test.csv');
    stayId = record.stay_id;
    stayFile = path.join(cwd, 'stay.json');
    writeFileSync(
      stayFile,
      JSON.stringify({ stay_id: record.stay_id, first_careunit: record.first_careunit, ...record.features }),
    );
  }, 300_000);

  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  const predictJson = (args: string[]) => {
    const result = himas(['predict', ...args, '--stay', stayFile, '--json'], { cwd });
    if (result.status !== 0) throw new Error(`himas predict failed:\n${result.stderr}`);
    return JSON.parse(result.stdout);
  };

  it('answers for a known stay from the model folder: risk in [0, 1], the run’s final version, its guarantee', () => {
    const answer = predictJson(['--model', 'out/model']);
    expect(answer.stayId).toBe(stayId);
    expect(answer.risk).toBeGreaterThanOrEqual(0);
    expect(answer.risk).toBeLessThanOrEqual(1);
    expect(['low', 'moderate', 'high', 'very high']).toContain(answer.band);
    expect(answer.model).toMatchObject({
      versionId: report.finalModel!.versionId,
      runId: 'cds-e2e',
      round: 2,
    });
    // The folder states the version's calibration on the test splits (noisy), as the report does.
    expect(answer.model.calibration.observedExpectedRatio).toBeCloseTo(
      report.finalModel!.quality!.pooled.observedExpectedRatio!,
      9,
    );
    expect(answer.narrative.text).toMatch(
      /held-out test stays \(DP-noised estimates.*observed\/expected deaths \d\.\d\d/,
    );
    expect(answer.privacy).toEqual(report.privacy);
    expect(answer.privacyStatements.length).toBe(report.privacy.length);
    expect(answer.topFeatures.length).toBeGreaterThan(0);
    expect(answer.narrative.citations.at(-1).id).toBe('prediction-models');
    // During training the agent reloaded on every model.published, ending on the final version.
    const log = readFileSync(path.join(cwd, 'out', 'run.log.jsonl'), 'utf8');
    expect(log).toContain(`"event":"agent.clinical-model-reloaded"`);
    expect(log).toContain(`"servedVersionId":"${report.finalModel!.versionId}"`);
  });

  it('serves the same version and risk from the store (--run), as the HTTP function would', () => {
    const fromFolder = predictJson(['--model', 'out/model']);
    const fromStore = predictJson(['--run', 'cds-e2e']);
    expect(fromStore.model.versionId).toBe(report.finalModel!.versionId);
    expect(fromStore.model.calibration).toEqual(fromFolder.model.calibration);
    expect(fromStore.risk).toBeCloseTo(fromFolder.risk, 9);
    expect(fromStore.topFeatures).toEqual(fromFolder.topFeatures);
  });

  it('prints a readable answer and rejects a bad stay with a one-line error naming the field', () => {
    const text = himas(['predict', '--model', 'out/model', '--stay', stayFile], { cwd });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/in-hospital mortality risk \d+\.\d %/);
    expect(text.stdout).toMatch(/^\[1\] /m);
    const bad = path.join(cwd, 'bad.json');
    writeFileSync(bad, JSON.stringify({ first_careunit: 'MICU', lactate_max: 'high' }));
    expectOneLineError(
      himas(['predict', '--model', 'out/model', '--stay', bad], { cwd }),
      /invalid stay: lactate_max/,
    );
  });
});
