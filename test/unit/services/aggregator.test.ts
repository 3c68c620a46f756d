import { enrolSimulatedHospitals } from '../../../src/services/hospital-enrolment';
import { binRisks } from '../../../src/core/evaluation/risk-histogram';
import { paths, UpdateReceiptSchema } from '../../../schemas/documents';
import { metricsFromHistogram } from '../../../src/core/evaluation/pooled-metrics';
import { mergeHistograms } from '../../../src/core/evaluation/risk-histogram';
import { initializeBackend } from '../../../src/core/model';
import { computeEpsilon, gaussianEvent, poissonSampledEvent, composedEvent } from '../../../src/core/privacy';
import { RetryLaterError } from '../../../src/services/aggregator';
import { makeEvent } from '../../../src/services/event-publishing';
import { weightsFromBytes } from '../../../src/services/weights-bytes';
import { encodeUpdate } from '../../../src/core/codec/update-codec';
import {
  auditActions,
  auditReasons,
  craftUpdate,
  deltaWithNorm,
  evaluationOf,
  receiptsOf,
  setUpRun,
  versionOf,
  type RunFixture,
  signedAs,
} from './service-fixture';
import type { HospitalEvaluation } from '../../../schemas/metrics';

jest.setTimeout(60_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const CLIP = 2;

/** What DP-FedAvg with noise 0 must produce: base + (Σ clip(Δ_k, C)) / m, m = expected hospitals. */
function expectedWeights(
  base: Float32Array,
  deltas: Float32Array[],
  m: number,
  clipNorm = CLIP,
): Float32Array {
  const sum = new Float64Array(base.length);
  for (const delta of deltas) {
    let sq = 0;
    for (const v of delta) sq += v * v;
    const norm = Math.sqrt(sq);
    const scale = norm > clipNorm ? clipNorm / norm : 1;
    for (let i = 0; i < delta.length; i++) sum[i] += Math.fround(delta[i] * scale);
  }
  return Float32Array.from(base, (b, i) => b + Math.fround(sum[i] / m));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

async function roundDoc(f: RunFixture, round = 1) {
  return (await f.lifecycle.getRound(f.runId, round))!;
}

async function weightsOf(f: RunFixture, round: number): Promise<Float32Array> {
  const { artifacts } = await f.models.load(versionOf(f, round));
  return weightsFromBytes(artifacts.weights);
}

function deadlineDelivery(f: RunFixture, round = 1) {
  return {
    data: JSON.stringify(
      makeEvent('round.deadline', {
        id: `round.deadline:${f.runId}:${round}`,
        runId: f.runId,
        round,
        time: f.clock.now(),
        data: { deadline: f.clock.now().toISOString() },
      }),
    ),
  };
}

describe('Aggregator: accepted updates and the aggregate', () => {
  it('writes an accepted receipt for a valid update and keeps the round open until all answered', async () => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1] = fx.hospitals;
    const delta = deltaWithNorm(fx.numParameters, 1.5, 1);
    await fx.aggregator.handle(await craftUpdate(fx, h1, delta));

    const receipt = UpdateReceiptSchema.parse(await fx.stack.documents.get(paths.update(fx.runId, 1, h1)));
    expect(receipt.status).toBe('accepted');
    expect(receipt.reason).toBeNull();
    expect(receipt.eventId).toBe(`update:${fx.runId}:1:${h1}`);
    expect(receipt.norm).toBeCloseTo(1.5, 5);
    expect((await roundDoc(fx)).status).toBe('open');
    expect(fx.bus.ofType('round.closed')).toHaveLength(0);
  });

  it('closes the round at m = 3 with base + mean of the clipped deltas (noise 0, fixed denominator)', async () => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const n = fx.numParameters;
    // The first update is a hair over C but within the aggregator's tolerance, so DP-FedAvg clips it.
    const deltas = [
      deltaWithNorm(n, CLIP * (1 + 5e-5), 11),
      deltaWithNorm(n, 0.7, 12),
      deltaWithNorm(n, 1.9, 13),
    ];
    for (const [k, hospitalId] of fx.hospitals.entries()) {
      await fx.aggregator.handle(await craftUpdate(fx, hospitalId, deltas[k]));
    }
    const doc = await roundDoc(fx);
    expect(doc.status).toBe('closed');
    expect(doc.participants).toEqual([...fx.hospitals].sort());
    expect(doc.modelVersionId).toBe(versionOf(fx, 1));
    expect(doc.lease).toBeNull();

    const actual = await weightsOf(fx, 1);
    expect(maxAbsDiff(actual, expectedWeights(fx.baseWeights, deltas, 3))).toBeLessThanOrEqual(1e-7);
    // Not clipping the first delta would be measurably different.
    const unclipped = Float32Array.from(
      fx.baseWeights,
      (b, i) => b + (deltas[0][i] + deltas[1][i] + deltas[2][i]) / 3,
    );
    expect(maxAbsDiff(actual, unclipped)).toBeGreaterThan(1e-6);

    const run = (await fx.lifecycle.getRun(fx.runId))!;
    expect(run.currentRound).toBe(1);
    expect(run.latestModelVersionId).toBe(versionOf(fx, 1));
    expect(run.ledger).toHaveLength(1);
    const version = (await fx.models.get(versionOf(fx, 1)))!;
    expect(version.parentVersionId).toBe(fx.baseVersionId);
    expect(version.participants).toEqual([...fx.hospitals].sort());

    const closed = fx.bus.ofType('round.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0].data.participants).toEqual([...fx.hospitals].sort());
    const published = fx.bus.ofType('model.published');
    expect(published).toHaveLength(1);
    expect(published[0].data.modelVersionId).toBe(versionOf(fx, 1));
    expect(published[0].data.sha256).toBe(version.sha256);
  });

  it('counts a redelivered update once: one receipt, one close, exactly the expected participants', async () => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    const n = fx.numParameters;
    const d1 = deltaWithNorm(n, 1, 21);
    const d2 = deltaWithNorm(n, 1, 22);
    const d3 = deltaWithNorm(n, 1, 23);
    const m1 = await craftUpdate(fx, h1, d1);
    await fx.aggregator.handle(m1);
    await fx.aggregator.handle(m1);
    await fx.aggregator.handle(m1);
    expect(await receiptsOf(fx)).toHaveLength(1);
    expect((await roundDoc(fx)).status).toBe('open');

    await fx.aggregator.handle(await craftUpdate(fx, h2, d2));
    const m3 = await craftUpdate(fx, h3, d3);
    await fx.aggregator.handle(m3);
    // Redelivered after the close, by this instance and by another one.
    await fx.aggregator.handle(m3);
    await fx.otherAggregator.handle(m1);

    expect(await receiptsOf(fx)).toHaveLength(3);
    const doc = await roundDoc(fx);
    expect(doc.status).toBe('closed');
    expect(doc.participants).toEqual([h1, h2, h3].sort());
    expect(fx.bus.ofType('round.closed')).toHaveLength(1);
    expect(fx.bus.ofType('model.published')).toHaveLength(1);
    expect(
      maxAbsDiff(await weightsOf(fx, 1), expectedWeights(fx.baseWeights, [d1, d2, d3], 3)),
    ).toBeLessThanOrEqual(1e-7);
    expect((await fx.lifecycle.getRun(fx.runId))!.ledger).toHaveLength(1);
    // Audited on every delivery, written once per fact.
    const accepted = (await auditActions(fx)).filter(
      ([a, o]) => a === 'update.submitted' && o === 'accepted',
    );
    expect(accepted.map(([, , subject]) => subject).sort()).toEqual([h1, h2, h3].sort());
  });
});

