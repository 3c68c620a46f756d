/**
 * The privacy issue's findings, each written as the attack and asserted to fail (STYLE.md habit 7).
 * (c) label inference from released evaluations lives with the release itself,
 * test/unit/core/evaluation/pooled-metrics.test.ts; (b)'s seeded-sampler refusal with DP-SGD,
 * test/unit/core/model/dp-sgd.test.ts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type RunDocument } from '../../../schemas/documents';
import type { HimasEvent } from '../../../schemas/events';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { CsvCohortSource } from '../../../src/adapters/cohort/csv-cohort-source';
import { FileBlobStore } from '../../../src/adapters/embedded/file-blob-store';
import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { BlobHospitalLedgerStore } from '../../../src/adapters/ledger/blob-hospital-ledger-store';
import { hospitalStateDir, localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import { writeCohort } from '../../../src/cli/cohort-files';
import {
  generateCohort,
  referencePreprocessor,
  transformRecords,
  type SyntheticCohort,
} from '../../../src/core/data';
import {
  createModel,
  getFlatWeights,
  initializeBackend,
  trainLocallyWithDpSgd,
} from '../../../src/core/model';
import { silentLogger } from '../../../src/logging/logger';
import { systemClock } from '../../../src/ports/clock';
import type { CohortSource } from '../../../src/ports/cohort-source';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { importPrivateKeyPem } from '../../../src/runtime/secure-aggregation-crypto';
import { PatientBudgetExhaustedError, LedgerDivergedError } from '../../../src/services/hospital-ledger';
import { runHospitalJob, type HospitalJobDeps } from '../../../src/services/hospital-job';
import { chargeUse, reserveRunPrivacy } from '../../../src/services/patient-privacy';
import { entrySha256, verifyLedgerChain } from '../../../src/runtime/ledger-signing';
import { manualClock, memoryCohortSource, setUpRun, type RunFixture } from './service-fixture';

jest.setTimeout(180_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

const cohortA = (): SyntheticCohort =>
  generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 7 });

/** A cohort that differs from `cohortA` in one patient of h1's training split (added at the end). */
function withOneMorePatient(base: SyntheticCohort): SyntheticCohort {
  const donor = generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 99 }).hospitals[0]
    .train[0];
  return {
    ...base,
    hospitals: base.hospitals.map((h, i) =>
      i === 0 ? { ...h, train: [...h.train, { ...donor, stay_id: 'the-one-patient' }] } : h,
    ),
  };
}

/** Flattens JSON to path → value for a leaf-by-leaf comparison. */
function leaves(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      leaves(v, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, value);
  return out;
}

/**
 * Everything a hospital's jobs send out for one round and a final evaluation (events and the
 * published ledger), run on `cohort` with the clock and the keys fixed, so that only the data and
 * the privacy randomness can make two runs differ.
 */
async function whatLeaves(cohort: SyntheticCohort, keysDir: string): Promise<Map<string, unknown>> {
  // The declared sizes are public constants: the same whether or not one patient is added.
  const declaredTrainStays = Object.fromEntries(cohortA().hospitals.map((h) => [h.hospitalId, 150]));
  const fx = await setUpRun(
    {
      patientPrivacy: 'dp-sgd',
      rounds: 1,
      secureAggregation: true,
      aggregation: 'dp-fedavg',
      model: 'logistic',
    },
    { keysDir, cohort, declaredTrainStays },
  );
  try {
    await fx.lifecycle.openRound(fx.runId, 1);
    const deps = jobDeps(fx, memoryCohortSource(cohort));
    for (const hospitalId of fx.hospitals)
      await runHospitalJob({ mode: 'train', runId: fx.runId, hospitalId, round: 1, taskAttempt: 0 }, deps);
    for (const e of fx.bus.ofType('update.submitted'))
      await fx.aggregator.handle({ data: JSON.stringify(e) });
    const version = (await fx.lifecycle.getRun(fx.runId))!.latestModelVersionId!;
    for (const hospitalId of fx.hospitals)
      await runHospitalJob(
        { mode: 'evaluate', runId: fx.runId, hospitalId, modelVersionId: version, taskAttempt: 0 },
        deps,
      );
    const sent: Record<string, unknown> = {};
    for (const { event } of fx.bus.published.filter((p) =>
      ['update.submitted', 'evaluation.reported'].includes(p.event.type),
    ))
      sent[(event as HimasEvent).id] = (event as HimasEvent).data;
    for (const name of await fx.stack.blobs.list('ledgers/'))
      sent[name] = JSON.parse(Buffer.from(await fx.stack.blobs.get(name)).toString('utf8'));
    const model = await fx.models.load(version);
    sent.preprocessor = (
      model.artifacts.modelJson as { userDefinedMetadata: { himas: { preprocessor: unknown } } }
    ).userDefinedMetadata.himas.preprocessor;
    return leaves(sent);
  } finally {
    await fx.close();
  }
}

