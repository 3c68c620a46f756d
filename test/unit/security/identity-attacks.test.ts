/**
 * Attacks on hospital identities and on the aggregator's intake (issue 13, findings 1, 3 and 7 and
 * the extra attacks). Each test is the attack, written as a malicious hospital (or a compromised
 * writer of the shared store) would run it, and asserts that it fails. Defences, in
 * docs/architecture.md §5 (threat model): operator-only enrolment with key history, read-only
 * shared state for hospital jobs, verify-before-recording, re-verification at the round's close.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { blobPaths, paths, UpdateReceiptSchema } from '../../../schemas/documents';
import { readOnlyDocuments } from '../../../src/adapters/read-only-documents';
import { encodeUpdate } from '../../../src/core/codec/update-codec';
import { initializeBackend } from '../../../src/core/model';
import { signHospitalEvent } from '../../../src/runtime/hospital-event-signing';
import { importPrivateKeyPem } from '../../../src/runtime/secure-aggregation-crypto';
import { makeEvent } from '../../../src/services/event-publishing';
import {
  confirmOwnEnrolment,
  enrolSimulatedHospitals,
  publicKeysOf,
  revokeHospital,
  rotateHospitalKeys,
} from '../../../src/services/hospital-enrolment';
import { runHospitalJob } from '../../../src/services/hospital-job';
import { readPublishedLedger } from '../../../src/services/published-ledgers';
import { weightsFromBytes } from '../../../src/services/weights-bytes';
import {
  auditReasons,
  craftUpdate,
  deltaWithNorm,
  evaluationOf,
  hospitalJobDeps,
  receiptsOf,
  setUpRun,
  signedAs,
  versionOf,
  type RunFixture,
} from '../services/service-fixture';

jest.setTimeout(120_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const operator = (f: RunFixture) => ({
  documents: f.stack.documents,
  clock: f.clock,
  operator: 'operator:test',
});
const deliver = (f: RunFixture, message: { data: unknown } | object) =>
  f.aggregator.handle(
    typeof (message as { data?: unknown }).data === 'string'
      ? (message as { data: string })
      : { data: JSON.stringify(message) },
  );
const receiptOf = async (f: RunFixture, hospitalId: string, round = 1) => {
  const data = await f.stack.documents.get(paths.update(f.runId, round, hospitalId));
  return data === undefined ? undefined : UpdateReceiptSchema.parse(data);
};

/** base + Σ deltas / m (noise 0, every delta inside the clip norm). */
function expectedWeights(base: Float32Array, deltas: Float32Array[], m: number): Float32Array {
  const sum = new Float64Array(base.length);
  for (const delta of deltas) for (let i = 0; i < delta.length; i++) sum[i] += delta[i];
  return Float32Array.from(base, (b, i) => b + Math.fround(sum[i] / m));
}
async function publishedWeights(f: RunFixture, round = 1): Promise<Float32Array> {
  return weightsFromBytes((await f.models.load(versionOf(f, round))).artifacts.weights);
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// What a job is handed: shared state read only.
const jobDeps = (f: RunFixture) => hospitalJobDeps(f, { documents: readOnlyDocuments(f.stack.documents) });

describe('attack: impersonation (finding 1)', () => {
  it("h1 cannot overwrite h2's enrolment through its job's ports, and an update it signs as h2 is refused without locking h2 out", async () => {
    fx = await setUpRun();
    const [h1, h2] = fx.hospitals;
    const before = await fx.stack.documents.get(paths.hospital(h2));
    // The job's document port has no write methods at all.
    const port = jobDeps(fx).documents as unknown as Record<string, unknown>;
    for (const method of ['set', 'create', 'update', 'delete', 'runTransaction'])
      expect(port[method]).toBeUndefined();
    expect(Object.isFrozen(port)).toBe(true);

    await fx.lifecycle.openRound(fx.runId, 1);
    // h1 signs an update (and its envelope) with its own key, naming h2.
    const forged = await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 1, 5), { signAs: h1 });
    await deliver(fx, forged);
    expect(await receiptOf(fx, h2)).toBeUndefined();
    expect(await auditReasons(fx)).toEqual([expect.stringMatching(/is not signed by h2-\w+'s enrolled key/)]);
    expect(await fx.stack.documents.get(paths.hospital(h2))).toEqual(before);

    // The genuine h2 still gets in.
    await deliver(fx, await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 1, 6)));
    expect((await receiptOf(fx, h2))?.status).toBe('accepted');
  });
});

