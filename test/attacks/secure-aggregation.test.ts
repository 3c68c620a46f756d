import {
  addModularInPlace,
  applyDoubleMask,
  applyPairwiseMasks,
  encodeFixedPoint,
  maskSign,
  RevealRefusedError,
  SecureAggregationError,
  SumOutOfBoundsError,
  unmaskDoubleMasked,
} from '../../src/core/secure-aggregation';
import { makeMaskingBundle } from '../../src/runtime/double-masking-bundles';
import {
  combineShares,
  deriveRoundMaskingKey,
  newSelfMaskSeed,
  unmaskPrimitives,
} from '../../src/runtime/double-masking-crypto';
import { blobSha256, unmaskRound, type MaskedAttempt } from '../../src/runtime/double-masking-round';
import {
  aesCtrSeedExpander,
  derivePairSeed,
  importMaskingPublicKey,
} from '../../src/runtime/secure-aggregation-crypto';
import {
  clippedUpdate,
  commitmentOf,
  decode,
  heldBy,
  mask,
  maskAll,
  reveal,
  roundOf,
  unmask,
  type Fixture,
} from '../support/double-masking-fixture';

/**
 * Issue 13, findings 2, 4, 5 and 6, each written as the attack (a curious aggregator, a malicious
 * hospital) against the double-masked round with real keys and shares, asserting that it fails.
 * Where the attack worked against the pairwise-only scheme, a control shows it did: the test
 * could fail.
 */

/** `id`'s signed round public key for the fixture's round. */
const roundPublicKeyOf = (f: Fixture, id: string): string =>
  f.statements.get(id)!.rounds.find((r) => r.round === f.terms.round)!.publicKey;

/** The pair seeds of `id` with every other participant, as `id` itself derives them. */
function pairSeedsOf(f: Fixture, id: string) {
  const roundKey = deriveRoundMaskingKey(
    f.directory.get(id)!.signingPrivateKeyPem,
    f.terms.runId,
    f.terms.round,
  );
  return f.terms.participants
    .filter((p) => p !== id)
    .map((p) => ({
      peerId: p,
      seed: derivePairSeed({
        runId: f.terms.runId,
        round: f.terms.round,
        selfId: id,
        privateKey: roundKey.privateKey,
        peerId: p,
        peerPublicKey: importMaskingPublicKey(roundPublicKeyOf(f, p)),
      }),
    }));
}

/** What the aggregator gets by removing every pairwise mask of `id` from its blob. */
function stripPairwise(
  blob: Int32Array,
  id: string,
  seeds: { peerId: string; seed: Uint8Array }[],
): Int32Array {
  const out = Int32Array.from(blob);
  for (const { peerId, seed } of seeds)
    addModularInPlace(out, aesCtrSeedExpander(seed, out.length), maskSign(id, peerId) === 1 ? -1 : 1);
  return out;
}

/** Coordinates where an attacker's estimate is within 0.01 of the truth. */
function hits(estimate: ArrayLike<number>, truth: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < truth.length; i++) if (Math.abs(estimate[i] - truth[i]) < 0.01) n++;
  return n;
}

/** A malicious hospital's attempt: any int32 vector, masked correctly, with valid signed shares. */
async function maliciousAttempt(f: Fixture, id: string, encoded: Int32Array): Promise<MaskedAttempt> {
  const seed = newSelfMaskSeed();
  const values = applyDoubleMask(encoded, id, seed, pairSeedsOf(f, id), aesCtrSeedExpander);
  const updateSha256 = blobSha256(values);
  const identityPublicKeys = new Map([...f.directory].map(([h, k]) => [h, k.identityMaskingPublicKey]));
  const keys = f.directory.get(id)!;
  const bundle = await makeMaskingBundle(
    keys.identity,
    { ...f.terms, identityPublicKeys },
    seed,
    deriveRoundMaskingKey(keys.signingPrivateKeyPem, f.terms.runId, f.terms.round),
    updateSha256,
  );
  return { values, updateSha256, bundle };
}

