import { SecureAggregationError } from './errors';
import { removeSelfMask } from './double-masking';
import type { FixedPointParameters } from './fixed-point';
import { addModularInPlace, sumModular } from './modular-sum';
import { expandExactly, maskSign, type SeedExpander } from './pairwise-masks';
import { revealsSelfMask, type ShareKind } from './reveal-policy';
import { checkSumBounds } from './sum-bounds';

/**
 * What a responding survivor revealed for `peerId`: a Shamir share of its self-mask seed or of its
 * round masking key, or (kind 'pair-seed', peerId dropped before sending shares) the survivor's own
 * 32-byte pair seed with it.
 */
export interface RevealedShare {
  fromId: string;
  peerId: string;
  kind: ShareKind;
  share: Uint8Array;
}

export interface DoubleMaskedRound {
  /** U1: every hospital that masked against every other. */
  participants: readonly string[];
  /** t: shares needed to rebuild one secret. */
  threshold: number;
  /** No sum of fewer survivors is ever unmasked (a sum of one is that hospital's update). */
  minHospitals: number;
  /** U3 ⊆ U1: the masked updates the aggregator received and accepted. */
  maskedUpdates: ReadonlyMap<string, Int32Array>;
  /** What the responding survivors revealed (Bonawitz et al. 2017, round 4). */
  reveals: readonly RevealedShare[];
  params: FixedPointParameters;
  length: number;
}

/** The crypto the unmasking needs, handed in (core stays pure): see src/runtime/double-masking-crypto.ts. */
export interface UnmaskPrimitives {
  expand: SeedExpander;
  /** Shamir reconstruction from at least t shares. */
  combine: (shares: Uint8Array[]) => Promise<Uint8Array>;
  /** Whether `seed` is the self-mask seed `peerId` committed to (a wrong share gives another seed). */
  isCommittedSelfMask: (peerId: string, seed: Uint8Array) => boolean;
  /**
   * s_{d,s} for every survivor s from dropped d's rebuilt round masking key; throws when the key
   * is not the public key d signed for the round (corrupt or missing shares).
   */
  pairSeedsOfDropped: (
    droppedId: string,
    maskingKey: Uint8Array,
    survivors: readonly string[],
  ) => ReadonlyMap<string, Uint8Array>;
}

export interface UnmaskedSum {
  /** Σ_{u∈U3} x_u, the signed int32 fixed-point sum, checked against K·C. */
  sum: Int32Array;
  survivors: string[];
}

/**
 * The aggregator's unmasking (Bonawitz et al. 2017, §4, round 4, server side): Σ y_u over the
 * survivors, minus each survivor's self-mask PRG(b_u) (b_u rebuilt from t shares), minus the
 * pairwise masks the survivors share with each dropped d (d's round key rebuilt from t shares).
 *
 * Refuses, with the reason, before any arithmetic: fewer survivors than the minimum; a share of
 * the wrong kind for a participant (a masking-key share for a received hospital: the update that
 * was received is never unmasked as dropped; a self-mask share for a dropped one); both kinds for
 * one participant; a share from a non-survivor or twice from one survivor; fewer than t shares
 * for any secret. Afterwards the sum must pass checkSumBounds (malicious encodings, int32 wrap).
 */