describe('attack: a forged receipt to count h1 twice (finding 1)', () => {
  it("h2's receipt written by someone else, pointing at h1's accepted blob, is not counted at the close", async () => {
    fx = await setUpRun({ quorum: 1 });
    const [h1, h2, h3] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const d1 = deltaWithNorm(fx.numParameters, 1, 11);
    const d3 = deltaWithNorm(fx.numParameters, 1, 13);
    await deliver(fx, await craftUpdate(fx, h1, d1));
    // A writer of the shared store (what every hospital was before least privilege) copies h1's
    // receipt — its blob, hash and signature — under h2's name.
    const h1Receipt = (await receiptOf(fx, h1))!;
    await fx.stack.documents.create(paths.update(fx.runId, 1, h2), { ...h1Receipt, hospitalId: h2 });
    await deliver(fx, await craftUpdate(fx, h3, d3));

    const round = (await fx.lifecycle.getRound(fx.runId, 1))!;
    expect(round.status).toBe('closed');
    expect(round.participants).toEqual([h1, h3].sort());
    // h1 counted once: base + (d1 + d3) / 3.
    expect(maxAbsDiff(await publishedWeights(fx), expectedWeights(fx.baseWeights, [d1, d3], 3))).toBeLessThan(
      1e-6,
    );
    expect(await auditReasons(fx)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^not counted: bad signature: signature does not match .*hospital h2/),
      ]),
    );
  });

  it('an accepted receipt whose blob was swapped afterwards is not counted either', async () => {
    fx = await setUpRun({ quorum: 1 });
    const [h1, h2, h3] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const d1 = deltaWithNorm(fx.numParameters, 1, 21);
    const d2 = deltaWithNorm(fx.numParameters, 1, 22);
    await deliver(fx, await craftUpdate(fx, h1, d1));
    await deliver(fx, await craftUpdate(fx, h2, d2));
    const accepted = (await receiptOf(fx, h2))!;
    await fx.stack.blobs.put(accepted.blobPath, encodeUpdate(deltaWithNorm(fx.numParameters, 1, 99)));
    await deliver(fx, await craftUpdate(fx, h3, deltaWithNorm(fx.numParameters, 1, 23)));
    const round = (await fx.lifecycle.getRound(fx.runId, 1))!;
    expect(round.participants).toEqual([h1, h3].sort());
    expect(await auditReasons(fx)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^not counted: update blob checksum/)]),
    );
  });
});

describe('attack: lock-out by a junk update.submitted (finding 3)', () => {
  it("a junk event in h2's name (bad signature, no blob, an unsigned base evaluation) leaves no receipt and no evaluation; the real h2 is accepted", async () => {
    fx = await setUpRun();
    const [h1, h2] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const junkEvaluation = evaluationOf(h2, fx.baseVersionId, [1, 1, 1], [0.01, 0.02, 0.03]);
    const junk = makeEvent('update.submitted', {
      id: `update:${fx.runId}:1:${h2}`,
      runId: fx.runId,
      round: 1,
      time: fx.clock.now(),
      data: {
        hospitalId: h2,
        baseModelVersionId: fx.baseVersionId,
        blobPath: blobPaths.update(fx.runId, 1, h2),
        sha256: 'ab'.repeat(32),
        numExamples: fx.declared[h2],
        numParameters: fx.numParameters,
        trainLoss: null,
        baseEvaluation: junkEvaluation,
        ledgerSequence: 0,
        signature: 'A'.repeat(86) + '==',
        masking: null,
      },
    });
    await deliver(fx, junk);
    // Also the same junk envelope signed by h1 (a peer, not h2).
    await deliver(fx, await signedAs(fx, h1, { ...junk, id: 'junk-2' }));
    expect(await receiptOf(fx, h2)).toBeUndefined();
    expect(await fx.stack.documents.get(paths.evaluation(fx.baseVersionId, h2))).toBeUndefined();
    expect((await auditReasons(fx)).length).toBe(2);

    // h2's job does not skip as "already received": it trains and is accepted.
    const outcome = await runHospitalJob(
      { mode: 'train', runId: fx.runId, hospitalId: h2, round: 1, taskAttempt: 0 },
      jobDeps(fx),
    );
    expect(outcome.status).toBe('done');
    await deliver(fx, fx.bus.ofType('update.submitted').at(-1)!);
    expect((await receiptOf(fx, h2))?.status).toBe('accepted');
  });
});

