import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingConfigSchema, type TrainingConfig } from '../../../schemas/training-config';
import { FileBlobStore } from '../../../src/adapters/embedded/file-blob-store';
import { FilePatientLedgerStore } from '../../../src/adapters/ledger/file-patient-ledger-store';
import { initializeBackend } from '../../../src/core/model';
import { dpSgdPrivacyEvent } from '../../../src/core/privacy';
import { silentLogger } from '../../../src/logging/logger';
import { ledgerEntry } from '../../contract/patient-ledger-store.contract';
import { runHospitalJob } from '../../../src/services/hospital-job';
import {
  chargeTrainingAttempt,
  cohortFingerprint,
  ledgerEpsilon,
  patientGuarantee,
  patientLedgerEvents,
  patientPlan,
  PatientBudgetExhaustedError,
} from '../../../src/services/patient-privacy';
import { manualClock, memoryCohortSource, setUpRun, smallCohort, type RunFixture } from './service-fixture';

jest.setTimeout(90_000);

const HOSPITAL = 'h1-academic';
const FINGERPRINT = 'a'.repeat(64);
const N = 1000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function stores() {
  return {
    ledger: new FilePatientLedgerStore(path.join(dir, 'ledger')),
    blobs: new FileBlobStore(path.join(dir, 'blobs')),
    clock: manualClock(),
  };
}

const configOf = (over: Record<string, unknown> = {}): TrainingConfig =>
  TrainingConfigSchema.parse({ rounds: 2, ...over });

/** Charges every round of one run, as the run's jobs would, and returns the plans used. */
async function chargeRun(deps: ReturnType<typeof stores>, config: TrainingConfig, runId: string) {
  const plans = [];
  for (let round = 1; round <= config.rounds; round++) {
    const charge = await chargeTrainingAttempt(deps, {
      config,
      runId,
      hospitalId: HOSPITAL,
      round,
      cohortFingerprint: FINGERPRINT,
      datasetSize: N,
    });
    plans.push(charge.plan);
  }
  return plans;
}

describe('patient-level ledger across runs of the same cohort', () => {
  it('keeps one ledger per cohort: a second run adds to the first, and the guarantee is cumulative', async () => {
    const deps = stores();
    const config = configOf({ patientTargetEpsilon: 1, patientBudgetEpsilon: 3 });
    const first = await chargeRun(deps, config, 'run-a');
    const afterFirst = await patientGuarantee(deps.ledger, config, HOSPITAL, FINGERPRINT);
    expect(afterFirst.epsilon).toBeGreaterThan(0.95);
    expect(afterFirst.epsilon).toBeLessThanOrEqual(1);
    expect(afterFirst.budgetEpsilon).toBe(3);

    const second = await chargeRun(deps, config, 'run-b');
    // The budget is loose: the second run plans the same noise as the first.
    expect(second[0].noiseMultiplier).toBeCloseTo(first[0].noiseMultiplier, 9);
    const afterSecond = await patientGuarantee(deps.ledger, config, HOSPITAL, FINGERPRINT);
    expect(afterSecond.epsilon!).toBeGreaterThan(afterFirst.epsilon!);
    expect(afterSecond.epsilon!).toBeLessThan(2); // RDP composition: less than the sum
    expect(afterSecond.steps).toBe(2 * first[0].totalSteps);
    expect(await deps.ledger.read(HOSPITAL, FINGERPRINT)).toHaveLength(4);

    // The run's public copy carries earlier runs as one round-0 entry, so the guardian recomputes
    // the same cumulative ε from blobs alone.
    const events = await patientLedgerEvents(deps.blobs, 'run-b', HOSPITAL, 2);
    expect(events).toHaveLength(3);
    expect(
      ledgerEpsilon(
        events.map((event) => ({ event })),
        config.delta,
      ),
    ).toBeCloseTo(afterSecond.epsilon!, 9);
  });

  it('raises the noise of a run so the cumulative ε stays within the lifetime budget', async () => {
    const deps = stores();
    const config = configOf({ patientTargetEpsilon: 1, patientBudgetEpsilon: 1.2 });
    const first = await chargeRun(deps, config, 'run-a');
    const second = await chargeRun(deps, config, 'run-b');
    expect(second[0].noiseMultiplier).toBeGreaterThan(first[0].noiseMultiplier * 1.3);
    const total = await patientGuarantee(deps.ledger, config, HOSPITAL, FINGERPRINT);
    expect(total.epsilon!).toBeLessThanOrEqual(1.2);
    expect(total.epsilon!).toBeGreaterThan(1.19);
  });

  it('refuses, before writing anything, a charge that would exceed the budget, and says where and what to do', async () => {
    const deps = stores();
    const config = configOf({ patientTargetEpsilon: 1, patientBudgetEpsilon: 1 });
    await chargeRun(deps, config, 'run-a');
    const before = await deps.ledger.read(HOSPITAL, FINGERPRINT);
    const attempt = chargeTrainingAttempt(deps, {
      config,
      runId: 'run-b',
      hospitalId: HOSPITAL,
      round: 1,
      cohortFingerprint: FINGERPRINT,
      datasetSize: N,
    });
    await expect(attempt).rejects.toBeInstanceOf(PatientBudgetExhaustedError);
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `hospital ${HOSPITAL} refuses to train round 1 of run run-b: .*budget ε = 1 .*Ledger: ${deps.ledger.describe(HOSPITAL, FINGERPRINT).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*No data was used`,
      ),
    );
    expect(await deps.ledger.read(HOSPITAL, FINGERPRINT)).toEqual(before);
    expect(await deps.blobs.list('runs/run-b/')).toEqual([]);
  });

  it('charges a retried attempt of the same round again (write-ahead: the data may have been used)', async () => {
    const deps = stores();
    const config = configOf({ rounds: 1, patientTargetEpsilon: 1, patientBudgetEpsilon: 3 });
    await chargeRun(deps, config, 'run-a');
    await chargeRun(deps, config, 'run-a');
    const entries = await deps.ledger.read(HOSPITAL, FINGERPRINT);
    expect(entries.map((e) => [e.runId, e.round])).toEqual([
      ['run-a', 1],
      ['run-a', 1],
    ]);
    expect(new Set(entries.map((e) => e.attempt)).size).toBe(2);
    // Same run: the plan does not count the run's own attempts as "earlier runs".
    expect(entries[1].noiseMultiplier).toBe(entries[0].noiseMultiplier);
  });

  it('plans from the earlier runs only, deterministically', () => {
    const config = configOf({ patientBudgetEpsilon: 1.2 });
    const alone = patientPlan(config, N);
    const earlier = [dpSgdPrivacyEvent(alone.samplingProbability, alone.noiseMultiplier, alone.totalSteps)];
    const after = patientPlan(config, N, earlier);
    expect(after).toEqual(patientPlan(config, N, earlier));
    expect(after.noiseMultiplier).toBeGreaterThan(alone.noiseMultiplier);
    const spent = ledgerEpsilon(
      [...earlier, dpSgdPrivacyEvent(after.samplingProbability, after.noiseMultiplier, after.totalSteps)].map(
        (event) => ({ event }),
      ),
      config.delta,
    );
    expect(spent).toBeLessThanOrEqual(1.2);
  });
});

