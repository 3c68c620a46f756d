import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingReportSchema, type TrainingReport } from '../../schemas/report';
import { parseCohortCsv } from '../../src/core/data';
import { himas } from './cli-runner';

/**
 * `himas train --site-intercept` end to end (issue 14): hospital jobs as processes keep their own
 * intercepts in their state folders, the report says what the figures are, and clinical decision
 * support on the shared model says its risks are a ranking, not probabilities.
 */
describe('himas train --site-intercept (embedded stack, jobs as processes)', () => {
  let cwd: string;
  let report: TrainingReport;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-site-'));
    const train = himas(
      ['train', '--rounds', '2', '--site-intercept', '--run-id', 'site-e2e', '--out', 'out'],
      {
        cwd,
      },
    );
    if (train.status !== 0) throw new Error(`himas train failed:\n${train.stderr}`);
    report = TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(cwd, 'out', 'report.json'), 'utf8')),
    );
  }, 300_000);

  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it("keeps each hospital's intercept of every round in its own state folder, and says so in the report", () => {
    for (const { hospitalId } of report.hospitals) {
      const folder = path.join(cwd, '.himas', 'hospital-state', 'site', hospitalId, 'site-e2e');
      // One record per update sent (rounds 1 and 2), named by the update's hash.
      const rounds = readdirSync(folder).map((name) => /^(\d{6})-[0-9a-f]{64}\.json$/.exec(name)?.[1]);
      expect(rounds.sort()).toEqual(['000001', '000002']);
    }
    expect(report.notes.join('\n')).toMatch(
      /Site intercepts: each hospital trained and kept its own intercept/,
    );
  });

  it('clinical decision support on the shared model reads its risks as a ranking, not probabilities', () => {
    const csv = path.join(cwd, 'out', 'data', `${report.hospitals[0].hospitalId}.test.csv`);
    const [record] = parseCohortCsv(readFileSync(csv, 'utf8'), 'test.csv');
    const stayFile = path.join(cwd, 'stay.json');
    writeFileSync(
      stayFile,
      JSON.stringify({ stay_id: record.stay_id, first_careunit: record.first_careunit, ...record.features }),
    );
    const answer = himas(['predict', '--model', 'out/model', '--stay', stayFile], { cwd });
    expect(answer.status).toBe(0);
    expect(answer.stdout).toMatch(
      /trained with site intercepts.*read these risks as a ranking, not as probabilities/s,
    );

    // At the hospital, with its own intercept: the calibration its evaluations were measured with.
    const hospitalId = report.hospitals[0].hospitalId;
    const own = himas(
      ['predict', '--model', 'out/model', '--stay', stayFile, '--hospital', hospitalId, '--json'],
      {
        cwd,
      },
    );
    expect(own.status).toBe(0);
    const ownAnswer = JSON.parse(own.stdout);
    expect(ownAnswer.model.calibration).toMatchObject({ scoredAt: hospitalId, siteIntercepts: false });
    expect(ownAnswer.narrative.text).toMatch(new RegExp(`Scored with ${hospitalId}'s own intercept`));
    const shared = JSON.parse(
      himas(['predict', '--model', 'out/model', '--stay', stayFile, '--json'], { cwd }).stdout,
    );
    expect(ownAnswer.risk).not.toBeCloseTo(shared.risk, 6);

    // The batch path scores the same way; a hospital outside the run is refused in one line.
    const batch = himas(
      ['predict', '--model', 'out/model', '--input', csv, '--out', 'own.csv', '--hospital', hospitalId],
      { cwd },
    );
    expect(batch.status).toBe(0);
    const firstRisk = Number(readFileSync(path.join(cwd, 'own.csv'), 'utf8').split('\n')[1].split(',')[1]);
    expect(firstRisk).toBeCloseTo(ownAnswer.risk, 5);
    const stranger = himas(
      ['predict', '--model', 'out/model', '--stay', stayFile, '--hospital', 'h-nowhere'],
      { cwd },
    );
    expect(stranger.status).not.toBe(0);
    expect(stranger.stderr).toMatch(/hospital h-nowhere is not in run site-e2e/);
  });
});