export async function unmaskDoubleMasked(
  round: DoubleMaskedRound,
  crypto: UnmaskPrimitives,
): Promise<UnmaskedSum> {
  const { participants, maskedUpdates, threshold, minHospitals } = round;
  const members = new Set(participants);
  if (members.size !== participants.length) throw new SecureAggregationError('participants repeat');
  if (!Number.isInteger(minHospitals) || minHospitals < 2)
    throw new SecureAggregationError(
      `the minimum number of hospitals per sum must be ≥ 2, got ${minHospitals}`,
    );
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > participants.length)
    throw new SecureAggregationError(`threshold ${threshold} must be between 2 and ${participants.length}`);
  for (const id of maskedUpdates.keys()) {
    if (!members.has(id)) throw new SecureAggregationError(`${id} sent a masked update but did not mask`);
  }
  const survivors = [...maskedUpdates.keys()].sort();
  if (survivors.length < minHospitals) {
    throw new SecureAggregationError(
      `only ${survivors.length} update(s) arrived; the minimum per unmasked sum is ${minHospitals}: refusing to unmask (a smaller sum exposes single hospitals)`,
    );
  }
  const dropped = participants.filter((id) => !maskedUpdates.has(id));
  const shares = collectShares(round, new Set(survivors));

  const sum = sumModular(
    survivors.map((id) => maskedUpdates.get(id)!),
    round.length,
  );
  for (const id of survivors) {
    const seed = await crypto.combine(shares.get(id)!.shares);
    if (!crypto.isCommittedSelfMask(id, seed))
      throw new SecureAggregationError(
        `the revealed shares of ${id}'s self-mask do not rebuild the seed it committed to`,
      );
    removeSelfMask(sum, seed, crypto.expand);
  }
  for (const d of dropped) {
    const entry = shares.get(d)!;
    const seeds =
      entry.keyShares.length >= round.threshold
        ? crypto.pairSeedsOfDropped(d, await crypto.combine(entry.keyShares), survivors)
        : entry.pairSeeds;
    for (const s of survivors) {
      const seed = seeds.get(s);
      if (!seed) throw new SecureAggregationError(`no pair seed of (${s}, ${d}) from ${d}'s rebuilt key`);
      // Survivor s added maskSign(s, d)·PRG(s_{s,d}); subtract exactly that.
      addModularInPlace(sum, expandExactly(crypto.expand, seed, round.length), maskSign(s, d) === 1 ? -1 : 1);
    }
  }
  checkSumBounds(sum, round.params, survivors.length);
  return { sum, survivors };
}

interface PeerReveals {
  /** Shamir shares of the self-mask seed (survivors) or of the round masking key (dropped). */
  shares: Uint8Array[];
  keyShares: Uint8Array[];
  /** Survivor → its pair seed with this dropped peer. */
  pairSeeds: Map<string, Uint8Array>;
}

/** Every participant's shares, checked for kind, sender and count (see unmaskDoubleMasked). */
function collectShares(round: DoubleMaskedRound, survivors: ReadonlySet<string>): Map<string, PeerReveals> {
  const byPeer = new Map<string, PeerReveals>(
    round.participants.map((id) => [id, { shares: [], keyShares: [], pairSeeds: new Map() }]),
  );
  const seen = new Set<string>();
  for (const r of round.reveals) {
    if (!survivors.has(r.fromId))
      throw new SecureAggregationError(
        `${r.fromId} revealed shares but sent no accepted update; refusing them`,
      );
    const entry = byPeer.get(r.peerId);
    if (!entry)
      throw new SecureAggregationError(`${r.fromId} revealed a share for ${r.peerId}, not a participant`);
    const received = survivors.has(r.peerId);
    if (revealsSelfMask(r.kind) !== received) {
      throw new SecureAggregationError(
        received
          ? `${r.fromId} revealed a ${r.kind} of ${r.peerId}, whose update was received: a received update is never unmasked as dropped`
          : `${r.fromId} revealed a self-mask share of ${r.peerId}, which dropped; refusing it`,
      );
    }
    const key = `${r.fromId}\u0000${r.peerId}`;
    if (seen.has(key)) throw new SecureAggregationError(`${r.fromId} revealed two shares for ${r.peerId}`);
    seen.add(key);
    if (r.kind === 'self-mask') entry.shares.push(r.share);
    else if (r.kind === 'masking-key') entry.keyShares.push(r.share);
    else entry.pairSeeds.set(r.fromId, r.share);
  }
  for (const id of round.participants) {
    const entry = byPeer.get(id)!;
    if (survivors.has(id)) {
      if (entry.shares.length < round.threshold)
        throw new SecureAggregationError(
          `${entry.shares.length} of the ${round.threshold} shares needed for ${id}'s self-mask were revealed; the sum cannot be unmasked`,
        );
    } else if (entry.keyShares.length < round.threshold && entry.pairSeeds.size < survivors.size) {
      throw new SecureAggregationError(
        `${entry.keyShares.length} of the ${round.threshold} shares needed for dropped ${id}'s masking key were revealed, and ${entry.pairSeeds.size} of the ${survivors.size} survivors' pair seeds with it; the sum cannot be unmasked`,
      );
    }
  }
  return byPeer;
}