describe('Aggregator: rejected updates', () => {
  type Case = {
    name: string;
    hospital?: string;
    craft: (f: RunFixture, hospitalId: string) => Promise<{ data: string }>;
    reason: RegExp;
    /**
     * 'receipt': the hospital's own signed update, rejected on its merits (a rejected receipt).
     * 'audit only': the message does not verify as the hospital's — nothing but the audit record is
     * written, so it cannot lock the genuine hospital out.
     */
    recorded: 'receipt' | 'audit only';
  };
  const cases: Case[] = [
    {
      name: 'unsigned-looking signature (not 64 bytes)',
      craft: (f, h) => craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { signature: 'AAAA' }),
      reason: /bad signature: /,
      recorded: 'audit only',
    },
    {
      name: "another hospital's signature (forged by a peer)",
      craft: async (f, h) => {
        const other = f.hospitals.find((x) => x !== h)!;
        const forged = await craftUpdate(f, other, deltaWithNorm(f.numParameters, 1, 1));
        return craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), {
          signature: forged.event.data.signature,
        });
      },
      reason: /bad signature: signature does not match/,
      recorded: 'audit only',
    },
    {
      name: 'a signed weight changed in transit',
      craft: async (f, h) => {
        const honest = await craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1));
        return craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), {
          numExamples: 10_000,
          signature: honest.event.data.signature,
        });
      },
      reason: /bad signature: signature does not match .*weight/,
      recorded: 'audit only',
    },
    {
      // A signed weight other than the declared size: an exact cohort count would leak.
      name: 'a weight that is not the declared cohort size',
      craft: (f, h) =>
        craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { numExamples: f.declared[h] + 1 }),
      reason: /update weight \d+ is not .*'s declared cohort size \d+/,
      recorded: 'receipt',
    },
    {
      // An update whose round was never charged to the hospital's ledger: nobody paid for it.
      name: 'an update with no ledger charge for its round',
      craft: (f, h) => craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { skipLedger: true }),
      reason: /privacy ledger: .* charges no training for round 1/,
      recorded: 'receipt',
    },
    {
      name: 'sha256 mismatch',
      craft: (f, h) => craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { sha256: 'ab'.repeat(32) }),
      reason: /checksum .* does not match the claimed abababababab/,
      recorded: 'audit only',
    },
    {
      name: 'missing blob',
      craft: (f, h) => craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { skipBlob: true }),
      reason: /update blob runs\/run-test\/rounds\/0001\/updates\/.*\.bin does not exist/,
      recorded: 'audit only',
    },
    {
      name: 'wrong parameter count',
      craft: (f, h) => craftUpdate(f, h, deltaWithNorm(f.numParameters + 1, 1, 1)),
      reason: /update has \d+ parameters, the model has \d+/,
      recorded: 'receipt',
    },
    {
      name: 'NaN value',
      craft: (f, h) => {
        const v = deltaWithNorm(f.numParameters, 1, 1);
        v[5] = Number.NaN;
        return craftUpdate(f, h, v);
      },
      reason: /update value 5 is NaN/,
      recorded: 'receipt',
    },
    {
      name: 'norm over the clip norm',
      craft: (f, h) => craftUpdate(f, h, deltaWithNorm(f.numParameters, 3, 1)),
      reason: /update norm 3\.0000 exceeds the clip norm 2/,
      recorded: 'receipt',
    },
    {
      name: 'hospital not enrolled',
      hospital: 'h-intruder',
      craft: async (f, h) => {
        await f.keys.ensureSigningKey(h); // its own key, which no operator enrolled
        return craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { skipLedger: true });
      },
      reason: /hospital h-intruder is not enrolled/,
      recorded: 'audit only',
    },
    {
      name: 'hospital enrolled but not expected in the round',
      hospital: 'h-intruder',
      craft: async (f, h) => {
        await enrolSimulatedHospitals(
          { documents: f.stack.documents, clock: f.clock, operator: 'operator:test', keys: f.keys },
          [h],
        );
        return craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { skipLedger: true });
      },
      reason: /hospital h-intruder is not expected in round 1/,
      recorded: 'receipt',
    },
    {
      name: 'wrong base model',
      craft: (f, h) =>
        craftUpdate(f, h, deltaWithNorm(f.numParameters, 1, 1), { baseModelVersionId: 'elsewhere-r0007' }),
      reason: /trained from elsewhere-r0007, the round started from run-test-r0000/,
      recorded: 'receipt',
    },
    {
      name: 'truncated blob (shorter than its header)',
      craft: (f, h) => {
        const bytes = encodeUpdate(deltaWithNorm(f.numParameters, 1, 1)).slice(0, 7);
        return craftUpdate(f, h, new Float32Array(1), { bytes });
      },
      reason: /update blob is 7 bytes, shorter than its header/,
      recorded: 'receipt',
    },
    {
      name: 'truncated blob (body cut short)',
      craft: (f, h) => {
        const bytes = encodeUpdate(deltaWithNorm(f.numParameters, 1, 1));
        return craftUpdate(f, h, new Float32Array(1), { bytes: bytes.slice(0, bytes.length - 4) });
      },
      reason: /update blob declares \d+ parameters \(\d+ bytes\) but has \d+ bytes/,
      recorded: 'receipt',
    },
    {
      name: 'foreign blob (bad magic)',
      craft: (f, h) => {
        const bytes = encodeUpdate(deltaWithNorm(f.numParameters, 1, 1));
        bytes.set([0x50, 0x4b, 0x03, 0x04], 0);
        return craftUpdate(f, h, new Float32Array(1), { bytes });
      },
      reason: /does not start with "HMUP"/,
      recorded: 'receipt',
    },
    {
      name: 'masked int32 update without secure aggregation',
      craft: (f, h) =>
        craftUpdate(f, h, new Float32Array(1), { bytes: encodeUpdate(new Int32Array(f.numParameters)) }),
      reason: /masked \(int32\) updates need secure aggregation/,
      recorded: 'receipt',
    },
  ];

  it.each(cases)('$name → $recorded, with an audit record naming the problem', async (c) => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const hospitalId = c.hospital ?? fx.hospitals[0];
    await expect(fx.aggregator.handle(await c.craft(fx, hospitalId))).resolves.toBeUndefined();

    const stored = await fx.stack.documents.get(paths.update(fx.runId, 1, hospitalId));
    if (c.recorded === 'audit only') expect(stored).toBeUndefined();
    else {
      const receipt = UpdateReceiptSchema.parse(stored);
      expect(receipt.status).toBe('rejected');
      expect(receipt.reason).toMatch(c.reason);
      expect(receipt.norm).toBeNull();
    }
    const audits = await fx.stack.documents.list(paths.audits());
    const matching = audits.filter((a) => c.reason.test(String(a.data.reason)));
    expect(matching).toHaveLength(1);
    expect(matching[0].data).toMatchObject({
      runId: fx.runId,
      round: 1,
      actor: 'aggregator',
      action: 'update.submitted',
      outcome: 'rejected',
      subject: hospitalId,
    });
    expect((await roundDoc(fx)).status).toBe('open');
  });

  it('a rejected hospital counts as answered: the round closes with the others once all answered', async () => {
    fx = await setUpRun({ quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    const d1 = deltaWithNorm(fx.numParameters, 1, 31);
    const d2 = deltaWithNorm(fx.numParameters, 1, 32);
    await fx.aggregator.handle(await craftUpdate(fx, h1, d1));
    await fx.aggregator.handle(await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 50, 1)));
    await fx.aggregator.handle(await craftUpdate(fx, h3, d2));
    const doc = await roundDoc(fx);
    expect(doc.status).toBe('closed');
    expect(doc.participants).toEqual([h1, h3].sort());
    // Fixed denominator: still divided by the 3 expected hospitals.
    expect(
      maxAbsDiff(await weightsOf(fx, 1), expectedWeights(fx.baseWeights, [d1, d2], 3)),
    ).toBeLessThanOrEqual(1e-7);
  });

  it('acknowledges and audits a message that is not JSON', async () => {
    fx = await setUpRun();
    await expect(
      fx.aggregator.handle({ data: '{"type": "update.submitted", oops' }),
    ).resolves.toBeUndefined();
    const reasons = await auditReasons(fx);
    expect(reasons).toEqual([
      expect.stringMatching(/^message is not JSON: \{"type": "update.submitted", oops/),
    ]);
  });

  it('acknowledges and audits a schema-invalid event, naming the field', async () => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const { event } = await craftUpdate(fx, fx.hospitals[0], deltaWithNorm(fx.numParameters, 1, 1));
    const bad = { ...event, data: { ...event.data, sha256: 'not-a-hash' } };
    await expect(fx.aggregator.handle({ data: JSON.stringify(bad) })).resolves.toBeUndefined();
    const reasons = await auditReasons(fx);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/malformed event at 'data\.sha256'/);
    expect(await receiptsOf(fx)).toHaveLength(0);
  });

  it('rejects an update for a round that was never opened, without a receipt', async () => {
    fx = await setUpRun();
    await fx.aggregator.handle(await craftUpdate(fx, fx.hospitals[0], deltaWithNorm(fx.numParameters, 1, 1)));
    expect(await receiptsOf(fx)).toHaveLength(0);
    expect(await auditReasons(fx)).toEqual([`round 1 of run ${fx.runId} was never opened`]);
  });
});