describe('attack: unsigned or forged evaluations (finding 3)', () => {
  it('stores only the evaluation the hospital itself signed', async () => {
    fx = await setUpRun();
    const [h1, h2] = fx.hospitals;
    const report = (hospitalId: string, id: string) =>
      makeEvent('evaluation.reported', {
        id,
        runId: fx!.runId,
        round: 0,
        time: fx!.clock.now(),
        data: evaluationOf(hospitalId, fx!.baseVersionId),
      });
    await deliver(fx, report(h2, 'unsigned'));
    await deliver(fx, await signedAs(fx, h1, report(h2, 'signed-by-a-peer')));
    const genuine = await signedAs(fx, h2, report(h2, 'genuine'));
    // Edited in transit after signing: a count changed.
    const edited = structuredClone(genuine);
    edited.data.histogram.positives[0] += 5;
    await deliver(fx, edited);
    expect(await fx.stack.documents.get(paths.evaluation(fx.baseVersionId, h2))).toBeUndefined();
    const reasons = await auditReasons(fx);
    expect(reasons).toHaveLength(3);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/is not signed \(envelope signature missing\)/),
        expect.stringMatching(/not signed by h2-\w+'s enrolled key/),
      ]),
    );
    await deliver(fx, genuine);
    expect(await fx.stack.documents.get(paths.evaluation(fx.baseVersionId, h2))).toBeDefined();
  });

  it("a base evaluation riding on h1's own update cannot speak for h2", async () => {
    fx = await setUpRun();
    const [h1, h2] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const update = await craftUpdate(fx, h1, deltaWithNorm(fx.numParameters, 1, 3), {
      baseEvaluation: evaluationOf(h2, fx.baseVersionId),
    });
    await deliver(fx, update);
    expect((await receiptOf(fx, h1))?.status).toBe('accepted');
    expect(await fx.stack.documents.get(paths.evaluation(fx.baseVersionId, h2))).toBeUndefined();
    expect(await auditReasons(fx)).toEqual([
      expect.stringMatching(/sent a base evaluation in h2-\w+'s name/),
    ]);
  });
});

