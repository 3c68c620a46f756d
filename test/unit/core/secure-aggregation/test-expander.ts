import type { SeedExpander } from '../../../../src/core/secure-aggregation';

/**
 * A deterministic, non-cryptographic stand-in PRG for core tests (core never imports node:crypto):
 * xorshift32 seeded from the seed bytes. Cancellation only needs the same seed to give the same
 * words; the real AES-CTR expander is tested in test/unit/runtime.
 */
export const testExpander: SeedExpander = (seed, length) => {
  let state = 0x9e3779b9;
  for (const b of seed) state = Math.imul(state ^ b, 0x01000193) >>> 0;
  if (state === 0) state = 1;
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state | 0;
  }
  return out;
};
