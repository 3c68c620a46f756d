import { fixedPointErrorBound, SecureAggregationError } from '../../../src/core/secure-aggregation';
import {
  commitmentOf,
  decode,
  mask,
  maskAll,
  maxAbsDifference,
  plainSum,
  reveal,
  roundOf,
  unmask,
} from '../../support/double-masking-fixture';

/**
 * The double-masked round end to end with real node:crypto (X25519, AES-CTR, AES-GCM, Ed25519)
 * and real Shamir shares: the unmasked sum equals the plain sum of the survivors within the
 * fixed-point bound, with and without dropouts, and with only t survivors answering the reveal.
 */
describe('double-masked round', () => {
  const tolerance = (k: number, scale: number) =>
    fixedPointErrorBound({ clipNorm: 1, maxHospitals: k, scale }, 1);

  it('with no dropout: unmasks to the plain sum', async () => {
    const f = await roundOf(5);
    const arrived = await maskAll(f);
    const { sum, survivors } = await unmask(f, arrived);
    expect(survivors).toEqual(f.terms.participants);
    const error = maxAbsDifference(decode(sum, f.terms.params.scale), plainSum(f, survivors));
    expect(error).toBeLessThanOrEqual(tolerance(5, f.terms.params.scale));
  });

  it('with two of six dropped after sending their shares: rebuilds their round keys from t shares', async () => {
    const f = await roundOf(6);
    const all = await maskAll(f);
    const arrived = new Map([...all].filter(([id]) => !['h03', 'h05'].includes(id)));
    const commitment = commitmentOf(f, arrived);
    const reveals = [...arrived.keys()].map((id) => reveal(f, id, commitment, arrived, null, all));
    expect(reveals[0].reveals.find((r) => r.peerId === 'h03')!.kind).toBe('masking-key');
    const { sum, survivors } = await unmask(f, arrived, [...arrived.keys()], all);
    expect(survivors).toEqual(['h01', 'h02', 'h04', 'h06']);
    expect(maxAbsDifference(decode(sum, f.terms.params.scale), plainSum(f, survivors))).toBeLessThanOrEqual(
      tolerance(6, f.terms.params.scale),
    );
  });

  it('with two of six dropped before sending any shares: removes their pairs with the survivors` pair seeds', async () => {
    const f = await roundOf(6, { threshold: 3 });
    const arrived = await maskAll(f, ['h01', 'h02', 'h04', 'h06']);
    const { sum, survivors } = await unmask(f, arrived);
    expect(maxAbsDifference(decode(sum, f.terms.params.scale), plainSum(f, survivors))).toBeLessThanOrEqual(
      tolerance(6, f.terms.params.scale),
    );
    // Pair seeds need every survivor: one missing reveal leaves a pair mask on the sum.
    await expect(unmask(f, arrived, ['h01', 'h02', 'h04'])).rejects.toThrow(
      /and 3 of the 4 survivors' pair seeds with it; the sum cannot be unmasked/,
    );
  });

  it('needs only t survivors to answer the reveal (t-of-n), and fails with t − 1', async () => {
    const f = await roundOf(5, { threshold: 3 });
    const all = await maskAll(f);
    const arrived = new Map([...all].filter(([id]) => id !== 'h05'));
    const { sum } = await unmask(f, arrived, ['h02', 'h03', 'h04'], all);
    expect(
      maxAbsDifference(decode(sum, f.terms.params.scale), plainSum(f, [...arrived.keys()])),
    ).toBeLessThanOrEqual(tolerance(5, f.terms.params.scale));
    await expect(unmask(f, arrived, ['h02', 'h03'], all)).rejects.toThrow(/2 of the 3 shares needed/);
  });

  it('a re-run of one hospital (a new attempt) unmasks with the attempt the round received', async () => {
    const f = await roundOf(3);
    const arrived = await maskAll(f);
    const second = await mask(f, 'h02');
    expect(second.updateSha256).not.toBe(arrived.get('h02')!.updateSha256);
    arrived.set('h02', second);
    const { sum } = await unmask(f, arrived);
    expect(
      maxAbsDifference(decode(sum, f.terms.params.scale), plainSum(f, f.terms.participants)),
    ).toBeLessThanOrEqual(tolerance(3, f.terms.params.scale));
  });

  it('refuses a sum of fewer survivors than the minimum, with the reason', async () => {
    const f = await roundOf(4, { threshold: 2 });
    const arrived = await maskAll(f, ['h01', 'h02']);
    await expect(unmask(f, arrived)).rejects.toThrow(SecureAggregationError);
    await expect(unmask(f, arrived)).rejects.toThrow(
      /only 2 update\(s\) arrived; the minimum per unmasked sum is 3/,
    );
  });
});
