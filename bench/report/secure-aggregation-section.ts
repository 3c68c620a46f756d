import type { BenchResults } from '../results';
import type { Summary } from '../statistics';
import { ms, pLabel, range, si, table } from './format';

/** The aggregation section's secure-aggregation and signature tables (docs/benchmarks.md). */
export function secureAggregationSection(r: BenchResults): string[] {
  const secure = r.aggregation.secure ?? [];
  const masking = r.aggregation.masking ?? [];
  if (secure.length === 0) return [];
  const plain = (k: number, p: number) =>
    r.aggregation.figures.find((f) => f.hospitals === k && f.params === p)?.floorRatio;
  const ratio = (x: { floorRatio: number; floorRatioPairs: Summary }) =>
    `**${x.floorRatio.toFixed(3)}** (${range(x.floorRatioPairs, (v) => v.toFixed(3))})`;
  return [
    '### With secure aggregation and with signature checks',
    '',
    'Aggregator side, each subject timed interleaved with the same read-pass floor (floor ratio = floor time / subject time):',
    '',
    '- **unmask**: `unmaskAverage` — modular sum of K masked int32 vectors (Z_{2^32}) and decoding to the float average, no dropout.',
    '- **secure DP-FedAvg**: unmask + Gaussian noise z·C/m from `CryptoRandom` + server step: what the aggregator does instead of clip + sum when it only sees the masked sum.',
    '- **dropout recovery**: removing the masks of ONE dropped hospital — the K − 1 survivors’ revealed seeds expanded with AES-256-CTR (`aesCtrSeedExpander`) and subtracted: extra time on top of unmasking.',
    '- **verify**: `verifyUpdateSignature` on K updates (SHA-256 of each float32 blob + Ed25519 verify); **verify + DP-FedAvg**: the plain path with signature checks on.',
    '',
    'The masked inputs are stand-ins with the same bytes as real ones: y_k = x_k + r_k with x_k the real fixed-point encoding of the clipped update and r_k uniform masks (node:crypto) that cancel in the sum, as pairwise masks do; the aggregator’s cost depends only on the bytes. The hospital side below is the real `maskUpdate`.',
    '',
    table(
      [
        'K',
        'P',
        'DP-FedAvg floor ratio',
        'unmask ms',
        'unmask floor ratio',
        'secure DP-FedAvg ms',
        'secure DP-FedAvg floor ratio',
        'dropout recovery ms (× unmask)',
        'verify ms (per update)',
        'verify + DP-FedAvg floor ratio',
        'repeats',
      ],
      secure.map((s) => [
        String(s.hospitals),
        pLabel(s.params),
        plain(s.hospitals, s.params)?.toFixed(3) ?? '—',
        `${ms(s.unmask.seconds.median)} (${range(s.unmask.seconds, ms)})`,
        ratio(s.unmask),
        ms(s.secureDpFedAvg.seconds.median),
        ratio(s.secureDpFedAvg),
        `${ms(s.dropoutRecovery.seconds.median)} (${(s.dropoutRecovery.seconds.median / s.unmask.seconds.median).toFixed(2)} ×)`,
        `${ms(s.verify.seconds.median)} (${((1e6 * s.verify.seconds.median) / s.hospitals).toFixed(0)} µs)`,
        ratio(s.verifyAndDpFedAvg),
        String(s.unmask.seconds.repeats),
      ]),
    ),
    '',
    'Hospital side: `maskUpdate` of one update against K − 1 peers (K − 1 X25519 agreements + HKDF-SHA256, K − 1 AES-CTR expansions of P words, fixed-point encoding, modular adds) against `encodeUpdate` of the same update (plain float32 blob), timed interleaved. Ratio = masking throughput / plain throughput.',
    '',
    table(
      ['K', 'P', 'mask ms (q1–q3)', 'plain encode ms', 'ratio (pairs q1–q3)', 'time × plain', 'repeats'],
      masking.map((m) => [
        String(m.hospitals),
        pLabel(m.params),
        `${ms(m.maskSeconds.median)} (${range(m.maskSeconds, ms)})`,
        ms(m.plainEncodeSeconds.median),
        `${m.ratio.toExponential(2)} (${range(m.ratioPairs, (v) => v.toExponential(2))})`,
        `${si(m.maskSeconds.median / m.plainEncodeSeconds.median)} ×`,
        String(m.maskSeconds.repeats),
      ]),
    ),
    '',
  ];
}