describe('attack: replaying a signed update', () => {
  it('into a later round, or into another run, is refused: the update signature binds both, whoever re-signs the envelope', async () => {
    fx = await setUpRun({ quorum: 1, rounds: 3 });
    const [h1, h2, h3] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const old = await craftUpdate(fx, h1, deltaWithNorm(fx.numParameters, 1, 41));
    await deliver(fx, old);
    await deliver(fx, await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 1, 42)));
    await deliver(fx, await craftUpdate(fx, h3, deltaWithNorm(fx.numParameters, 1, 43)));
    expect((await fx.lifecycle.getRound(fx.runId, 1))!.status).toBe('closed');
    await fx.lifecycle.openRound(fx.runId, 2);

    // The old event as is: a redelivery into its own, closed round changes nothing.
    const receiptBefore = await receiptOf(fx, h1, 1);
    await deliver(fx, old);
    expect(await receiptOf(fx, h1, 1)).toEqual(receiptBefore);
    // Moved to round 2 by an outsider: the envelope no longer verifies.
    await deliver(fx, { ...old.event, round: 2, id: 'moved' });
    // Moved to round 2 by h1 itself (it can sign envelopes, and it re-points at its round-1 bytes).
    const key = importPrivateKeyPem((await fx.keys.signingKey(h1)).privateKeyPem);
    await fx.stack.blobs.put(
      blobPaths.update(fx.runId, 2, h1),
      await fx.stack.blobs.get(old.event.data.blobPath),
    );
    const intoRound2 = signHospitalEvent(
      {
        ...old.event,
        round: 2,
        id: 'replayed-r2',
        data: {
          ...old.event.data,
          baseModelVersionId: versionOf(fx, 1),
          blobPath: blobPaths.update(fx.runId, 2, h1),
        },
      },
      key,
    );
    await deliver(fx, intoRound2);
    expect(await receiptOf(fx, h1, 2)).toBeUndefined();

    // Into another run (same hospitals, same keys, its round 1 open).
    const other = await setUpRun({ quorum: 1 }, { runId: 'run-other', keysDir: path.join(fx.home, 'keys') });
    try {
      await other.lifecycle.openRound(other.runId, 1);
      const intoOther = signHospitalEvent({ ...old.event, runId: other.runId, id: 'replayed-run' }, key);
      await other.stack.blobs.put(old.event.data.blobPath, await fx.stack.blobs.get(old.event.data.blobPath));
      await other.aggregator.handle({ data: JSON.stringify(intoOther) });
      expect(await other.stack.documents.get(paths.update(other.runId, 1, h1))).toBeUndefined();
      expect(await auditReasons(other)).toEqual([
        expect.stringMatching(/bad signature: signature does not match run run-other/),
      ]);
    } finally {
      await other.close();
    }
    const reasons = await auditReasons(fx);
    expect(reasons).toHaveLength(2);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/not signed by h1-\w+'s enrolled key \(forged, edited, or moved/),
        expect.stringMatching(/bad signature: signature does not match run run-test, round 2/),
      ]),
    );
  });
});

describe('attack: a revoked hospital', () => {
  it('has its updates, evaluations and jobs refused; what it contributed before still verifies', async () => {
    fx = await setUpRun();
    const [, h2] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const prepared = await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 1, 7));
    const change = await revokeHospital(operator(fx), h2, 'left the consortium');
    expect(change.changed).toBe(true);
    await deliver(fx, prepared);
    expect(await receiptOf(fx, h2)).toBeUndefined();
    expect(await auditReasons(fx)).toEqual([
      expect.stringMatching(/h2-\w+ is revoked since .* \(left the consortium\): its messages are refused/),
    ]);
    await expect(
      runHospitalJob(
        { mode: 'train', runId: fx.runId, hospitalId: h2, round: 1, taskAttempt: 0 },
        jobDeps(fx),
      ),
    ).rejects.toThrow(/is revoked \(left the consortium\); its jobs do not run/);
    // Its ledger (the charges for what it already released) still verifies.
    expect((await readPublishedLedger(fx.stack, h2)).ok).toBe(true);
    const actions = (await fx.stack.documents.list(paths.audits())).filter(
      (a) => a.data.action === 'hospital.revoked',
    );
    expect(actions.map((a) => [a.data.actor, a.data.subject])).toEqual([['operator:test', h2]]);
  });
});

describe('attack: a second, different update from the same hospital', () => {
  it('does not replace the first accepted one, even when the hospital overwrites its upload', async () => {
    fx = await setUpRun({ quorum: 1 });
    const [h1, h2, h3] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const first = deltaWithNorm(fx.numParameters, 1, 51);
    const second = deltaWithNorm(fx.numParameters, 1.5, 52);
    await deliver(fx, await craftUpdate(fx, h1, first));
    const accepted = (await receiptOf(fx, h1))!;
    // A re-run: new bytes at the same upload path, a new event id, properly signed.
    await deliver(fx, await craftUpdate(fx, h1, second, { eventId: 'update-again' }));
    expect(await receiptOf(fx, h1)).toEqual(accepted);
    const d2 = deltaWithNorm(fx.numParameters, 1, 53);
    const d3 = deltaWithNorm(fx.numParameters, 1, 54);
    await deliver(fx, await craftUpdate(fx, h2, d2));
    await deliver(fx, await craftUpdate(fx, h3, d3));
    expect((await fx.lifecycle.getRound(fx.runId, 1))!.participants).toEqual([h1, h2, h3].sort());
    expect(
      maxAbsDiff(await publishedWeights(fx), expectedWeights(fx.baseWeights, [first, d2, d3], 3)),
    ).toBeLessThan(1e-6);
    expect(await receiptsOf(fx)).toHaveLength(3);
  });
});