describe('attack: a curious aggregator unmasks a hospital it declares dropped (finding 2)', () => {
  it('holds the blob and every pairwise seed of h02, and still sees uniform noise: the self-mask stays', async () => {
    const f = await roundOf(5);
    const arrived = await maskAll(f);
    const stolen = arrived.get('h02')!;
    // The aggregator keeps h02's blob but tells the others h02 dropped.
    const lie = new Map(arrived);
    lie.delete('h02');
    const commitment = commitmentOf(f, lie);
    // h02's masking bundle is in the store (it uploaded everything), so the survivors hold its key shares.
    const reveals = ['h01', 'h03', 'h04', 'h05'].map((s) => reveal(f, s, commitment, lie, null, arrived));
    // It rebuilds h02's round masking key from the masking-key shares and derives all its pair seeds.
    const keyShares = reveals.flatMap((r) =>
      r.reveals.filter((x) => x.peerId === 'h02').map((x) => new Uint8Array(Buffer.from(x.share, 'base64'))),
    );
    expect(reveals.every((r) => r.reveals.find((x) => x.peerId === 'h02')!.kind === 'masking-key')).toBe(
      true,
    );
    const rebuilt = await combineShares(keyShares);
    const seeds = unmaskPrimitives({
      runId: f.terms.runId,
      round: f.terms.round,
      roundPublicKeys: new Map(f.terms.participants.map((id) => [id, roundPublicKeyOf(f, id)])),
      selfMaskCommitments: new Map(),
    }).pairSeedsOfDropped('h02', rebuilt, ['h01', 'h03', 'h04', 'h05']);
    const recovered = stripPairwise(
      stolen.values,
      'h02',
      [...seeds].map(([peerId, seed]) => ({ peerId, seed })),
    );
    // What remains is x + PRG(b), uniform on the ring: a coordinate lands within 0.01 of the
    // truth with probability ≈ 0.02 / (2^32 / scale) ≈ 0.1 %; recovering the update would make all 64 hit.
    const decoded = decode(recovered, f.terms.params.scale);
    expect(hits(decoded, f.updates.get('h02')!)).toBeLessThan(4);
    // And the survivors will not now hand over h02's self-mask shares: they already answered for h02.
    expect(() => reveal(f, 'h01', commitmentOf(f, arrived), arrived, reveals[0])).toThrow(RevealRefusedError);
  });

  it('control: against pairwise masks alone (the old scheme) the same attack recovers the update', async () => {
    const f = await roundOf(4);
    const x = encodeFixedPoint(f.updates.get('h02')!, f.terms.params);
    const seeds = pairSeedsOf(f, 'h02');
    const blob = applyPairwiseMasks(x, 'h02', seeds, aesCtrSeedExpander);
    expect(stripPairwise(blob, 'h02', seeds)).toEqual(x);
  });

  it('a hospital that uploaded its blob but never its shares: the survivors` pair seeds strip its pairs, not its self-mask', async () => {
    const f = await roundOf(4);
    const arrived = await maskAll(f);
    const stolen = arrived.get('h04')!;
    const survivors = new Map(arrived);
    survivors.delete('h04');
    // h04's masking bundle never reached the store: the survivors can only answer with pair seeds.
    const commitment = commitmentOf(f, survivors);
    const reveals = ['h01', 'h02', 'h03'].map((s) => reveal(f, s, commitment, survivors));
    expect(reveals.map((r) => r.reveals.find((x) => x.peerId === 'h04')!.kind)).toEqual([
      'pair-seed',
      'pair-seed',
      'pair-seed',
    ]);
    // The round still unmasks the survivors' sum...
    const { sum } = await unmaskRound(f.terms, f.directory, heldBy(f, survivors, reveals));
    const expected = ['h01', 'h02', 'h03'].map((id) => f.updates.get(id)!);
    const plain = Float64Array.from(expected[0], (_, i) => expected.reduce((t, u) => t + u[i], 0));
    expect(hits(decode(sum, f.terms.params.scale), plain)).toBe(plain.length);
    // ...and the stolen blob minus every pair mask is still x + PRG(b): b was never shared.
    const seeds = reveals.map((r) => ({
      peerId: r.hospitalId,
      seed: new Uint8Array(Buffer.from(r.reveals.find((x) => x.peerId === 'h04')!.share, 'base64')),
    }));
    const recovered = stripPairwise(stolen.values, 'h04', seeds);
    expect(hits(decode(recovered, f.terms.params.scale), f.updates.get('h04')!)).toBeLessThan(4);
  });

  it('cannot make the unmasking use masking-key shares for an update it received', async () => {
    const f = await roundOf(4);
    const arrived = await maskAll(f);
    const lie = new Map(arrived);
    lie.delete('h03');
    const reveals = ['h01', 'h02', 'h04'].map((s) => reveal(f, s, commitmentOf(f, lie), lie, null, arrived));
    // It now feeds h03's blob in as received, with the masking-key shares the lie produced.
    await expect(unmaskRound(f.terms, f.directory, heldBy(f, arrived, reveals))).rejects.toThrow(
      /masking-key of h03, whose update was received: a received update is never unmasked as dropped/,
    );
  });
});