describe('Aggregator: deadlines and quorum', () => {
  it('fails the round at the deadline when the quorum is not met: model and ledger unchanged', async () => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2] = fx.hospitals;
    await fx.aggregator.handle(await craftUpdate(fx, h1, deltaWithNorm(fx.numParameters, 1, 1)));
    await fx.aggregator.handle(await craftUpdate(fx, h2, deltaWithNorm(fx.numParameters, 1, 2)));
    const before = (await fx.lifecycle.getRun(fx.runId))!;

    await fx.aggregator.handle(deadlineDelivery(fx));
    await fx.aggregator.handle(deadlineDelivery(fx));

    const doc = await roundDoc(fx);
    expect(doc.status).toBe('failed');
    expect(doc.failureReason).toBe('2 accepted update(s), quorum is 3 (deadline passed)');
    expect(doc.modelVersionId).toBeNull();
    const after = (await fx.lifecycle.getRun(fx.runId))!;
    expect(after.ledger).toEqual(before.ledger);
    expect(after.ledger).toHaveLength(0);
    expect(after.latestModelVersionId).toBe(fx.baseVersionId);
    expect(after.currentRound).toBe(1); // the run moves past a failed round
    expect(await fx.models.get(versionOf(fx, 1))).toBeUndefined();
    const failed = fx.bus.ofType('round.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].data.received).toEqual([h1, h2].sort());
    expect(failed[0].data.reason).toMatch(/quorum is 3/);
    expect(fx.bus.ofType('round.closed')).toHaveLength(0);
  });

  it('closes at the deadline with the quorum met and one hospital missing; its late update is stale', async () => {
    fx = await setUpRun({ quorum: 2 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1, h2, h3] = fx.hospitals;
    const d1 = deltaWithNorm(fx.numParameters, 1.2, 41);
    const d2 = deltaWithNorm(fx.numParameters, 0.4, 42);
    await fx.aggregator.handle(await craftUpdate(fx, h1, d1));
    await fx.aggregator.handle(await craftUpdate(fx, h2, d2));
    expect((await roundDoc(fx)).status).toBe('open');

    await fx.aggregator.handle(deadlineDelivery(fx));
    const doc = await roundDoc(fx);
    expect(doc.status).toBe('closed');
    expect(doc.participants).toEqual([h1, h2].sort());
    expect(
      maxAbsDiff(await weightsOf(fx, 1), expectedWeights(fx.baseWeights, [d1, d2], 3)),
    ).toBeLessThanOrEqual(1e-7);

    // h3 arrives after the round closed: rejected as stale, no receipt, audited.
    await fx.aggregator.handle(await craftUpdate(fx, h3, deltaWithNorm(fx.numParameters, 1, 43)));
    expect(await fx.stack.documents.get(paths.update(fx.runId, 1, h3))).toBeUndefined();
    expect(await auditReasons(fx)).toContain('stale update: round 1 is already closed');
    expect((await roundDoc(fx)).participants).toEqual([h1, h2].sort());
    expect(fx.bus.ofType('round.closed')).toHaveLength(1);
  });

  it('treats the round as past its deadline once the clock passes it, even without a deadline event', async () => {
    fx = await setUpRun({ quorum: 1, deadlineSeconds: 60 });
    await fx.lifecycle.openRound(fx.runId, 1);
    const [h1] = fx.hospitals;
    const m1 = await craftUpdate(fx, h1, deltaWithNorm(fx.numParameters, 1, 1));
    await fx.aggregator.handle(m1);
    expect((await roundDoc(fx)).status).toBe('open');
    fx.clock.advance(61_000);
    await fx.aggregator.handle(m1); // a redelivery lets the round finish
    expect((await roundDoc(fx)).status).toBe('closed');
    expect((await roundDoc(fx)).participants).toEqual([h1]);
  });
});