// The store's contract (order, reopen, no rewrite, malformed entries, unsafe names) runs in
// test/unit/adapters/patient-ledger-stores.test.ts; what only the file store can meet is here.
describe('FilePatientLedgerStore after a crash', () => {
  it('ignores the temporary file a crash between write and rename leaves behind', async () => {
    const { ledger } = stores();
    await ledger.append(HOSPITAL, FINGERPRINT, ledgerEntry(1, '2025-01-01T00:00:00.000Z'));
    writeFileSync(path.join(ledger.describe(HOSPITAL, FINGERPRINT), '.partial.json.tmp'), '{"runId":');
    expect((await ledger.read(HOSPITAL, FINGERPRINT)).map((e) => e.round)).toEqual([1]);
    expect(
      readdirSync(ledger.describe(HOSPITAL, FINGERPRINT)).filter((n) => n.endsWith('.json')),
    ).toHaveLength(1);
  });
});

describe('hospital job with patient-level DP-SGD', () => {
  let fx: RunFixture | undefined;
  beforeAll(async () => {
    await initializeBackend('auto');
  });
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  const train = (f: RunFixture, hospitalId: string) =>
    runHospitalJob(
      { mode: 'train', runId: f.runId, hospitalId, round: 1, taskAttempt: 0 },
      {
        documents: f.stack.documents,
        blobs: f.stack.blobs,
        events: f.bus,
        models: f.models,
        cohorts: memoryCohortSource(smallCohort()),
        keys: f.keys,
        ledger: f.ledger,
        clock: f.clock,
        logger: silentLogger,
      },
    );

  it('charges the cohort ledger before training, states the cumulative guarantee, and refuses once the budget is spent', async () => {
    fx = await setUpRun({
      patientPrivacy: 'dp-sgd',
      patientTargetEpsilon: 1,
      patientBudgetEpsilon: 1,
      rounds: 2,
    });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2] = fx.hospitals;
    const cohort = smallCohort();
    const fingerprintOf = (id: string) =>
      cohortFingerprint(cohort.hospitals.find((h) => h.hospitalId === id)!.train);

    expect((await train(fx, h1)).status).toBe('done');
    const [submitted] = fx.bus.ofType('update.submitted');
    const entries = await fx.ledger.read(h1, fingerprintOf(h1));
    expect(entries).toEqual([expect.objectContaining({ runId: fx.runId, round: 1 })]);
    expect(submitted.data.patientPrivacy).toEqual(
      expect.objectContaining({ unit: 'patient', budgetEpsilon: 1, steps: entries[0].steps }),
    );
    expect(submitted.data.patientPrivacy!.epsilon!).toBeCloseTo(ledgerEpsilon(entries, 1e-5), 9);
    expect(submitted.data.trainLoss).toBeNull(); // not privatised, so not shared

    // Another run on h2's patients already spent their whole budget: h2's job refuses to train.
    await fx.ledger.append(h2, fingerprintOf(h2), {
      runId: 'earlier-run',
      round: 1,
      attempt: 'spent',
      chargedAt: '2024-12-31T00:00:00.000Z',
      event: dpSgdPrivacyEvent(0.5, 0.8, 100),
      noiseMultiplier: 0.8,
      samplingProbability: 0.5,
      steps: 100,
      exampleClipNorm: 1,
    });
    await expect(train(fx, h2)).rejects.toThrow(/hospital h2-\S+ refuses to train round 1 .*lifetime/);
    expect(await fx.ledger.read(h2, fingerprintOf(h2))).toHaveLength(1);
    expect(fx.bus.ofType('update.submitted').map((e) => e.data.hospitalId)).toEqual([h1]);
  });
});