function jobDeps(fx: RunFixture, cohorts: CohortSource): HospitalJobDeps {
  return {
    documents: fx.stack.documents,
    blobs: fx.stack.blobs,
    events: fx.bus,
    models: fx.models,
    cohorts,
    keys: fx.keys,
    ledger: fx.ledger,
    clock: fx.clock,
    logger: silentLogger,
  };
}

describe('attack (a): differencing two cohorts that differ in one patient', () => {
  it('finds every released value identical except the DP-noised ones, and the preprocessor is the public reference', async () => {
    const keysDir = mkdtempSync(path.join(os.tmpdir(), 'himas-attack-keys-'));
    try {
      const base = cohortA();
      const d = await whatLeaves(base, keysDir);
      const dPrime = await whatLeaves(withOneMorePatient(base), keysDir);
      expect([...d.keys()].sort()).toEqual([...dPrime.keys()].sort());
      const differing = [...d.keys()].filter((k) => d.get(k) !== dPrime.get(k));
      // What may differ is what the mechanisms noised: the masked update (its bytes, checksum and
      // signature) and the evaluation histograms' counts. Nothing else — no N, no mean, no loss,
      // no timing, no norm — depends on the extra patient.
      const noised = [
        /^update:[^.]+\.(sha256|signature)$/,
        /^evaluation:[^.]+\.histogram\.(positives|negatives)\.\d+$/,
      ];
      const unexplained = differing.filter((k) => !noised.some((re) => re.test(k)));
      expect(unexplained).toEqual([]);
      expect(differing.some((k) => k.includes('histogram'))).toBe(true); // the comparison is not vacuous
      expect(JSON.stringify(d.get('preprocessor.source'))).toMatch(/public reference/);
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});

describe('attack (b): rebuilding a DP-SGD batch from the configuration', () => {
  it('cannot: two trainings with the same seed, model, data and zero noise still sample different batches', async () => {
    const cohort = cohortA();
    const data = transformRecords(referencePreprocessor(), cohort.hospitals[0].train);
    const train = async () => {
      const model = createModel({ kind: 'logistic', inputDim: data.cols }, 42);
      const result = await trainLocallyWithDpSgd(model, data, {
        epochs: 1,
        batchSize: 32,
        learningRate: 0.05,
        exampleClipNorm: 1,
        noiseMultiplier: 0, // no noise: only the sample can differ
        random: new CryptoRandom(),
        noiseRandom: new CryptoRandom(),
      });
      const weights = Array.from(getFlatWeights(model));
      model.dispose();
      return { examples: result.examples, weights };
    };
    const [first, second] = [await train(), await train()];
    expect(second.weights).not.toEqual(first.weights);
  });
});

describe('attack (d): a fresh budget from a reordered, copied or thinned copy of the same patients', () => {
  it('finds one ledger per hospital: every variant draws on it, and the run that would exceed the budget is refused before reading a record', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'himas-attack-ledger-'));
    try {
      const cohort = cohortA();
      const original = path.join(home, 'data');
      await writeCohort(cohort, original);
      const h1 = cohort.hospitals[0].hospitalId;
      // The variants an attacker (or a careless user) makes of h1's files.
      const shuffled = path.join(home, 'shuffled');
      cpSync(original, shuffled, { recursive: true });
      const file = path.join(shuffled, `${h1}.train.csv`);
      const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
      writeFileSync(file, `${[header, ...rows.reverse()].join('\n')}\n`);
      const thinned = path.join(home, 'thinned');
      cpSync(shuffled, thinned, { recursive: true });
      writeFileSync(path.join(thinned, `${h1}.train.csv`), `${[header, ...rows.slice(1)].join('\n')}\n`);
      const copied = path.join(home, 'copy-of-data');
      cpSync(original, copied, { recursive: true });

      const budget = 2; // three default runs (ε ≈ 1.81) fit, a fourth (≈ 2.11) does not
      let reads = 0;
      const runOn = async (dir: string, runId: string) => {
        const csv = new CsvCohortSource(dir);
        const counting: CohortSource = {
          ...csv,
          read: (h, split) => ((reads += 1), csv.read(h, split)),
          describe: () => csv.describe(),
        };
        const fx = await setUpRun(
          { patientPrivacy: 'dp-sgd', rounds: 1, patientBudgetEpsilon: budget },
          { runId, home, cohort },
        );
        try {
          await fx.lifecycle.openRound(runId, 1);
          return await runHospitalJob(
            { mode: 'train', runId, hospitalId: h1, round: 1, taskAttempt: 0 },
            jobDeps(fx, counting),
          );
        } finally {
          await fx.close({ keepHome: true });
        }
      };
      for (const [dir, runId] of [
        [original, 'run-original'],
        [shuffled, 'run-shuffled'],
        [copied, 'run-copied'],
      ] as const)
        expect((await runOn(dir, runId)).status).toBe('done');
      const ledger = localHospitalLedger(hospitalStateDir(home));
      const runs = [...new Set((await ledger.read(h1)).map((e) => e.entry.runId))];
      expect(runs).toEqual(['run-original', 'run-shuffled', 'run-copied']);

      const before = reads;
      const refused = runOn(thinned, 'run-thinned');
      await expect(refused).rejects.toBeInstanceOf(PatientBudgetExhaustedError);
      await expect(refused).rejects.toThrow(
        /hospital h1-academic refuses run run-thinned before reading any record: its patients' lifetime budget ε = 2 .* would bring it to 2\.\d{3}.*himas privacy ledger --hospital h1-academic.*To go on: lower patientTargetEpsilon/,
      );
      expect(reads).toBe(before); // not one record read
      expect((await ledger.read(h1)).some((e) => e.entry.runId === 'run-thinned')).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("deleting the hospital's own ledger gives no budget back: it is restored from the signed published copy", async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'himas-attack-reset-'));
    try {
      const keys = new FileHospitalKeyStore(path.join(home, 'keys'));
      const signing = await keys.ensureSigningKey('h1');
      const signer = {
        hospitalId: 'h1',
        privateKey: importPrivateKeyPem(signing.privateKeyPem),
        publicKey: signing.publicKey,
      };
      const mirror = new BlobHospitalLedgerStore(new FileBlobStore(path.join(home, 'blobs')), 'shared');
      const deps = () => ({
        ledger: localHospitalLedger(hospitalStateDir(home)),
        mirror,
        clock: manualClock(),
      });
      const config = TrainingConfigSchema.parse({ rounds: 2, patientBudgetEpsilon: 1.3 });
      const run = (runId: string) =>
        ({ runId, config, declaredTrainStays: { h1: 1500 } }) as unknown as RunDocument;
      await reserveRunPrivacy(deps(), signer, run('run-1'));
      rmSync(hospitalStateDir(home), { recursive: true, force: true }); // "start a fresh ledger"
      await expect(reserveRunPrivacy(deps(), signer, run('run-2'))).rejects.toBeInstanceOf(
        PatientBudgetExhaustedError,
      );
      expect((await deps().ledger.read('h1')).map((e) => e.entry.runId)).toEqual(['run-1']);

      // A different chain put in its place (signed with the same key) is caught as a divergence.
      rmSync(hospitalStateDir(home), { recursive: true, force: true });
      const other = new BlobHospitalLedgerStore(
        new FileBlobStore(path.join(home, 'other-blobs')),
        'elsewhere',
      );
      await reserveRunPrivacy({ ...deps(), mirror: other }, signer, run('run-x'));
      await expect(reserveRunPrivacy(deps(), signer, run('run-3'))).rejects.toBeInstanceOf(
        LedgerDivergedError,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('attack (e): two concurrent runs on one hospital, each alone within budget', () => {
  it('cannot both pass the budget check: exactly one reservation is written, the other is refused', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'himas-attack-race-'));
    try {
      const keys = new FileHospitalKeyStore(path.join(home, 'keys'));
      const signing = await keys.ensureSigningKey('h1');
      const signer = {
        hospitalId: 'h1',
        privateKey: importPrivateKeyPem(signing.privateKeyPem),
        publicKey: signing.publicKey,
      };
      const config = TrainingConfigSchema.parse({ rounds: 2, patientBudgetEpsilon: 1.2 });
      const deps = {
        ledger: localHospitalLedger(hospitalStateDir(home)),
        mirror: new BlobHospitalLedgerStore(new FileBlobStore(path.join(home, 'blobs')), 'shared'),
        clock: systemClock,
      };
      const attempts = ['run-a', 'run-b', 'run-c', 'run-d'].map((runId) =>
        reserveRunPrivacy(deps, signer, {
          runId,
          config,
          declaredTrainStays: { h1: 1500 },
        } as unknown as RunDocument),
      );
      const outcomes = await Promise.allSettled(attempts);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes.filter((x) => x.status === 'rejected'))
        expect((o as PromiseRejectedResult).reason).toBeInstanceOf(PatientBudgetExhaustedError);
      const entries = await deps.ledger.read('h1');
      expect(entries.filter((e) => e.entry.kind === 'reservation')).toHaveLength(1);
      expect(entries.map((e) => e.entry.sequence)).toEqual([0]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("a charge built on the reservation's stale view still pays: another job charged in between, so the use is a repeat", async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'himas-attack-stale-'));
    try {
      const keys = new FileHospitalKeyStore(path.join(home, 'keys'));
      const signing = await keys.ensureSigningKey('h1');
      const signer = {
        hospitalId: 'h1',
        privateKey: importPrivateKeyPem(signing.privateKeyPem),
        publicKey: signing.publicKey,
      };
      const mirror = new BlobHospitalLedgerStore(new FileBlobStore(path.join(home, 'blobs')), 'shared');
      const deps = { ledger: localHospitalLedger(hospitalStateDir(home)), mirror, clock: systemClock };
      const config = TrainingConfigSchema.parse({ rounds: 2, patientBudgetEpsilon: 10 });
      const run = { runId: 'run-1', config, declaredTrainStays: { h1: 1500 } } as unknown as RunDocument;
      const { entries: reserved } = await reserveRunPrivacy(deps, signer, run);
      // A second job of the same hospital charges train:1 after this job's reservation was read.
      await chargeUse(deps, signer, run, ['train:1']);
      await chargeUse(deps, signer, run, ['train:1'], reserved);
      const entries = await deps.ledger.read('h1');
      expect(entries.map((e) => [e.entry.sequence, e.entry.kind, e.entry.mechanisms.length > 0])).toEqual([
        [0, 'reservation', true],
        [1, 'use', false], // covered by the reservation
        [2, 'use', true], // the repeat pays again, though its first view knew of no earlier use
      ]);
      expect((await mirror.read('h1')).map((e) => entrySha256(e.entry))).toEqual(
        entries.map((e) => entrySha256(e.entry)),
      );
      const chain = verifyLedgerChain({ hospitalId: 'h1', signingPublicKey: signing.publicKey, entries });
      expect(chain).toEqual({ ok: true });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('a retried round is charged again (the data was read twice)', () => {
  it('charges the second use of train:1 with one more round of DP-SGD and refuses it once the budget is gone', async () => {
    const fx = await setUpRun({
      patientPrivacy: 'dp-sgd',
      rounds: 1,
      patientTargetEpsilon: 1,
      patientBudgetEpsilon: 1.05,
    });
    try {
      await fx.lifecycle.openRound(fx.runId, 1);
      const [h1] = fx.hospitals;
      const deps = jobDeps(fx, memoryCohortSource(cohortA()));
      await runHospitalJob(
        { mode: 'train', runId: fx.runId, hospitalId: h1, round: 1, taskAttempt: 0 },
        deps,
      );
      // The job died before the aggregator saw its update: the retry trains (and reads) again.
      const retry = runHospitalJob(
        { mode: 'train', runId: fx.runId, hospitalId: h1, round: 1, taskAttempt: 1 },
        deps,
      );
      await expect(retry).rejects.toThrow(/refuses to read its data for train:1 .*a retry pays again/);
      const entries = await fx.ledger.read(h1);
      expect(entries.map((e) => [e.entry.kind, e.entry.slots.join(','), e.entry.mechanisms.length])).toEqual([
        ['reservation', '', 2],
        ['use', 'train:1', 0],
      ]);
    } finally {
      await fx.close();
    }
  });
});