describe('attack: deleting a key file to get a fresh identity (finding 7)', () => {
  it('no longer re-enrols anyone: the job and the local operator step stop; only a rotation gives a new key, and the old entries still verify', async () => {
    fx = await setUpRun();
    const [h1] = fx.hospitals;
    const enrolled = await fx.stack.documents.get(paths.hospital(h1));
    rmSync(path.join(fx.home, 'keys', `${h1}.signing.json`));
    await expect(
      runHospitalJob({ mode: 'stats', runId: fx.runId, hospitalId: h1, taskAttempt: 0 }, jobDeps(fx)),
    ).rejects.toThrow(`hospital ${h1} has no signing key in`);
    await expect(enrolSimulatedHospitals({ ...operator(fx), keys: fx.keys }, [h1])).rejects.toThrow(
      /himas hospitals rotate/,
    );
    // A new key file (as if provisioned by hand) is not the enrolled key either.
    await fx.keys.ensureSigningKey(h1);
    await expect(confirmOwnEnrolment(h1, { documents: fx.stack.documents, keys: fx.keys })).rejects.toThrow(
      /but [0-9a-f]{12} is enrolled: restore the enrolled key, or have the operator rotate/,
    );
    expect(await fx.stack.documents.get(paths.hospital(h1))).toEqual(enrolled);

    // The operator rotates to it: the job runs again, and the ledger chain signed by both keys verifies.
    fx.clock.advance(1000);
    await rotateHospitalKeys(operator(fx), h1, await publicKeysOf(fx.keys, h1));
    await fx.lifecycle.openRound(fx.runId, 1);
    const outcome = await runHospitalJob(
      { mode: 'train', runId: fx.runId, hospitalId: h1, round: 1, taskAttempt: 0 },
      jobDeps(fx),
    );
    expect(outcome.status).toBe('done');
    await deliver(fx, fx.bus.ofType('update.submitted').at(-1)!);
    expect((await receiptOf(fx, h1))?.status).toBe('accepted');
    const ledger = await readPublishedLedger(fx.stack, h1);
    expect(ledger.ok).toBe(true);
    if (ledger.ok) expect(ledger.previousSigningPublicKeys).toHaveLength(1);
  });

  it('an update accepted before a rotation still counts; one signed with the retired key after it does not', async () => {
    fx = await setUpRun({ quorum: 1 });
    const [h1, h2, h3] = fx.hospitals;
    await fx.lifecycle.openRound(fx.runId, 1);
    const d1 = deltaWithNorm(fx.numParameters, 1, 61);
    await deliver(fx, await craftUpdate(fx, h1, d1));
    const staleKeyUpdate = await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 1, 62));
    fx.clock.advance(1000);
    for (const h of [h1, h2]) {
      await fx.keys.replaceSigningKey(h);
      await rotateHospitalKeys(operator(fx), h, await publicKeysOf(fx.keys, h));
    }
    await deliver(fx, staleKeyUpdate);
    expect(await receiptOf(fx, h2)).toBeUndefined();
    const d3 = deltaWithNorm(fx.numParameters, 1, 63);
    await deliver(fx, await craftUpdate(fx, h3, d3));
    await fx.aggregator.handle({
      data: JSON.stringify(
        makeEvent('round.deadline', {
          id: 'deadline',
          runId: fx.runId,
          round: 1,
          time: fx.clock.now(),
          data: { deadline: fx.clock.now().toISOString() },
        }),
      ),
    });
    const round = (await fx.lifecycle.getRound(fx.runId, 1))!;
    expect(round.status).toBe('closed');
    expect(round.participants).toEqual([h1, h3].sort());
  });
});
