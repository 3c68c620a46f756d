import { l2Norm } from './l2-norm';

/**
 * Scales v down to L2 norm clipNorm if it is longer (McMahan et al. 2018, "Learning Differentially
 * Private Recurrent Language Models", Alg. 1 ClipFn: Delta * min(1, S / ||Delta||)); shorter vectors
 * come back unchanged. Returns a copy; `norm` is the norm before clipping.
 */
export function clipToNorm(
  v: Float32Array,
  clipNorm: number,
): { clipped: Float32Array; norm: number; scale: number } {
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm))
    throw new RangeError(`clipNorm must be positive and finite, got ${clipNorm}`);
  const norm = l2Norm(v);
  const scale = norm > clipNorm ? clipNorm / norm : 1;
  const clipped = new Float32Array(v.length);
  if (scale === 1) clipped.set(v);
  else for (let i = 0; i < v.length; i++) clipped[i] = v[i] * scale;
  return { clipped, norm, scale };
}
