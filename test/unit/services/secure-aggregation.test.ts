import {
  paths,
  RevealedSharesSchema,
  UpdateReceiptSchema,
  type RoundDocument,
} from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import type { TrainingConfigInput } from '../../../schemas/training-config';
import { decodeUpdate, encodeUpdate } from '../../../src/core/codec/update-codec';
import { generateCohort, type SyntheticCohort } from '../../../src/core/data';
import { initializeBackend } from '../../../src/core/model';
import {
  applyDoubleMask,
  chooseFixedPointScale,
  fixedPointErrorBound,
} from '../../../src/core/secure-aggregation';
import { readOnlyDocuments } from '../../../src/adapters/read-only-documents';
import { silentLogger } from '../../../src/logging/logger';
import { makeMaskingBundle, makeReveal } from '../../../src/runtime/double-masking-bundles';
import { hospitalEventSigner } from '../../../src/runtime/hospital-event-signing';
import { deriveRoundMaskingKey, newSelfMaskSeed } from '../../../src/runtime/double-masking-crypto';
import { sha256Hex } from '../../../src/runtime/double-masking-round';
import {
  aesCtrSeedExpander,
  derivePairSeed,
  importMaskingPublicKey,
  importPrivateKeyPem,
} from '../../../src/runtime/secure-aggregation-crypto';
import { runHospitalJob, type HospitalJobDeps } from '../../../src/services/hospital-job';
import { maskingDirectory } from '../../../src/services/masking-directory';
import { protocolKeys, readRoundKeys, roundTerms } from '../../../src/services/update-masking';
import { weightsFromBytes } from '../../../src/services/weights-bytes';
import { blobPaths } from '../../../schemas/documents';
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
 * Double-masked secure aggregation through the real services on the embedded stack (docs/
 * architecture.md §5): hospital jobs advertise round keys, mask and send their shares, every
 * masked round goes through the survivors' reveal, and the aggregator unmasks the sum.
 */
jest.setTimeout(180_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

const fixtures: RunFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.close();
});

const CLIP = 0.5;
const cohorts = new Map<RunFixture, SyntheticCohort>();

/**
 * Four hospitals, quorum 3: a dropout leaves three survivors, the default minimum per unmasked
 * sum (with three hospitals and quorum 2 the run is refused: a sum of two exposes each).
 */
let fourHospitalCohort: SyntheticCohort | undefined;
async function fixture(config: TrainingConfigInput, four = false): Promise<RunFixture> {
  const cohort = four
    ? (fourHospitalCohort ??= generateCohort({ preset: 'archetypes', hospitals: 4, patients: 800, seed: 7 }))
    : smallCohort();
  const f = await setUpRun({ clipNorm: CLIP, ...config }, { cohort });
  cohorts.set(f, cohort);
  fixtures.push(f);
  return f;
}
const withDropout = (secureAggregation = true) => fixture({ secureAggregation, quorum: 3 }, true);

/** A hospital job's ports: documents read only (a masked round's hospital side writes blobs and events). */
function jobDeps(f: RunFixture): HospitalJobDeps {
  return {
    documents: readOnlyDocuments(f.stack.documents),
    blobs: f.stack.blobs,
    events: f.bus,
    models: f.models,
    cohorts: memoryCohortSource(cohorts.get(f)!),
    keys: f.keys,
    ledger: f.ledger,
    clock: f.clock,
    logger: silentLogger,
  };
}

/**
 * Runs a hospital job; a reveal travels as a signed seeds.revealed event, which the bus delivers
 * to the aggregator (only it records the reveal).
 */
async function job(f: RunFixture, mode: 'train' | 'reveal', hospitalId: string, round = 1) {
  const sent = f.bus.ofType('seeds.revealed').length;
  const outcome = await runHospitalJob(
    { mode, runId: f.runId, hospitalId, round, taskAttempt: 0 },
    jobDeps(f),
  );
  for (const event of f.bus.ofType('seeds.revealed').slice(sent)) await deliver(f, event);
  return outcome;
}

const roundDoc = async (f: RunFixture, round = 1): Promise<RoundDocument> =>
  (await f.lifecycle.getRound(f.runId, round))!;

const deliver = (f: RunFixture, event: unknown) => f.aggregator.handle({ data: JSON.stringify(event) });

/** The round.deadline the workflow would publish now (the coordinator builds it from the round). */
async function deadline(f: RunFixture, round = 1) {
  return f.lifecycle.roundDeadlineEvent(await roundDoc(f, round));
}

