import type { BenchResults } from '../results';
import { ms, pLabel, range, table } from './format';

/** The double-masked secure aggregation table (docs/benchmarks.md), next to the plain path. */
export function doubleMaskingSection(r: BenchResults): string[] {
  const figures = r.aggregation.doubleMasking ?? [];
  if (figures.length === 0) return [];
  const times = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ×`;
  return [
    '### Double-masked secure aggregation (self-mask, Shamir shares, reveal)',
    '',
    'The protocol of docs/architecture.md §5 (`src/runtime/double-masking-round.ts`), each side timed interleaved with the path it replaces:',
    '',
    '- **mask** (one hospital): `maskAttempt` — its round key, the K − 1 peers’ signed round public keys verified, K − 1 X25519 + HKDF pair seeds, K AES-256-CTR expansions of P words (pairs and the fresh self-mask), fixed point, Shamir splits of the self-mask seed and of the round key and 2K AES-GCM encryptions, SHA-256 of the blob — against `encodeUpdate` of the same clipped update (the plain float32 blob). Independent of dropouts.',
    '- **unmask** (aggregator): `unmaskRound` — every round-key statement, survivor’s masking bundle and reveal verified (Ed25519), each survivor’s self-mask seed and each dropped hospital’s round key (it masked, its blob was lost) rebuilt from t Shamir shares, K′ self-masks and K′·D pair masks expanded and removed, the K′·C bound check — against plain DP-FedAvg over the same K′ survivors’ float32 updates (clip, sum, noise, server step).',
    '- **reveal** (one survivor): decide, verify the K masking bundles it answers for, decrypt its K shares, sign.',
    '',
    'K′ = K − D survivors. The survivors’ masked blobs carry real self-masks and real pair masks with every dropped hospital (the aggregator’s work); the pairs among survivors, which cancel in the sum at no cost to the aggregator, are stood in for by uniform masks that sum to zero. Cost × plain = subject median / plain median.',
    '',
    table(
      [
        'K',
        'P',
        'dropped D',
        't',
        'mask ms (q1–q3)',
        'plain encode ms',
        'mask × plain',
        'unmask ms (q1–q3)',
        'plain DP-FedAvg ms',
        'unmask × plain',
        'reveal ms',
        'repeats',
      ],
      figures.map((f) => [
        String(f.hospitals),
        pLabel(f.params),
        String(f.dropped),
        String(f.threshold),
        `${ms(f.maskSeconds.median)} (${range(f.maskSeconds, ms)})`,
        ms(f.plainEncodeSeconds.median),
        times(f.maskCostRatio),
        `${ms(f.unmaskSeconds.median)} (${range(f.unmaskSeconds, ms)})`,
        ms(f.plainAggregateSeconds.median),
        times(f.unmaskCostRatio),
        ms(f.revealSeconds.median),
        String(f.unmaskSeconds.repeats),
      ]),
    ),
    '',
  ];
}