describe('attack: a survivor is asked for both shares of one peer', () => {
  it('refuses the second request after revealing the first, and a round that says both at once', async () => {
    const f = await roundOf(4);
    const arrived = await maskAll(f);
    const first = reveal(f, 'h01', commitmentOf(f, arrived), arrived);
    expect(first.reveals.find((r) => r.peerId === 'h04')!.kind).toBe('self-mask');
    const without = new Map(arrived);
    without.delete('h04');
    expect(() => reveal(f, 'h01', commitmentOf(f, without), without, first, arrived)).toThrow(
      /already revealed the self-mask share for h04 in this round; asked now for the masking-key share/,
    );
    // The same request again gets the same reveal (idempotent re-run), never a new one.
    expect(reveal(f, 'h01', commitmentOf(f, arrived), arrived, first)).toBe(first);
    const both = { ...commitmentOf(f, arrived), dropped: ['h04'] };
    expect(() => reveal(f, 'h02', both, arrived)).toThrow(/says h04 both arrived and dropped/);
  });
});

describe('attack: a single survivor unmasked in the clear (finding 2, quorum 1)', () => {
  it('is refused even when the round asks for a minimum of 1', async () => {
    const f = await roundOf(3, { threshold: 2, minHospitals: 3 });
    const arrived = await maskAll(f, ['h01']);
    await expect(unmask(f, arrived)).rejects.toThrow(
      /only 1 update\(s\) arrived; the minimum per unmasked sum is 3/,
    );
    const lowered = { ...f, terms: { ...f.terms, minHospitals: 1 } };
    await expect(unmask(lowered, arrived)).rejects.toThrow(/minimum number of hospitals per sum must be ≥ 2/);
  });

  it('a colluding pair of survivors (K = 2) is refused at the default minimum of 3', async () => {
    const f = await roundOf(3, { threshold: 2 });
    const arrived = await maskAll(f, ['h01', 'h02']);
    await expect(unmask(f, arrived)).rejects.toThrow(SecureAggregationError);
  });
});

describe('attack: a malicious hospital wraps the int32 sum (finding 4)', () => {
  it('a coordinate at −2^31 (the ring wraps) fails the round with a bound error naming the coordinate', async () => {
    const f = await roundOf(4);
    const arrived = await maskAll(f, ['h01', 'h02', 'h03']);
    const evil = encodeFixedPoint(f.updates.get('h04')!, f.terms.params);
    evil[7] = -(2 ** 31);
    arrived.set('h04', await maliciousAttempt(f, 'h04', evil));
    const failure = await unmask(f, arrived).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SumOutOfBoundsError);
    expect((failure as SumOutOfBoundsError).coordinate).toBe(7);
    expect((failure as Error).message).toMatch(/coordinate 7 .* outside ±4·C/);
  });

  it('values just inside the ring but beyond K·C on every coordinate fail too', async () => {
    const f = await roundOf(3);
    const arrived = await maskAll(f, ['h01', 'h02']);
    const evil = Int32Array.from({ length: 64 }, () => 2 ** 30);
    arrived.set('h03', await maliciousAttempt(f, 'h03', evil));
    await expect(unmask(f, arrived)).rejects.toThrow(SumOutOfBoundsError);
  });
});

