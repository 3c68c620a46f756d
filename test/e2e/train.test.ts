import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingReportSchema, type TrainingReport } from '../../schemas/report';
import { himas } from './cli-runner';

/**
 * The foundation's promise, end to end through the CLI as a user runs it: `himas train --rounds 5`
 * on the default synthetic cohort, hospital jobs as separate processes, then predict and status.
 */
describe('himas train (embedded stack, end to end)', () => {
  let cwd: string;
  let report: TrainingReport;
  let trainResult: ReturnType<typeof himas>;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-e2e-'));
    trainResult = himas(['train', '--rounds', '5', '--run-id', 'e2e-run', '--out', 'out'], { cwd });
    if (trainResult.status !== 0) throw new Error(`himas train failed:\n${trainResult.stderr}`);
    report = TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(cwd, 'out', 'report.json'), 'utf8')),
    );
  }, 300_000);

  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('shows progress for every round and ends with a summary', () => {
    for (let round = 1; round <= 5; round++) expect(trainResult.stderr).toContain(`round ${round}/5 closed`);
    expect(trainResult.stderr).toMatch(/AUROC of start model/);
    // The deployable workflow drives the run, and its own steps show in the progress.
    expect(trainResult.stderr).toMatch(/federated-training\.yaml on the local Workflows engine/);
    expect(trainResult.stderr).toMatch(/workflow: workflow\.run-started/);
    expect(trainResult.stdout).toMatch(/Final model e2e-run-r0005/);
    expect(trainResult.stdout).toMatch(/pooled \(histograms\)/);
    expect(trainResult.stdout).toMatch(/Privacy: hospital-level ε = ∞/);
    expect(trainResult.stdout).toMatch(/Privacy: patient-level ε = (0\.9\d*|1\.000) of a budget of 3/);
    expect(trainResult.stdout).toMatch(/non-private federated pooled AUROC 0\.\d{3}/);
  });

  it('with patient-level DP-SGD (ε = 1 per hospital) stays within 0.05 pooled AUROC of the non-private federated model', () => {
    expect(report.status).toBe('completed');
    expect(report.rounds.map((r) => r.status)).toEqual(['closed', 'closed', 'closed', 'closed', 'closed']);
    const federated = report.baselines.find((b) => b.name === 'federated (exact)')!;
    const nonPrivate = report.baselines.find((b) => b.name === 'non-private federated')!;
    const central = report.baselines.find((b) => b.name === 'central')!;
    expect(nonPrivate.quality.pooled.auroc).toBeGreaterThanOrEqual(0.8);
    expect(federated.quality.pooled.auroc).toBeGreaterThanOrEqual(nonPrivate.quality.pooled.auroc! - 0.05);
    expect(report.notes).toContainEqual(
      expect.stringMatching(
        /^Patient-level DP-SGD .*pooled test AUROC 0\.\d{3} vs 0\.\d{3} for the non-private federated model \(difference [-+]0\.\d{3}\)/,
      ),
    );
    // The non-private federated model keeps the foundation's promise against central training.
    expect(Math.abs(nonPrivate.quality.pooled.auroc! - central.quality.pooled.auroc!)).toBeLessThanOrEqual(
      0.03,
    );
    // Pooling from histograms agrees with exact pooling.
    expect(
      Math.abs(report.finalModel!.quality!.pooled.auroc! - federated.quality.pooled.auroc!),
    ).toBeLessThan(0.003);
    expect(report.versions).toHaveLength(6);
  });

  it('states the privacy guarantee honestly', () => {
    expect(report.privacy).toEqual([
      expect.objectContaining({ unit: 'hospital', epsilon: null, steps: 5, noiseMultiplier: 0 }),
      expect.objectContaining({ unit: 'patient', delta: 1e-5, budgetEpsilon: 3 }),
    ]);
    const patient = report.privacy.find((g) => g.unit === 'patient')!;
    expect(patient.epsilon).toBeGreaterThan(0.9);
    expect(patient.epsilon).toBeLessThanOrEqual(1);
  });

  it("keeps each hospital's patient-level ledger with its cohort, and `himas privacy ledger` shows it", () => {
    const result = himas(['privacy', 'ledger', '--out', 'out', '--json'], { cwd });
    expect(result.status).toBe(0);
    const view = JSON.parse(result.stdout) as {
      hospitals: Array<{
        hospitalId: string;
        epsilon: number;
        entries: Array<{ runId: string; round: number }>;
      }>;
    };
    expect(view.hospitals.map((h) => h.hospitalId)).toEqual(report.hospitals.map((h) => h.hospitalId));
    for (const h of view.hospitals) {
      expect(h.entries.map((e) => [e.runId, e.round])).toEqual([1, 2, 3, 4, 5].map((r) => ['e2e-run', r]));
    }
    const worst = Math.max(...view.hospitals.map((h) => h.epsilon));
    expect(worst).toBeCloseTo(report.privacy.find((g) => g.unit === 'patient')!.epsilon!, 9);
  });

  it('writes a self-contained HTML report and the model in TF.js layers format', () => {
    const html = readFileSync(path.join(cwd, 'out', 'report.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const modelJson = JSON.parse(readFileSync(path.join(cwd, 'out', 'model', 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(existsSync(path.join(cwd, 'out', 'model', 'weights.bin'))).toBe(true);
  });

  it('predicts risks for a CSV in row order with the saved model', () => {
    const input = path.join(cwd, 'out', 'data', `${report.hospitals[0].hospitalId}.test.csv`);
    const result = himas(['predict', '--model', 'out/model', '--input', input, '--out', 'risks.csv'], {
      cwd,
    });
    expect(result.status).toBe(0);
    const ids = readFileSync(input, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    const rows = readFileSync(path.join(cwd, 'risks.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('stay_id,risk');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(ids);
    for (const row of rows.slice(1)) {
      const risk = Number(row.split(',')[1]);
      expect(risk).toBeGreaterThanOrEqual(0);
      expect(risk).toBeLessThanOrEqual(1);
    }
  });

  it('reports what the run did from the store', () => {
    const list = himas(['status'], { cwd });
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/e2e-run\s+completed\s+succeeded\s+5\/5/);
    const one = himas(['status', 'e2e-run', '--json'], { cwd });
    const parsed = JSON.parse(one.stdout);
    expect(parsed.rounds).toHaveLength(5);
    expect(parsed.rounds.every((r: { participants: string[] }) => r.participants.length === 3)).toBe(true);
    expect(parsed.versions.at(-1).versionId).toBe('e2e-run-r0005');
  });
});