/** Trains `ids` in round 1 and returns their update.submitted events by hospital. */
async function train(f: RunFixture, ids = f.hospitals): Promise<Map<string, EventOf<'update.submitted'>>> {
  const events = new Map<string, EventOf<'update.submitted'>>();
  for (const h of ids) {
    expect((await job(f, 'train', h)).status).toBe('done');
    events.set(h, f.bus.ofType('update.submitted').at(-1)!);
  }
  return events;
}

async function maskedBlob(f: RunFixture, event: EventOf<'update.submitted'>): Promise<Int32Array> {
  const decoded = decodeUpdate(await f.stack.blobs.get(event.data.blobPath));
  expect(decoded.encoding).toBe('int32');
  return decoded.values as Int32Array;
}

async function publishedWeights(f: RunFixture): Promise<Float32Array> {
  return weightsFromBytes((await f.models.load(versionOf(f, 1))).artifacts.weights);
}

/**
 * A malicious hospital's update: any int32 vector, double-masked with its real keys and sent
 * with valid signed shares — everything a correct job does except the clip and the encoding.
 */
async function maliciousUpdate(f: RunFixture, h: string, encoded: Int32Array) {
  const round = await roundDoc(f);
  const terms = roundTerms(round);
  const keys = protocolKeys(h, {
    signing: await f.keys.signingKey(h),
    masking: await f.keys.maskingKey(h),
    previousSigningPublicKeys: [],
  });
  const statements = await readRoundKeys(f.stack.blobs, f.runId, terms.participants);
  const roundKey = deriveRoundMaskingKey(keys.signingPrivateKeyPem, f.runId, 1);
  const peers = terms.participants
    .filter((p) => p !== h)
    .map((p) => ({
      peerId: p,
      seed: derivePairSeed({
        runId: f.runId,
        round: 1,
        selfId: h,
        privateKey: roundKey.privateKey,
        peerId: p,
        peerPublicKey: importMaskingPublicKey(
          (statements.get(p) as { rounds: { round: number; publicKey: string }[] }).rounds[0].publicKey,
        ),
      }),
    }));
  const seed = newSelfMaskSeed();
  const bytes = encodeUpdate(applyDoubleMask(encoded, h, seed, peers, aesCtrSeedExpander));
  const directory = await maskingDirectory(f.stack.documents, terms.participants, f.clock.now());
  const bundle = await makeMaskingBundle(
    keys.identity,
    {
      ...terms,
      identityPublicKeys: new Map([...directory].map(([id, k]) => [id, k.identityMaskingPublicKey])),
    },
    seed,
    roundKey,
    sha256Hex(bytes),
  );
  await f.stack.blobs.put(
    blobPaths.maskingBundle(f.runId, 1, h, bundle.updateSha256),
    Buffer.from(JSON.stringify(bundle)),
  );
  const { masking } = round;
  return craftUpdate(f, h, encoded, {
    bytes,
    masking: { scheme: masking!.scheme, scale: masking!.scale, participants: masking!.participants },
  });
}