describe('Aggregator: privacy budget', () => {
  it('fails round 2 when it would exceed ε budget, halts the run and raises privacy.alert', async () => {
    const delta = 1e-5;
    const oneRound = poissonSampledEvent(1, gaussianEvent(1));
    const eps1 = computeEpsilon(composedEvent([oneRound]), delta).epsilon;
    const eps2 = computeEpsilon(composedEvent([oneRound, oneRound]), delta).epsilon;
    expect(eps2).toBeGreaterThan(eps1);
    const budget = (eps1 + eps2) / 2;
    fx = await setUpRun({ noiseMultiplier: 1, epsilonBudget: budget, delta });

    await fx.lifecycle.openRound(fx.runId, 1);
    for (const [k, h] of fx.hospitals.entries()) {
      await fx.aggregator.handle(await craftUpdate(fx, h, deltaWithNorm(fx.numParameters, 1, 50 + k)));
    }
    expect((await roundDoc(fx, 1)).status).toBe('closed');
    const afterRound1 = (await fx.lifecycle.getRun(fx.runId))!;
    expect(afterRound1.privacy[0].epsilon).toBeCloseTo(eps1, 6);

    await fx.lifecycle.openRound(fx.runId, 2);
    for (const [k, h] of fx.hospitals.entries()) {
      await fx.aggregator.handle(
        await craftUpdate(fx, h, deltaWithNorm(fx.numParameters, 1, 60 + k), { round: 2 }),
      );
    }
    const r2 = await roundDoc(fx, 2);
    expect(r2.status).toBe('failed');
    expect(r2.failureReason).toMatch(/privacy budget/);
    expect(r2.failureReason).toContain(`> budget ${budget}`);

    const run = (await fx.lifecycle.getRun(fx.runId))!;
    expect(run.halt).not.toBeNull();
    expect(run.halt!.reason).toMatch(/privacy budget/);
    expect(run.halt!.by).toBe('aggregator');
    expect(run.ledger).toHaveLength(1);
    expect(run.latestModelVersionId).toBe(versionOf(fx, 1));
    expect(await fx.models.get(versionOf(fx, 2))).toBeUndefined();

    const alerts = fx.bus.ofType('privacy.alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].data.level).toBe('halt');
    expect(alerts[0].data.budgetEpsilon).toBe(budget);
    expect(alerts[0].data.epsilon).toBeCloseTo(eps2, 6);
    expect(fx.bus.ofType('round.failed').map((e) => e.round)).toEqual([2]);

    // The audit log holds every privacy-relevant step, once each, and no patient data.
    const actions = await auditActions(fx);
    const count = (action: string, outcome: string) =>
      actions.filter(([a, o]) => a === action && o === outcome).length;
    expect(count('update.submitted', 'accepted')).toBe(6);
    expect(count('noise.added', 'info')).toBe(1);
    expect(count('model.published', 'info')).toBe(1);
    expect(actions).toContainEqual(['model.published', 'info', versionOf(fx, 1)]);
    expect(actions).toContainEqual(['run.halted', 'info', fx.runId]);
    const records = (await fx.stack.documents.list(paths.audits())).map((r) => JSON.stringify(r.data));
    expect(records.find((r) => /stay_id|"label"|lactate/.test(r))).toBeUndefined();
  });
});

describe('Aggregator: round lease', () => {
  async function twoUpdatesThenLease(expiresInMs: number) {
    const f = await setUpRun({ quorum: 2 });
    fx = f;
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2] = f.hospitals;
    await f.aggregator.handle(await craftUpdate(f, h1, deltaWithNorm(f.numParameters, 1, 71)));
    await f.aggregator.handle(await craftUpdate(f, h2, deltaWithNorm(f.numParameters, 1, 72)));
    // Another instance started aggregating (and may have crashed).
    await f.stack.documents.update(paths.round(f.runId, 1), {
      status: 'aggregating',
      lease: {
        owner: 'aggregator-crashed',
        expiresAt: new Date(f.clock.now().getTime() + expiresInMs).toISOString(),
      },
    });
    return f;
  }

  it("throws RetryLaterError while another instance's lease is unexpired", async () => {
    const f = await twoUpdatesThenLease(60_000);
    await expect(f.aggregator.handle(deadlineDelivery(f))).rejects.toBeInstanceOf(RetryLaterError);
    await expect(f.aggregator.handle(deadlineDelivery(f))).rejects.toThrow(
      /being aggregated by aggregator-crashed/,
    );
    const doc = await roundDoc(f);
    expect(doc.status).toBe('aggregating');
    expect(doc.lease!.owner).toBe('aggregator-crashed');
    expect(await f.models.get(versionOf(f, 1))).toBeUndefined();
  });

  it('takes over an expired lease and closes the round', async () => {
    const f = await twoUpdatesThenLease(60_000);
    f.clock.advance(60_001);
    await f.aggregator.handle(deadlineDelivery(f));
    const doc = await roundDoc(f);
    expect(doc.status).toBe('closed');
    expect(doc.lease).toBeNull();
    expect(doc.participants).toEqual(f.hospitals.slice(0, 2).sort());
    expect(await f.models.get(versionOf(f, 1))).toBeDefined();
    expect(f.bus.ofType('round.closed')).toHaveLength(1);
  });
});