describe('attack: masks reused across two attempts (finding 5)', () => {
  it('the difference of a re-run hospital`s two blobs is not the difference of its updates', async () => {
    const f = await roundOf(3, { length: 256 });
    const first = await mask(f, 'h02');
    const other = clippedUpdate(256, 1);
    const second = await mask(f, 'h02', other);
    const blobDifference = Int32Array.from(first.values, (v, i) => (v - second.values[i]) | 0);
    const x1 = encodeFixedPoint(f.updates.get('h02')!, f.terms.params);
    const x2 = encodeFixedPoint(other, f.terms.params);
    const updateDifference = Int32Array.from(x1, (v, i) => (v - x2[i]) | 0);
    const scale = f.terms.params.scale;
    expect(hits(decode(blobDifference, scale), decode(updateDifference, scale))).toBeLessThan(8);
  });

  it('control: with the same pairwise masks and no self-mask, the difference is exact', async () => {
    const f = await roundOf(3);
    const seeds = pairSeedsOf(f, 'h02');
    const x1 = encodeFixedPoint(f.updates.get('h02')!, f.terms.params);
    const x2 = encodeFixedPoint(clippedUpdate(64, 1), f.terms.params);
    const y1 = applyPairwiseMasks(x1, 'h02', seeds, aesCtrSeedExpander);
    const y2 = applyPairwiseMasks(x2, 'h02', seeds, aesCtrSeedExpander);
    expect(Int32Array.from(y1, (v, i) => (v - y2[i]) | 0)).toEqual(
      Int32Array.from(x1, (v, i) => (v - x2[i]) | 0),
    );
  });
});

describe('guard: masked deltas over the clip norm are caught by the bound check (finding 4)', () => {
  /** K updates along one direction with norm `norm` each (every coordinate below C, so they encode). */
  async function aligned(k: number, norm: number) {
    const f = await roundOf(k, { length: 100 });
    const direction = Float32Array.from({ length: 100 }, () => norm / 10);
    const arrived = new Map<string, MaskedAttempt>();
    for (const id of f.terms.participants) {
      f.updates.set(id, direction);
      arrived.set(id, await mask(f, id, direction));
    }
    return { f, arrived };
  }

  it('K = 3 updates of norm 1.5·C each: ‖Σ‖ = 4.5·C > 3·C fails the round', async () => {
    const { f, arrived } = await aligned(3, 1.5);
    await expect(unmask(f, arrived)).rejects.toThrow(/L2 norm 4\.5\d* > 3·C = 3/);
  });

  it('K = 3 updates of norm C each (at the clip) pass: the check is not stricter than the clip', async () => {
    const { f, arrived } = await aligned(3, 1 - 1e-6);
    const { sum } = await unmask(f, arrived);
    expect(Math.hypot(...decode(sum, f.terms.params.scale))).toBeCloseTo(3, 4);
  });

  it('what stays open: one hospital at 1.5·C among honest ones in other directions passes (poisoning within K·C)', async () => {
    const f = await roundOf(3, { length: 100 });
    const arrived = await maskAll(f, ['h01', 'h02']);
    const over = clippedUpdate(100, 1.5).map((v) => Math.max(-1, Math.min(1, v)));
    arrived.set('h03', await mask(f, 'h03', over));
    await expect(unmask(f, arrived)).resolves.toBeDefined();
  });
});

describe('unmaskDoubleMasked refuses shares from outside the survivors', () => {
  it('a share revealed by a hospital whose update did not arrive is refused', async () => {
    const f = await roundOf(3, { threshold: 2 });
    const arrived = await maskAll(f);
    const maskedUpdates = new Map([...arrived].map(([id, a]) => [id, a.values]));
    maskedUpdates.delete('h03');
    await expect(
      unmaskDoubleMasked(
        {
          participants: f.terms.participants,
          threshold: 2,
          minHospitals: 2,
          maskedUpdates,
          reveals: [{ fromId: 'h03', peerId: 'h01', kind: 'self-mask', share: new Uint8Array(33) }],
          params: f.terms.params,
          length: 64,
        },
        unmaskPrimitives({
          runId: 'r',
          round: 1,
          roundPublicKeys: new Map(),
          selfMaskCommitments: new Map(),
        }),
      ),
    ).rejects.toThrow(/h03 revealed shares but sent no accepted update/);
  });
});
