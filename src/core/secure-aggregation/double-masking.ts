import { addModularInPlace } from './modular-sum';
import { applyPairwiseMasks, expandExactly, type PeerSeed, type SeedExpander } from './pairwise-masks';

/**
 * Double masking (Bonawitz et al. 2017, §4, "Double-Masking"): y_u = x_u + PRG(b_u) +
 * Σ_{v>u} PRG(s_{u,v}) − Σ_{v<u} PRG(s_{u,v}) mod 2^32. The pairwise masks cancel in the sum; the
 * self-mask PRG(b_u) is removed only with t shares of b_u, which honest hospitals reveal only for
 * a hospital whose update arrived. So a blob plus every pairwise seed of its sender (all a
 * "dropped" hospital's peers can give) is still uniform: finding 2 of issue 13.
 *
 * b_u is fresh from the CSPRNG for every attempt (a re-run after an upload draws a new one), so
 * two blobs of one hospital in one round differ by x − x' + PRG(b) − PRG(b'), which is uniform:
 * masks are never reused (finding 5).
 */
export function applyDoubleMask(
  encoded: Int32Array,
  selfId: string,
  selfMaskSeed: Uint8Array,
  peers: readonly PeerSeed[],
  expand: SeedExpander,
): Int32Array {
  const masked = applyPairwiseMasks(encoded, selfId, peers, expand);
  addModularInPlace(masked, expandExactly(expand, selfMaskSeed, encoded.length), 1);
  return masked;
}

/** Σ − PRG(b_u), in place: what the aggregator does for each survivor once b_u is reconstructed. */
export function removeSelfMask(sum: Int32Array, selfMaskSeed: Uint8Array, expand: SeedExpander): void {
  addModularInPlace(sum, expandExactly(expand, selfMaskSeed, sum.length), -1);
}
