import { addModularInPlace } from './modular-sum';

/**
 * Expands a pairwise seed into `length` uniform words of Z_{2^32} (Bonawitz et al. 2017, §4: the
 * PRG that turns an agreed key s_{u,v} into the mask p_{u,v}). Core is pure, so the PRG is handed
 * in: src/runtime/secure-aggregation-crypto.ts provides AES-256-CTR over zeros.
 */
export type SeedExpander = (seed: Uint8Array, length: number) => Int32Array;

/** A seed this hospital shares with one peer (derived by X25519 + HKDF at the edge). */
export interface PeerSeed {
  peerId: string;
  seed: Uint8Array;
}

/**
 * The sign of m_{self,peer} in self's masked update (§4, "Masking with One-Time Pads": u adds
 * +p_{u,v} if u < v and −p_{u,v} if u > v), ids ordered by JavaScript string comparison, which both
 * sides compute identically. Each pair contributes +m − m = 0 to the sum.
 */
export function maskSign(selfId: string, peerId: string): 1 | -1 {
  if (selfId === peerId) throw new RangeError(`a hospital has no pairwise mask with itself (${selfId})`);
  return selfId < peerId ? 1 : -1;
}

/** y_u = x_u + Σ_{v>u} m_{u,v} − Σ_{v<u} m_{u,v} mod 2^32 (§4), as a new array. */
export function applyPairwiseMasks(
  encoded: Int32Array,
  selfId: string,
  peers: readonly PeerSeed[],
  expand: SeedExpander,
): Int32Array {
  const masked = Int32Array.from(encoded);
  const seen = new Set<string>();
  for (const { peerId, seed } of peers) {
    if (seen.has(peerId)) throw new RangeError(`peer ${peerId} appears twice`);
    seen.add(peerId);
    addModularInPlace(masked, expandExactly(expand, seed, encoded.length), maskSign(selfId, peerId));
  }
  return masked;
}

/**
 * A seed revealed by a surviving hospital for a peer that dropped out after masking was set up
 * (§4, "Handling Dropped Users"; here the survivor reveals s_{survivor,dropped} directly rather than
 * a Shamir share of the dropped user's key: the honest-but-curious simplification, see README).
 */
export interface RevealedSeed {
  survivorId: string;
  droppedId: string;
  seed: Uint8Array;
}

/**
 * Removes the masks that no longer cancel: survivor s added maskSign(s, d) · m_{s,d} for dropped d,
 * so the aggregator subtracts exactly that. In place on `sum`.
 */
export function removeDropoutMasks(
  sum: Int32Array,
  revealed: readonly RevealedSeed[],
  expand: SeedExpander,
): void {
  for (const { survivorId, droppedId, seed } of revealed) {
    const sign = maskSign(survivorId, droppedId);
    addModularInPlace(sum, expandExactly(expand, seed, sum.length), sign === 1 ? -1 : 1);
  }
}

/** expand(seed, length), checked to give exactly `length` words. */
export function expandExactly(expand: SeedExpander, seed: Uint8Array, length: number): Int32Array {
  const mask = expand(seed, length);
  if (mask.length !== length) throw new RangeError(`PRG gave ${mask.length} words, expected ${length}`);
  return mask;
}
