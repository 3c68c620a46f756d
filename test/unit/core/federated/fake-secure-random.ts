import type { SecureRandom } from '../../../../src/core/random/random';
import { SeededRandom, standardNormal } from '../../../../src/core/random/seeded-random';

/** A deterministic stand-in that claims to be secure, so DP tests are reproducible. Tests only. */
export function fakeSecureRandom(seed: number): SecureRandom {
  const random = new SeededRandom(seed);
  return {
    secure: true,
    nextDouble: () => random.nextDouble(),
    nextUint32: () => random.nextUint32(),
    fillStandardNormal(out) {
      for (let i = 0; i < out.length; i++) out[i] = standardNormal(random);
    },
  };
}
