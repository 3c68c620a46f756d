import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { paths } from '../../../schemas/documents';
import { decodeUpdate } from '../../../src/core/codec/update-codec';
import { initializeBackend } from '../../../src/core/model';
import { runHospitalJob } from '../../../src/services/hospital-job';
import {
  auditActions,
  hospitalJobDeps,
  memoryCohortSource,
  setUpRun,
  smallCohort,
  versionOf,
  type RunFixture,
} from './service-fixture';

jest.setTimeout(90_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const jobDeps = (f: RunFixture) => hospitalJobDeps(f);

const train = (f: RunFixture, hospitalId: string, round = 1) =>
  runHospitalJob({ mode: 'train', runId: f.runId, hospitalId, round, taskAttempt: 0 }, jobDeps(f));

describe('runHospitalJob', () => {
  it('refuses an unknown run and a hospital that is not enrolled', async () => {
    fx = await setUpRun();
    await expect(
      runHospitalJob(
        { mode: 'stats', runId: 'ghost', hospitalId: fx.hospitals[0], taskAttempt: 0 },
        jobDeps(fx),
      ),
    ).rejects.toThrow('run ghost does not exist');
    await expect(
      runHospitalJob({ mode: 'stats', runId: fx.runId, hospitalId: 'h-other', taskAttempt: 0 }, jobDeps(fx)),
    ).rejects.toThrow(`hospital h-other is not enrolled in run ${fx.runId}`);
  });

  it('never enrols itself: runs only under the key the operator enrolled, and refuses an impostor key store', async () => {
    fx = await setUpRun();
    const [h1, h2] = fx.hospitals;
    const enrolment = (await fx.stack.documents.get(paths.hospital(h1)))!;
    expect(enrolment).toMatchObject({
      hospitalId: h1,
      enabled: true,
      signingPublicKey: (await fx.keys.signingKey(h1)).publicKey,
    });
    // The enrolments were written by the operator, never by a hospital.
    const enrolled = (await auditActions(fx)).filter(([action]) => action === 'hospital.enrolled');
    expect(enrolled).toHaveLength(fx.hospitals.length);
    const audits = await fx.stack.documents.list(paths.audits());
    expect(audits.filter((a) => a.data.action === 'hospital.enrolled').map((a) => a.data.actor)).toEqual(
      fx.hospitals.map(() => 'operator:test'),
    );
    // Someone else's key store claiming h2: its job must not run, nor enrol over the real one.
    const impostorKeys = new FileHospitalKeyStore(path.join(fx.home, 'impostor-keys'));
    await impostorKeys.ensureSigningKey(h2);
    const impostor = { ...jobDeps(fx), keys: impostorKeys };
    await fx.lifecycle.startRound(fx.runId, 1);
    await expect(
      runHospitalJob({ mode: 'train', runId: fx.runId, hospitalId: h2, round: 1, taskAttempt: 0 }, impostor),
    ).rejects.toThrow(
      new RegExp(`hospital ${h2}'s key store holds signing key [0-9a-f]{12}, but [0-9a-f]{12} is enrolled`),
    );
    // A key store with no key at all (never provisioned) does not invent one.
    const empty = { ...jobDeps(fx), keys: new FileHospitalKeyStore(path.join(fx.home, 'empty-keys')) };
    await expect(
      runHospitalJob({ mode: 'train', runId: fx.runId, hospitalId: h2, round: 1, taskAttempt: 0 }, empty),
    ).rejects.toThrow(`hospital ${h2} has no signing key in`);
    expect((await fx.stack.documents.get(paths.hospital(h2)))!.signingPublicKey).toBe(
      (await fx.keys.signingKey(h2)).publicKey,
    );
  });

  it('the stats job reserves the run in the hospital ledger once and, with no releases enabled, reads no record', async () => {
    fx = await setUpRun();
    const [h1] = fx.hospitals;
    const reads: string[] = [];
    const cohorts = memoryCohortSource(smallCohort());
    const counting = {
      ...jobDeps(fx),
      cohorts: {
        ...cohorts,
        read: (h: string, split: 'train' | 'test') => {
          reads.push(`${h}:${split}`);
          return cohorts.read(h, split);
        },
      },
    };
    const again = await runHospitalJob(
      { mode: 'stats', runId: fx.runId, hospitalId: h1, taskAttempt: 1 },
      counting,
    );
    expect(again.status).toBe('done');
    expect(again.detail).toMatch(/surveillance: not enabled.*treatment: not enabled/);
    expect(reads).toEqual([]);
    const entries = await fx.ledger.read(h1);
    expect(entries.map((e) => [e.entry.kind, e.entry.runId])).toEqual([['reservation', fx.runId]]);
    // No exact count or statistic of the records went anywhere.
    expect(await fx.stack.blobs.list(`runs/${fx.runId}/`)).toEqual([]);
  });

  it('refuses to train a round that was never opened', async () => {
    fx = await setUpRun();
    await expect(train(fx, fx.hospitals[0])).rejects.toThrow(`round 1 of run ${fx.runId} was never opened`);
  });

  it('trains, clips and submits an update the aggregator accepts; re-runs and closed rounds are skipped', async () => {
    fx = await setUpRun({ clipNorm: 0.05 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1] = fx.hospitals;
    const outcome = await train(fx, h1);
    expect(outcome.status).toBe('done');

    const [submitted] = fx.bus.ofType('update.submitted');
    expect(submitted.id).toBe(`update:${fx.runId}:1:${h1}`);
    expect(submitted.data.baseModelVersionId).toBe(fx.baseVersionId);
    // The weight is the declared (public) size, not a count of the records.
    expect(submitted.data.numExamples).toBe(fx.declared[h1]);
    expect(submitted.data.numParameters).toBe(fx.numParameters);
    expect(submitted.data).not.toHaveProperty('trainSeconds');
    expect(submitted.data).not.toHaveProperty('norm');
    const bytes = await fx.stack.blobs.get(submitted.data.blobPath);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(submitted.data.sha256);
    const { encoding, values } = decodeUpdate(bytes);
    expect(encoding).toBe('float32');
    expect(values).toHaveLength(fx.numParameters);
    // A tiny clip norm forces clipping at the source.
    const norm = Math.hypot(...(values as Float32Array));
    expect(norm).toBeLessThanOrEqual(0.05 * (1 + 1e-6));
    expect(norm).toBeGreaterThan(0.049);
    // This run evaluates only its final model, so no evaluation travels with the update.
    expect(submitted.data.baseEvaluation).toBeNull();
    // The round's training was charged to the hospital's ledger before it read a record.
    const entries = await fx.ledger.read(h1);
    expect(entries[submitted.data.ledgerSequence].entry).toMatchObject({ kind: 'use', slots: ['train:1'] });

    await fx.aggregator.handle({ data: JSON.stringify(submitted) });
    expect((await fx.stack.documents.get(paths.update(fx.runId, 1, h1)))!.status).toBe('accepted');
    expect(await train(fx, h1)).toEqual({ status: 'skipped', detail: 'update for round 1 already received' });
    expect(fx.bus.ofType('update.submitted')).toHaveLength(1);

    for (const h of fx.hospitals.slice(1)) {
      await train(fx, h);
      const last = fx.bus.ofType('update.submitted').at(-1)!;
      await fx.aggregator.handle({ data: JSON.stringify(last) });
    }
    expect((await fx.lifecycle.getRound(fx.runId, 1))!.status).toBe('closed');
    expect(await fx.models.get(versionOf(fx, 1))).toBeDefined();
    // After the close every hospital's job is a no-op.
    expect(await train(fx, fx.hospitals[2])).toEqual({ status: 'skipped', detail: 'round 1 is closed' });
  });

  it('with every round evaluated, the update carries a noisy evaluation charged with the round', async () => {
    fx = await setUpRun({ evaluateEveryRound: true });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1] = fx.hospitals;
    await train(fx, h1);
    const [submitted] = fx.bus.ofType('update.submitted');
    expect(submitted.data.baseEvaluation?.modelVersionId).toBe(fx.baseVersionId);
    expect(submitted.data.baseEvaluation?.histogram.noiseStd).toBeGreaterThan(1);
    const entries = await fx.ledger.read(h1);
    expect(entries.at(-1)!.entry.slots).toEqual(['train:1', `evaluation:${fx.baseVersionId}`]);
  });

  it('evaluates a model version on the test split and releases a noisy histogram only', async () => {
    fx = await setUpRun();
    const [h1] = fx.hospitals;
    const env = {
      mode: 'evaluate' as const,
      runId: fx.runId,
      hospitalId: h1,
      modelVersionId: fx.baseVersionId,
      taskAttempt: 0,
    };
    expect((await runHospitalJob(env, jobDeps(fx))).status).toBe('done');
    const [reported] = fx.bus.ofType('evaluation.reported');
    expect(reported.id).toBe(`evaluation:${fx.baseVersionId}:${h1}`);
    const testStays = smallCohort().hospitals[0].test.length;
    expect(reported.data).not.toHaveProperty('metrics');
    const h = reported.data.histogram;
    expect(h.cuts).toHaveLength(14);
    // Noisy counts: real numbers whose total is near, but not exactly, the number of test stays.
    const total = h.positives.reduce((a, b) => a + b, 0) + h.negatives.reduce((a, b) => a + b, 0);
    expect(Number.isInteger(total)).toBe(false);
    expect(Math.abs(total - testStays)).toBeLessThan(8 * h.noiseStd * Math.sqrt(26));
    expect(reported.data.privacy.noiseMultiplier).toBe(h.noiseStd);
    expect(JSON.stringify(reported)).not.toContain('stay_id');

    await fx.aggregator.handle({ data: JSON.stringify(reported) });
    const pooled = (await fx.models.get(fx.baseVersionId))!.pooled!;
    expect(pooled.hospitals).toEqual([h1]);
    expect(pooled.intervals.auroc).not.toBeNull();
    expect(await runHospitalJob(env, jobDeps(fx))).toEqual({
      status: 'skipped',
      detail: `${fx.baseVersionId} already evaluated`,
    });
  });
});