describe('double-masked secure aggregation in the services', () => {
  it('is on by default with dp-fedavg: the round fixes participants, scale, minimum and threshold', async () => {
    const f = await fixture({ secureAggregation: undefined });
    const doc = await f.lifecycle.openRound(f.runId, 1);
    expect(doc.masking).toEqual({
      scheme: 'double-masked-x25519-aes-ctr-shamir-v2',
      participants: f.hospitals,
      clipNorm: CLIP,
      scale: chooseFixedPointScale(CLIP, 3).scale,
      minHospitals: 3,
      threshold: 2,
    });
    // Every hospital advertised its round keys in its stats job, before any round opened.
    for (const h of f.hospitals)
      expect(await f.stack.blobs.stat(blobPaths.roundKeys(f.runId, h))).toBeDefined();
    // The operator enrolled each hospital's masking key, and a job checks it against its key store
    // before anything else: a job whose store holds another masking key is refused.
    for (const h of f.hospitals) {
      const enrolment = await f.stack.documents.get(paths.hospital(h));
      expect(enrolment!.maskingPublicKey).toBe((await f.keys.maskingKey(h)).publicKey);
    }
    const [h1, h2] = f.hospitals;
    const other = (await f.keys.maskingKey(h2)).publicKey;
    await f.stack.documents.update(paths.hospital(h1), { maskingPublicKey: other });
    await expect(job(f, 'train', h1)).rejects.toThrow(
      `hospital ${h1}'s key store holds another masking key than the enrolled one`,
    );
  });

  it('a round with every update in goes through the reveal and publishes the plain DP-FedAvg model (within the fixed-point bound)', async () => {
    const masked = await fixture({ secureAggregation: true });
    await masked.lifecycle.openRound(masked.runId, 1);
    const events = await train(masked);
    for (const e of events.values()) await deliver(masked, e);
    const waiting = await roundDoc(masked);
    expect(waiting.status).toBe('awaiting-seeds');
    expect(waiting.droppedHospitals).toEqual([]);
    for (const h of masked.hospitals) expect((await job(masked, 'reveal', h)).status).toBe('done');
    await deliver(masked, await deadline(masked));
    expect((await roundDoc(masked)).status).toBe('closed');

    // The same hospitals, data and seed with secure aggregation off: the same clipped deltas.
    const plain = await fixture({ secureAggregation: false });
    await plain.lifecycle.openRound(plain.runId, 1);
    for (const e of (await train(plain)).values()) await deliver(plain, e);
    expect((await roundDoc(plain)).status).toBe('closed');
    const [a, b] = [await publishedWeights(masked), await publishedWeights(plain)];
    const bound = fixedPointErrorBound(chooseFixedPointScale(CLIP, 3), 3);
    let worst = 0;
    for (let i = 0; i < a.length; i++)
      worst = Math.max(worst, Math.abs(a[i] - b[i]) - 2 ** -23 * (Math.abs(a[i]) + Math.abs(b[i])));
    expect(worst).toBeLessThanOrEqual(bound);
    expect(Math.max(...a.map((w, i) => Math.abs(w - masked.baseWeights[i])))).toBeGreaterThan(1e-4);

    // What the store held was uniform noise, never a clipped update: receipts carry no norm.
    const { scale } = waiting.masking!;
    for (const event of events.values()) {
      const stored = await maskedBlob(masked, event);
      expect(stored.filter((v) => Math.abs(v / scale) > CLIP).length).toBeGreaterThan(stored.length / 2);
    }
    for (const r of (await receiptsOf(masked)).map((x) => UpdateReceiptSchema.parse(x)))
      expect(r.norm).toBeNull();
  });

  it('publishes the survivors` model after one participant drops out after masking', async () => {
    const f = await withDropout();
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3, gone] = f.hospitals;
    // The fourth hospital masked and sent its shares, then its update never reached the aggregator.
    const events = await train(f);
    for (const h of [h1, h2, h3]) await deliver(f, events.get(h));
    await deliver(f, await deadline(f));
    const doc = await roundDoc(f);
    expect(doc.status).toBe('awaiting-seeds');
    expect(doc.droppedHospitals).toEqual([gone]);
    // Once declared dropped, its late update is stale: it never joins the sum.
    await deliver(f, events.get(gone));
    expect((await receiptsOf(f)).map((r) => r.hospitalId).sort()).toEqual([h1, h2, h3].sort());
    expect(await auditReasons(f)).toEqual(expect.arrayContaining([expect.stringMatching(/stale update/)]));
    expect((await job(f, 'reveal', gone)).status).toBe('skipped');
    for (const h of [h1, h2, h3]) expect((await job(f, 'reveal', h)).status).toBe('done');
    // A re-run re-sends nothing new.
    expect((await job(f, 'reveal', h1)).status).toBe('skipped');
    // The dropout sent its shares before it vanished: each survivor revealed its round-key share
    // of it (found by name, its latest bundle), and a self-mask share of every received update.
    const recorded = (await f.stack.documents.list(paths.revealedSeeds(f.runId, 1))).map(
      (x) => RevealedSharesSchema.parse(x.data).reveal,
    );
    expect(recorded.map((r) => r.hospitalId).sort()).toEqual([h1, h2, h3].sort());
    for (const r of recorded)
      expect(Object.fromEntries(r.reveals.map((e) => [e.peerId, e.kind]))).toEqual({
        [h1]: 'self-mask',
        [h2]: 'self-mask',
        [h3]: 'self-mask',
        [gone]: 'masking-key',
      });
    await deliver(f, await deadline(f));
    const closed = await roundDoc(f);
    expect(closed.status).toBe('closed');
    expect(closed.participants).toEqual([h1, h2, h3].sort());

    // Against the plain run with the same dropout.
    const plain = await withDropout(false);
    await plain.lifecycle.openRound(plain.runId, 1);
    const plainEvents = await train(plain, plain.hospitals.slice(0, 3));
    for (const e of plainEvents.values()) await deliver(plain, e);
    await deliver(plain, await deadline(plain));
    expect((await roundDoc(plain)).status).toBe('closed');
    const [a, b] = [await publishedWeights(f), await publishedWeights(plain)];
    const bound = fixedPointErrorBound(chooseFixedPointScale(CLIP, 4), 4);
    let worst = 0;
    for (let i = 0; i < a.length; i++)
      worst = Math.max(worst, Math.abs(a[i] - b[i]) - 2 ** -23 * (Math.abs(a[i]) + Math.abs(b[i])));
    expect(worst).toBeLessThanOrEqual(bound);
  });

  it('a survivor refuses to reveal when the round holds an update from a hospital it calls dropped', async () => {
    const f = await withDropout();
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3, gone] = f.hospitals;
    expect((await job(f, 'reveal', h1)).detail).toMatch(/round 1 is open, not awaiting seeds/);
    const events = await train(f);
    for (const h of [h1, h2, h3]) await deliver(f, events.get(h));
    await deliver(f, await deadline(f));
    expect((await roundDoc(f)).droppedHospitals).toEqual([gone]);
    // An aggregator that claims the fourth dropped yet holds its update (its receipt says accepted).
    const receipt = UpdateReceiptSchema.parse((await f.stack.documents.get(paths.update(f.runId, 1, h1)))!);
    await f.stack.documents.set(paths.update(f.runId, 1, gone), {
      ...receipt,
      hospitalId: gone,
      eventId: 'x',
      sha256: events.get(gone)!.data.sha256,
    });
    await expect(job(f, 'reveal', h1)).rejects.toThrow(
      new RegExp(`refusing to reveal: the round says ${gone} both arrived and dropped`),
    );
    expect(await f.stack.documents.list(paths.revealedSeeds(f.runId, 1))).toHaveLength(0);
  });

  it('records a reveal only when it is its survivor`s, verifies, and answers the round`s commitment', async () => {
    const f = await fixture({ secureAggregation: true });
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    for (const e of (await train(f)).values()) await deliver(f, e);
    expect((await roundDoc(f)).status).toBe('awaiting-seeds');
    // h1's genuine reveal, published but not delivered yet.
    await runHospitalJob(
      { mode: 'reveal', runId: f.runId, hospitalId: h1, round: 1, taskAttempt: 0 },
      jobDeps(f),
    );
    const genuine = f.bus.ofType('seeds.revealed').at(-1)!;
    const signAs = async (h: string) => hospitalEventSigner((await f.keys.signingKey(h)).privateKeyPem);
    const recorded = async () =>
      (await f.stack.documents.list(paths.revealedSeeds(f.runId, 1))).map((x) => x.id);

    // h2 passes h1's reveal off as its own (its envelope signature is good, the reveal is h1's).
    const { signature: _dropped, ...unsigned } = genuine;
    await deliver(
      f,
      (await signAs(h2))({ ...unsigned, id: 'x2', data: { ...genuine.data, hospitalId: h2 } }),
    );
    // Someone edits a share of h1's reveal and keeps the envelope: the signature no longer holds.
    const edited = structuredClone(genuine);
    edited.data.reveal.reveals[0].share = Buffer.alloc(32, 1).toString('base64');
    await deliver(f, edited);
    // h1 itself, correctly signed, asks for pair seeds of updates the round received: revealing
    // them would strip the pair masks off received blobs.
    const signing = await f.keys.signingKey(h1);
    const wrongKind = makeReveal(
      {
        hospitalId: h1,
        signingKey: importPrivateKeyPem(signing.privateKeyPem),
        identityMaskingKey: importPrivateKeyPem((await f.keys.maskingKey(h1)).privateKeyPem),
      },
      { runId: f.runId, round: 1, identityPublicKeys: new Map() },
      new Map(f.hospitals.map((h) => [h, { kind: 'pair-seed' as const, updateSha256: null }])),
      { bundles: new Map(), pairSeedWith: () => new Uint8Array(32) },
    );
    await deliver(
      f,
      (await signAs(h1))({ ...unsigned, id: 'x1', data: { hospitalId: h1, reveal: wrongKind } }),
    );
    expect(await recorded()).toEqual([]);
    expect(await auditReasons(f)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(`reveal document claims to be from ${h1}, expected ${h2}`),
        expect.stringMatching(`is not signed by ${h1}'s enrolled key`),
        expect.stringMatching(`a pair-seed share of ${h1}, whose update .* was received`),
      ]),
    );
    // None of that blocks the genuine reveal, which is recorded once.
    await deliver(f, genuine);
    await deliver(f, genuine);
    expect(await recorded()).toEqual([h1]);
    for (const h of [h2, h3]) expect((await job(f, 'reveal', h)).status).toBe('done');
    expect((await roundDoc(f)).status).toBe('closed');
  });

  it('fails the round at the seeds deadline when fewer than t survivors reveal (model and ledger unchanged)', async () => {
    const f = await withDropout();
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    expect((await roundDoc(f)).masking!.threshold).toBe(3);
    const events = await train(f, [h1, h2, h3]);
    for (const e of events.values()) await deliver(f, e);
    await deliver(f, await deadline(f));
    await job(f, 'reveal', h1);
    await job(f, 'reveal', h3); // h2's reveal job never runs: 2 of t = 3
    await deliver(f, await deadline(f));
    const doc = await roundDoc(f);
    expect(doc.status).toBe('failed');
    expect(doc.failureReason).toMatch(
      new RegExp(`${h2} did not reveal their shares, and the 2 that did are fewer than the threshold 3`),
    );
    expect(await f.models.get(versionOf(f, 1))).toBeUndefined();
    expect((await f.lifecycle.getRun(f.runId))!.ledger).toHaveLength(0);
  });

  it('fails the round, audited, when a malicious hospital wraps the int32 sum (the bound check after unmasking)', async () => {
    const f = await fixture({ secureAggregation: true });
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    for (const e of (await train(f, [h1, h2])).values()) await deliver(f, e);
    const evil = new Int32Array(f.numParameters);
    evil[5] = -(2 ** 31);
    await deliver(f, (await maliciousUpdate(f, h3, evil)).event);
    expect((await roundDoc(f)).status).toBe('awaiting-seeds');
    for (const h of f.hospitals) expect((await job(f, 'reveal', h)).status).toBe('done');
    await deliver(f, await deadline(f));
    const doc = await roundDoc(f);
    expect(doc.status).toBe('failed');
    expect(doc.failureReason).toMatch(/secure aggregation: unmasked sum coordinate 5 .* outside ±3·C/);
    expect(await auditReasons(f)).toEqual(
      expect.arrayContaining([expect.stringMatching(/unmasked sum coordinate 5/)]),
    );
    expect(await f.models.get(versionOf(f, 1))).toBeUndefined();
  });

  it('refuses to unmask a sum of fewer accepted updates than the round minimum', async () => {
    const f = await fixture({ secureAggregation: true });
    const opened = await f.lifecycle.openRound(f.runId, 1);
    expect(opened.masking!.minHospitals).toBe(3);
    // A round document with a lowered quorum (as a tampered run would have): two updates.
    await f.stack.documents.update(paths.round(f.runId, 1), { quorum: 2 });
    const [h1, h2] = f.hospitals;
    for (const e of (await train(f, [h1, h2])).values()) await deliver(f, e);
    await deliver(f, await deadline(f));
    expect((await roundDoc(f)).status).toBe('awaiting-seeds');
    for (const h of [h1, h2]) expect((await job(f, 'reveal', h)).status).toBe('done');
    await deliver(f, await deadline(f));
    const doc = await roundDoc(f);
    expect(doc.status).toBe('failed');
    expect(doc.failureReason).toMatch(
      /only 2 update\(s\) arrived; the minimum per unmasked sum is 3: refusing to unmask/,
    );
  });

  it('rejects plain or wrongly declared updates in a masked round, and masked ones in a plain round', async () => {
    const f = await fixture({ secureAggregation: true });
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    const { masking } = await roundDoc(f);
    await deliver(f, (await craftUpdate(f, h1, deltaWithNorm(f.numParameters, 0.1, 1))).event);
    const wrongScale = {
      scheme: masking!.scheme,
      scale: masking!.scale / 2,
      participants: masking!.participants,
    };
    await deliver(
      f,
      (await craftUpdate(f, h2, new Int32Array(f.numParameters), { masking: wrongScale })).event,
    );
    const fewer = { ...wrongScale, scale: masking!.scale, participants: [h1, h3] };
    await deliver(f, (await craftUpdate(f, h3, new Int32Array(f.numParameters), { masking: fewer })).event);
    const reasons = (await receiptsOf(f)).map((r) => String(r.reason));
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/uses secure aggregation: expected a masked int32 update/),
        expect.stringMatching(/fixed-point scale .* the round uses/),
        expect.stringMatching(/masked against .* the round's participants are/),
      ]),
    );
    const plain = await fixture({ secureAggregation: false });
    await plain.lifecycle.openRound(plain.runId, 1);
    expect((await roundDoc(plain)).masking).toBeNull();
    await deliver(plain, (await craftUpdate(plain, h1, new Int32Array(plain.numParameters))).event);
    expect(String((await receiptsOf(plain))[0].reason)).toMatch(
      /masked \(int32\) updates need secure aggregation/,
    );
  });
});