describe('Aggregator: evaluations', () => {
  it('audits (does not throw on) an evaluation of an unknown model version', async () => {
    fx = await setUpRun();
    const event = makeEvent('evaluation.reported', {
      id: 'evaluation:nope:h1',
      runId: fx.runId,
      round: 0,
      time: fx.clock.now(),
      data: evaluationOf(fx.hospitals[0], 'no-such-version'),
    });
    const signed = await signedAs(fx, fx.hospitals[0], event);
    await expect(fx.aggregator.handle({ data: JSON.stringify(signed) })).resolves.toBeUndefined();
    expect(await auditReasons(fx)).toEqual(['unknown model version no-such-version']);
  });

  it('annotates the version with pooled metrics from the merged histograms', async () => {
    fx = await setUpRun();
    const parts = [
      evaluationOf(fx.hospitals[0], fx.baseVersionId, [0, 1, 0, 0], [0.1, 0.9, 0.4, 0.2]),
      evaluationOf(fx.hospitals[1], fx.baseVersionId, [1, 0, 1], [0.7, 0.35, 0.55]),
    ];
    for (const [k, data] of parts.entries()) {
      const event = makeEvent('evaluation.reported', {
        id: `evaluation:${fx.baseVersionId}:${k}`,
        runId: fx.runId,
        round: 0,
        time: fx.clock.now(),
        data,
      });
      const signed = JSON.stringify(await signedAs(fx, data.hospitalId, event));
      await fx.aggregator.handle({ data: signed });
      await fx.aggregator.handle({ data: signed }); // redelivered: still one evaluation
    }
    const version = (await fx.models.get(fx.baseVersionId))!;
    const expected = metricsFromHistogram(mergeHistograms(parts.map((p) => p.histogram)));
    expect(version.pooled!.metrics).toEqual(expected);
    expect(version.pooled!.metrics.n).toBe(7);
    expect(version.pooled!.metrics.positives).toBe(3);
    expect(version.pooled!.metrics.auroc).toBe(1);
    expect(version.pooled!.hospitals).toEqual([fx.hospitals[0], fx.hospitals[1]].sort());
    expect(await fx.stack.documents.list(paths.evaluations(fx.baseVersionId))).toHaveLength(2);
  });

  it('audits an evaluation whose histogram cannot be pooled, and keeps pooling the others', async () => {
    const run = await setUpRun();
    fx = run;
    // h-stranger is enrolled (by the operator) but not in this run.
    await enrolSimulatedHospitals(
      { documents: run.stack.documents, clock: run.clock, operator: 'operator:test', keys: run.keys },
      ['h-stranger'],
    );
    const send = async (data: HospitalEvaluation, id: string) => {
      const event = {
        ...makeEvent('evaluation.reported', {
          id,
          runId: run.runId,
          round: 0,
          time: run.clock.now(),
          data: evaluationOf(run.hospitals[0], run.baseVersionId),
        }),
        data,
      };
      return run.aggregator.handle({ data: JSON.stringify(await signedAs(run, data.hospitalId, event)) });
    };
    await send(evaluationOf(fx.hospitals[0], fx.baseVersionId), 'good');
    // Finer bins than the public ones would let a label be read off a count: refused.
    const finer = {
      ...evaluationOf(fx.hospitals[1], fx.baseVersionId),
      histogram: binRisks([0, 1], [0.2, 0.7], [0, 0.001, 0.002, 0.5, 1]),
    };
    await expect(send(finer, 'finer')).resolves.toBeUndefined();
    const stranger = evaluationOf('h-stranger', fx.baseVersionId);
    await expect(send(stranger, 'stranger')).resolves.toBeUndefined();
    const truncated = evaluationOf(fx.hospitals[2], fx.baseVersionId);
    truncated.histogram.positives = truncated.histogram.positives.slice(0, 3);
    await expect(send(truncated, 'truncated')).resolves.toBeUndefined();

    const reasons = await auditReasons(fx);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /histogram cuts \[0, 0.001, 0.002, 0.5, 1\] are not the public evaluation cuts/,
        ),
        expect.stringMatching(/one count per bin/),
        `hospital h-stranger is not in run ${fx.runId}`,
      ]),
    );
    expect(await fx.stack.documents.list(paths.evaluations(fx.baseVersionId))).toHaveLength(1);
    // A later valid evaluation still pools.
    await send(evaluationOf(fx.hospitals[1], fx.baseVersionId), 'good-2');
    expect((await fx.models.get(fx.baseVersionId))!.pooled!.metrics.n).toBe(10);
  });

  it("records each update's base evaluation against the base version", async () => {
    fx = await setUpRun();
    await fx.lifecycle.openRound(fx.runId, 1);
    const baseEvaluation = evaluationOf(fx.hospitals[0], fx.baseVersionId);
    await fx.aggregator.handle(
      await craftUpdate(fx, fx.hospitals[0], deltaWithNorm(fx.numParameters, 1, 1), { baseEvaluation }),
    );
    const version = (await fx.models.get(fx.baseVersionId))!;
    expect(version.pooled).not.toBeNull();
    expect(version.pooled!.metrics.n).toBe(5);
  });
});

