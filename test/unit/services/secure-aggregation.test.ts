import {
  paths,
  RevealedSeedsSchema,
  UpdateReceiptSchema,
  type RoundDocument,
} from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import { decodeUpdate, encodeUpdate } from '../../../src/core/codec/update-codec';
import { initializeBackend } from '../../../src/core/model';
import {
  applyPairwiseMasks,
  chooseFixedPointScale,
  fixedPointErrorBound,
  type PeerSeed,
} from '../../../src/core/secure-aggregation';
import { silentLogger } from '../../../src/logging/logger';
import {
  aesCtrSeedExpander,
  derivePairSeed,
  importMaskingPublicKey,
  importPrivateKeyPem,
} from '../../../src/runtime/secure-aggregation-crypto';
import { runHospitalJob, type HospitalJobDeps } from '../../../src/services/hospital-job';
import { weightsFromBytes } from '../../../src/services/weights-bytes';
import {
  auditReasons,
  craftUpdate,
  deltaWithNorm,
  memoryCohortSource,
  receiptsOf,
  setUpRun,
  smallCohort,
  versionOf,
  type RunFixture,
} from './service-fixture';

/**
 * Secure aggregation through the real services on the embedded stack: hospital jobs mask, the
 * aggregator sums, a dropout after masking is recovered by the survivors' seed reveal.
 */
jest.setTimeout(120_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const CLIP = 0.5;

function jobDeps(f: RunFixture): HospitalJobDeps {
  return {
    documents: f.stack.documents,
    blobs: f.stack.blobs,
    events: f.bus,
    models: f.models,
    cohorts: memoryCohortSource(smallCohort()),
    keys: f.keys,
    ledger: f.ledger,
    clock: f.clock,
    logger: silentLogger,
  };
}

const job = (f: RunFixture, mode: 'train' | 'reveal', hospitalId: string, round = 1) =>
  runHospitalJob({ mode, runId: f.runId, hospitalId, round, taskAttempt: 0 }, jobDeps(f));

const roundDoc = async (f: RunFixture, round = 1): Promise<RoundDocument> =>
  (await f.lifecycle.getRound(f.runId, round))!;

const deliver = (f: RunFixture, event: unknown) => f.aggregator.handle({ data: JSON.stringify(event) });

/** The round.deadline the workflow would publish now (the coordinator builds it from the round). */
async function deadline(f: RunFixture, round = 1) {
  return f.lifecycle.roundDeadlineEvent(await roundDoc(f, round));
}

/** Trains every hospital of round 1 and returns their update.submitted events by hospital. */
async function trainAll(f: RunFixture): Promise<Map<string, EventOf<'update.submitted'>>> {
  const events = new Map<string, EventOf<'update.submitted'>>();
  for (const h of f.hospitals) {
    expect((await job(f, 'train', h)).status).toBe('done');
    events.set(h, f.bus.ofType('update.submitted').at(-1)!);
  }
  return events;
}

/**
 * What only hospital `h` can compute (the test holds its private key): its plain fixed-point
 * update x_h = y_h − its pairwise masks. The aggregator never can.
 */
async function plainEncoding(f: RunFixture, h: string, masked: Int32Array): Promise<Int32Array> {
  const round = await roundDoc(f);
  const key = importPrivateKeyPem((await f.keys.maskingKey(h)).privateKeyPem);
  const seeds: PeerSeed[] = [];
  for (const peer of round.masking!.participants.filter((p) => p !== h)) {
    seeds.push({
      peerId: peer,
      seed: derivePairSeed({
        runId: f.runId,
        round: 1,
        selfId: h,
        privateKey: key,
        peerId: peer,
        peerPublicKey: importMaskingPublicKey((await f.keys.maskingKey(peer)).publicKey),
      }),
    });
  }
  // Applying the masks with the opposite orientation removes them: mask(−) = −mask(+).
  const negated = Int32Array.from(masked, (v) => -v | 0);
  return Int32Array.from(applyPairwiseMasks(negated, h, seeds, aesCtrSeedExpander), (v) => -v | 0);
}

async function maskedBlob(f: RunFixture, event: EventOf<'update.submitted'>): Promise<Int32Array> {
  const decoded = decodeUpdate(await f.stack.blobs.get(event.data.blobPath));
  expect(decoded.encoding).toBe('int32');
  return decoded.values as Int32Array;
}

function l2(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}

describe('secure aggregation in the services', () => {
  it('is on by default with dp-fedavg: the round fixes its participants and fixed-point scale', async () => {
    fx = await setUpRun({ secureAggregation: undefined, clipNorm: CLIP });
    const doc = await fx.lifecycle.openRound(fx.runId, 1);
    expect(doc.masking).toEqual({
      scheme: 'pairwise-x25519-aes-ctr-v1',
      participants: fx.hospitals,
      clipNorm: CLIP,
      scale: chooseFixedPointScale(CLIP, 3).scale,
    });
    for (const h of fx.hospitals) {
      const enrolment = await fx.stack.documents.get(paths.hospital(h));
      expect(enrolment!.maskingPublicKey).toBe((await fx.keys.maskingKey(h)).publicKey);
    }
    // The enrolment check covers the masking key: a job whose key store holds another one is refused.
    const [h1, h2] = fx.hospitals;
    const other = (await fx.keys.maskingKey(h2)).publicKey;
    await fx.stack.documents.update(paths.hospital(h1), { maskingPublicKey: other });
    await expect(job(fx, 'train', h1)).rejects.toThrow(
      `hospital ${h1}'s key store holds another masking key than the enrolled one`,
    );
  });

  it('publishes the correct model after one participant drops out after masking and the survivors reveal seeds', async () => {
    fx = await setUpRun({ secureAggregation: true, clipNorm: CLIP, quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    const events = await trainAll(fx);
    // h3 masked against h1 and h2, then its update never reached the aggregator.
    await deliver(fx, events.get(h1));
    await deliver(fx, events.get(h2));
    expect((await roundDoc(fx)).status).toBe('open');

    await deliver(fx, await deadline(fx));
    let doc = await roundDoc(fx);
    expect(doc.status).toBe('awaiting-seeds');
    expect(doc.droppedHospitals).toEqual([h3]);
    expect(doc.seedsDeadline).not.toBeNull();

    // Once declared dropped, h3's late update is stale: it must never join a sum whose seeds are out.
    await deliver(fx, events.get(h3));
    expect((await receiptsOf(fx)).map((r) => r.hospitalId).sort()).toEqual([h1, h2].sort());
    expect(await auditReasons(fx)).toEqual(expect.arrayContaining([expect.stringMatching(/stale update/)]));

    // A dropped hospital has nothing to reveal; the survivors reveal exactly their seed with h3.
    expect((await job(fx, 'reveal', h3)).status).toBe('skipped');
    expect(await job(fx, 'reveal', h1)).toEqual({ status: 'done', detail: `seeds with ${h3} revealed` });
    // The job publishes its seeds, signed; only the aggregator records them.
    await deliver(fx, fx.bus.ofType('seeds.revealed').at(-1));
    expect((await job(fx, 'reveal', h1)).status).toBe('skipped');
    // A redelivery of the update deadline does not end the reveal early.
    await deliver(fx, {
      ...(await deadline(fx)),
      id: `round.deadline:${fx.runId}:1`,
      data: { deadline: doc.deadline },
    });
    expect((await roundDoc(fx)).status).toBe('awaiting-seeds');
    expect((await job(fx, 'reveal', h2)).status).toBe('done');
    await deliver(fx, fx.bus.ofType('seeds.revealed').at(-1));
    const seeds = await fx.stack.documents.list(paths.revealedSeeds(fx.runId, 1));
    expect(seeds.map((s) => RevealedSeedsSchema.parse(s.data).seeds.map((x) => x.droppedId))).toEqual([
      [h3],
      [h3],
    ]);

    await deliver(fx, await deadline(fx));
    doc = await roundDoc(fx);
    expect(doc.status).toBe('closed');
    expect(doc.participants).toEqual([h1, h2].sort());

    // The published model is base + (x1 + x2)/(scale·m), x_i the survivors' plain fixed-point updates.
    const { scale } = doc.masking!;
    const m = 3;
    const x1 = await plainEncoding(fx, h1, await maskedBlob(fx, events.get(h1)!));
    const x2 = await plainEncoding(fx, h2, await maskedBlob(fx, events.get(h2)!));
    for (const x of [x1, x2]) {
      // Each hospital clipped at the source: the decoded update is within C (plus rounding).
      expect(l2(Float64Array.from(x, (v) => v / scale))).toBeLessThanOrEqual(
        CLIP * (1 + 1e-6) + x.length / scale,
      );
      expect(l2(x)).toBeGreaterThan(0);
    }
    const { artifacts } = await fx.models.load(versionOf(fx, 1));
    const published = weightsFromBytes(artifacts.weights);
    const bound = fixedPointErrorBound(chooseFixedPointScale(CLIP, 3), m);
    let worst = 0;
    for (let i = 0; i < published.length; i++) {
      const average = (x1[i] / scale + x2[i] / scale) / m;
      const expected = fx.baseWeights[i] + average;
      // Beyond the fixed-point bound only float32 rounding of the average and of the weight.
      const float32 = 2 ** -24 * (Math.abs(average) + Math.abs(expected));
      worst = Math.max(worst, Math.abs(published[i] - expected) - float32);
    }
    expect(worst).toBeLessThanOrEqual(bound);
    // And it is not the model with h3's update in it, nor the base model.
    const x3 = await plainEncoding(fx, h3, await maskedBlob(fx, events.get(h3)!));
    const withH3 = Float32Array.from(published, (w, i) => w + x3[i] / scale / m);
    expect(l2(Float64Array.from(withH3, (w, i) => w - published[i]))).toBeGreaterThan(1e-3);
  });

  it('never holds an individual update in the clear: blobs are masked int32, receipts carry no norm', async () => {
    fx = await setUpRun({ secureAggregation: true, clipNorm: CLIP, quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const events = await trainAll(fx);
    for (const event of events.values()) await deliver(fx, event);
    expect((await roundDoc(fx)).status).toBe('closed');
    const { scale } = (await roundDoc(fx)).masking!;

    for (const [h, event] of events) {
      expect(event.data).not.toHaveProperty('norm');
      expect(event.data.masking).toEqual({
        scheme: 'pairwise-x25519-aes-ctr-v1',
        scale,
        participants: fx.hospitals,
      });
      const stored = await maskedBlob(fx, event);
      const plain = await plainEncoding(fx, h, stored);
      // The stored blob is not the plain encoding: (almost) every coordinate differs, and read as
      // fixed point it is far outside the clip bound (uniform words, not a clipped update).
      let equal = 0;
      for (let i = 0; i < stored.length; i++) if (stored[i] === plain[i]) equal++;
      expect(equal).toBeLessThan(stored.length * 0.01);
      expect(
        Buffer.from(encodeUpdate(plain)).equals(Buffer.from(await fx.stack.blobs.get(event.data.blobPath))),
      ).toBe(false);
      const outsideClip = stored.filter((v) => Math.abs(v / scale) > CLIP).length;
      expect(outsideClip).toBeGreaterThan(stored.length / 2);
    }
    for (const receipt of (await receiptsOf(fx)).map((r) => UpdateReceiptSchema.parse(r))) {
      expect(receipt.status).toBe('accepted');
      expect(receipt.norm).toBeNull();
    }
  });

  it('a survivor refuses to reveal its seed with a hospital whose update was accepted', async () => {
    fx = await setUpRun({ secureAggregation: true, clipNorm: CLIP, quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    expect((await job(fx, 'reveal', h1)).detail).toMatch(/round 1 is open, not awaiting seeds/);
    const events = await trainAll(fx);
    await deliver(fx, events.get(h1));
    await deliver(fx, events.get(h2));
    await deliver(fx, await deadline(fx));
    expect((await roundDoc(fx)).droppedHospitals).toEqual([h3]);
    // An aggregator that claims h3 dropped yet holds h3's update (here: its receipt says accepted).
    const receipt = UpdateReceiptSchema.parse((await fx.stack.documents.get(paths.update(fx.runId, 1, h1)))!);
    await fx.stack.documents.set(paths.update(fx.runId, 1, h3), { ...receipt, hospitalId: h3, eventId: 'x' });
    await expect(job(fx, 'reveal', h1)).rejects.toThrow(
      new RegExp(`refusing to reveal my seed with ${h3}: its update for round 1 was received`),
    );
    expect(await fx.stack.documents.list(paths.revealedSeeds(fx.runId, 1))).toHaveLength(0);
  });

  it('fails the round at the seeds deadline when a survivor never reveals (model and ledger unchanged)', async () => {
    fx = await setUpRun({ secureAggregation: true, clipNorm: CLIP, quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    const events = await trainAll(fx);
    await deliver(fx, events.get(h1));
    await deliver(fx, events.get(h2));
    await deliver(fx, await deadline(fx));
    await job(fx, 'reveal', h1); // h2's reveal job never runs
    await deliver(fx, await deadline(fx));
    const doc = await roundDoc(fx);
    expect(doc.status).toBe('failed');
    expect(doc.failureReason).toMatch(new RegExp(`${h2} did not reveal their seeds with dropped ${h3}`));
    expect(await fx.models.get(versionOf(fx, 1))).toBeUndefined();
    expect((await fx.lifecycle.getRun(fx.runId))!.ledger).toHaveLength(0);
  });

  it('rejects plain or wrongly declared updates in a masked round, and masked ones in a plain round', async () => {
    fx = await setUpRun({ secureAggregation: true, clipNorm: CLIP, quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    const { masking } = await roundDoc(fx);
    await deliver(fx, (await craftUpdate(fx, h1, deltaWithNorm(fx.numParameters, 0.1, 1))).event);
    const wrongScale = {
      scheme: masking!.scheme,
      scale: masking!.scale / 2,
      participants: masking!.participants,
    };
    await deliver(
      fx,
      (await craftUpdate(fx, h2, new Int32Array(fx.numParameters), { masking: wrongScale })).event,
    );
    const fewer = { ...wrongScale, scale: masking!.scale, participants: [h1, h3] };
    await deliver(
      fx,
      (await craftUpdate(fx, h3, new Int32Array(fx.numParameters), { masking: fewer })).event,
    );
    const reasons = (await receiptsOf(fx)).map((r) => String(r.reason));
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/uses secure aggregation: expected a masked int32 update/),
        expect.stringMatching(/fixed-point scale .* the round uses/),
        expect.stringMatching(/masked against .* the round's participants are/),
      ]),
    );
    await fx.close();

    fx = await setUpRun({ secureAggregation: false });
    await fx.lifecycle.openRound(fx.runId, 1);
    expect((await roundDoc(fx)).masking).toBeNull();
    await deliver(fx, (await craftUpdate(fx, h1, new Int32Array(fx.numParameters))).event);
    expect(String((await receiptsOf(fx))[0].reason)).toMatch(
      /masked \(int32\) updates need secure aggregation/,
    );
  });
});