describe('Aggregator: concurrent deliveries to one instance', () => {
  it('aggregates a noisy round once when the last update and the deadline arrive together', async () => {
    // Quorum 2: whichever delivery wins, the round closes (with 2 or 3 updates) — exactly once.
    fx = await setUpRun({ noiseMultiplier: 0.5, quorum: 2 });
    const f = fx;
    await f.lifecycle.openRound(f.runId, 1);
    const [h1, h2, h3] = f.hospitals;
    await f.aggregator.handle(await craftUpdate(f, h1, deltaWithNorm(f.numParameters, 1, 1)));
    await f.aggregator.handle(await craftUpdate(f, h2, deltaWithNorm(f.numParameters, 1, 2)));
    const last = await craftUpdate(f, h3, deltaWithNorm(f.numParameters, 1, 3));
    const outcomes = await Promise.allSettled([
      f.aggregator.handle(last),
      f.aggregator.handle(deadlineDelivery(f)),
    ]);
    // At most one of the two may have to retry; a redelivery then finds the round finished.
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RetryLaterError);
    await f.aggregator.handle(last);
    await f.aggregator.handle(deadlineDelivery(f));

    expect(f.bus.ofType('model.published')).toHaveLength(1);
    const loaded = await f.models.load(`${f.runId}-r0001`); // checksum verified: weights written once
    expect(loaded.doc.participants.length).toBeGreaterThanOrEqual(2);
    expect((await f.lifecycle.getRound(f.runId, 1))?.status).toBe('closed');
  });
});
