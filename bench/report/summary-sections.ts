import type { BenchResults } from '../results';
import type { PresetQuality } from '../suites/quality';
import { ms, pct, pLabel, range, si, table } from './format';

const largest = <T extends { hospitals: number; params: number }>(xs: readonly T[]): T | undefined =>
  [...xs].sort((a, b) => b.hospitals * b.params - a.hospitals * a.params)[0];

function qualityRow(q: PresetQuality, id: string, name: string): string[] | null {
  const v = q.pooled[id]?.auroc;
  const central = q.pooled.centralized?.auroc;
  if (!v || !central) return null;
  return [
    `pooled test AUROC, ${q.settings.preset}: ${name} (${q.settings.seeds.length} seeds)`,
    `${v.mean.toFixed(3)} [${v.low.toFixed(3)}, ${v.high.toFixed(3)}]`,
    `${(v.mean - central.mean >= 0 ? '+' : '') + (v.mean - central.mean).toFixed(3)} vs centralized ${central.mean.toFixed(3)}`,
  ];
}

/** Headline rows for secure aggregation, signatures, DP-SGD, orchestration and DP quality. */
export function headlinePrivacyRows(r: BenchResults): string[][] {
  const rows: string[][] = [];
  const s = largest(r.aggregation.secure ?? []);
  if (s) {
    rows.push(
      [
        `secure aggregation unmask + decode, K = ${s.hospitals}, P = ${pLabel(s.params)}`,
        `${si(s.unmask.paramsPerSecond)} params/s`,
        `${s.unmask.floorRatio.toFixed(3)} of the read-pass floor; dropout recovery of one hospital ${(s.dropoutRecovery.seconds.median / s.unmask.seconds.median).toFixed(2)} × the unmask time`,
      ],
      [
        `signature checks, K = ${s.hospitals}, P = ${pLabel(s.params)}`,
        `${((1e6 * s.verify.seconds.median) / s.hospitals).toFixed(0)} µs per update`,
        `DP-FedAvg with checks on: ${s.verifyAndDpFedAvg.floorRatio.toFixed(3)} of the floor`,
      ],
    );
  }
  const m = largest(r.aggregation.masking ?? []);
  if (m)
    rows.push([
      `hospital-side masking, K − 1 = ${m.hospitals - 1} peers, P = ${pLabel(m.params)}`,
      `${ms(m.maskSeconds.median)} ms per update`,
      `${m.ratio.toExponential(2)} × the plain encoding's throughput`,
    ]);
  for (const d of r.training.dpSgd ?? [])
    if (d.batchSize === 256)
      rows.push([
        `patient-level DP-SGD training, ${d.backend}, batch ${d.batchSize}`,
        `${si(d.dpSamplesPerSecond)} samples/s`,
        `${d.ratio.toFixed(3)} × plain training (DP overhead ratio)`,
      ]);
  const recipe = r.training.dpSgdNumpy?.figures.find(
    (f) => f.model.includes('default') && f.batchSize === 128,
  );
  if (recipe)
    rows.push([
      `patient-level DP-SGD, default recipe (${recipe.model.replace(/ \(.*\)$/, '')}, batch ${recipe.batchSize}), vs numpy`,
      `${si(recipe.himasSamplesPerSecond)} samples/s`,
      recipe.ratioToNumpy === null
        ? `numpy reference not run: ${r.training.dpSgdNumpy!.numpy.reason}`
        : `${recipe.ratioToNumpy.toFixed(2)} × the numpy reference (${recipe.numpyReference}); ${(recipe.himasSamplesPerSecond / recipe.tfjsSamplesPerSecond).toFixed(1)} × the tfjs path`,
    ]);
  const o = r.orchestration;
  if (o) {
    rows.push([
      `orchestration overhead per round, embedded stack, K = ${o.overhead.hospitals}`,
      `${ms(o.overhead.overheadSeconds.median)} ms of ${ms(o.overhead.cycleSeconds.median)} ms`,
      `${pct(o.overhead.overheadShare.median, 0)} of the round`,
    ]);
    if (o.emulator?.measured)
      rows.push([
        `orchestration overhead per round, emulator stack, K = ${o.emulator.hospitals} (\`himas train\`)`,
        `${o.emulator.emulators.overheadSeconds.median.toFixed(2)} s vs ${o.emulator.embedded.overheadSeconds.median.toFixed(2)} s embedded`,
        `${o.emulator.ratio.toFixed(2)} × the embedded stack`,
      ]);
    const last = o.scaling[o.scaling.length - 1];
    if (last && o.roundTimeGrowth)
      rows.push([
        `one round, K = ${o.scaling.map((x) => x.hospitals).join(', ')} hospitals`,
        `${last.roundSeconds.toFixed(1)} s at K = ${last.hospitals}, peak RSS ${(last.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        `grows as K^${o.roundTimeGrowth.exponent.toFixed(2)}` +
          (o.memoryGrowth ? `; memory above start as K^${o.memoryGrowth.exponent.toFixed(2)}` : ''),
      ]);
  }
  for (const q of r.quality.presets ?? []) {
    const dp = q.methods.filter((x) => x.kind === 'dpsgd');
    const candidates: Array<[string, string]> = [
      ['fedavg', 'FedAvg'],
      ...dp.map((x): [string, string] => [x.id, `FedAvg + DP-SGD ε = ${x.epsilon}`]),
    ];
    for (const [id, name] of candidates) {
      const row = qualityRow(q, id, name);
      if (row) rows.push(row);
    }
  }
  return rows;
}

/** Patient-level DP-SGD vs plain training per backend (the DP overhead ratio). */
export function dpSgdSection(r: BenchResults): string[] {
  const d = r.training.dpSgd ?? [];
  if (d.length === 0) return [];
  return [
    '**Patient-level DP-SGD vs plain training** (same model and rows; `trainLocallyWithDpSgd` with Poisson-sampled batches,',
    `per-example clipping to C_example = ${d[0].exampleClipNorm} and Gaussian noise z = ${d[0].noiseMultiplier} from \`CryptoRandom\`, against \`trainLocally\`, one epoch each, interleaved).`,
    'Ratio = DP-SGD throughput / plain throughput:',
    '',
    table(
      [
        'backend',
        'batch',
        'rows',
        'plain samples/s',
        'DP-SGD samples/s',
        'DP overhead ratio (pairs q1–q3)',
        'repeats',
      ],
      d.map((f) => [
        f.backend,
        String(f.batchSize),
        String(f.rows),
        si(f.plainSamplesPerSecond),
        si(f.dpSamplesPerSecond),
        `**${f.ratio.toFixed(3)}** (${range(f.ratioPairs, (x) => x.toFixed(3))})`,
        String(f.dpEpochSeconds.repeats),
      ]),
    ),
    '',
  ];
}

/** "Closing note": the headline figures again in words, and where the time goes where far from the floor. */
export function closingNote(r: BenchResults): string[] {
  const out = ['## Closing note', ''];
  const agg = largest(r.aggregation.figures);
  const stage =
    agg && r.aggregation.stages.find((s) => s.hospitals === agg.hospitals && s.params === agg.params);
  if (agg && stage) {
    const steps = stage.validateSeconds + stage.sumSeconds + stage.noiseSeconds + stage.serverStepSeconds;
    out.push(
      `- **Aggregation** reaches ${agg.floorRatio.toFixed(3)} of the read-pass floor at K = ${agg.hospitals}, P = ${pLabel(agg.params)} ` +
        `(below half the floor everywhere). Where the time goes (stage medians): validate + norms ${ms(stage.validateSeconds)} ms, ` +
        `scaled float64 sum ${ms(stage.sumSeconds)} ms, noise ${ms(stage.noiseSeconds)} ms, server step ${ms(stage.serverStepSeconds)} ms ` +
        `against a ${ms(stage.floorSeconds)} ms floor — ${ms(steps)} ms in all: two passes over every update (norm, then the scaled add) ` +
        'plus a float64 read-modify-write of the sum per update, several times the bytes of one read pass; at small K the ' +
        'P Gaussian draws from node:crypto dominate. What would fix it: tiling the sum so a block of it stays in cache across the K updates, ' +
        'and a WASM SIMD kernel for norm and add; the noise is already within a small factor of Math.random (the noise section).',
    );
  }
  const s = largest(r.aggregation.secure ?? []);
  const m = largest(r.aggregation.masking ?? []);
  if (s && m) {
    out.push(
      `- **Secure aggregation**: unmasking is one modular int32 pass per update (${s.unmask.floorRatio.toFixed(3)} of the floor at K = ${s.hospitals}, ` +
        `P = ${pLabel(s.params)}), cheaper than the float path's clip-and-sum. The costs are elsewhere: recovering one dropped hospital expands ` +
        `K − 1 seeds with AES-CTR (${(s.dropoutRecovery.seconds.median / s.unmask.seconds.median).toFixed(2)} × the unmask time), and each hospital ` +
        `expands K − 1 masks (${ms(m.maskSeconds.median)} ms per update at K = ${m.hospitals}, P = ${pLabel(m.params)}): linear in K per hospital, ` +
        'quadratic over the round. The fix at hundreds of hospitals is masking with O(log K) neighbours instead of all K − 1 ' +
        '(Bell et al. 2020, SecAgg+). Signature checks cost ' +
        `${((1e6 * s.verify.seconds.median) / s.hospitals).toFixed(0)} µs per update (SHA-256 of the blob + Ed25519), ` +
        `${s.verifyAndDpFedAvg.floorRatio.toFixed(3)} of the floor with DP-FedAvg.`,
    );
  }
  const best = [...r.training.figures].sort((a, b) => b.fractionOfPeak - a.fractionOfPeak)[0];
  if (best)
    out.push(
      `- **Training** reaches at best ${pct(best.fractionOfPeak, 2)} of the machine's estimated peak (${best.backend}, batch ${best.batchSize}): ` +
        'the MLP is tiny (see FLOPs per sample), so per-op dispatch in tfjs-core and the JS glue around each small kernel dominate ' +
        '(profile above). What would fix it: larger batches, fused dense kernels (tfjs-node, or the WASM backend with threads), ' +
        'or writing the forward/backward pass of this fixed MLP by hand. DP-SGD adds per-example gradients and noise: see the DP overhead ratio.',
    );
  const o = r.orchestration;
  if (o?.roundTimeGrowth) {
    const last = o.scaling[o.scaling.length - 1];
    const idle = o.profile?.summary.components.find((c) => c.component === 'idle (waiting)');
    const b = o.roundTimeGrowth.exponent;
    const ks = o.scaling.map((x) => x.hospitals);
    const tail = tailSlope(o.scaling);
    const shape =
      tail === null
        ? ''
        : `; between K = ${tail.from} and ${tail.to} the slope is ${tail.slope.toFixed(2)}` +
          (tail.slope > b + 0.2
            ? ': fixed per-round costs (the poll, publishing the model) dominate at small K, the per-update work at large K'
            : '');
    out.push(
      `- **Orchestration**: with tiny local work a round costs ${ms(o.overhead.overheadSeconds.median)} ms of overhead at K = ${o.overhead.hospitals}; ` +
        `one round grows as K^${b.toFixed(2)} over K = ${ks.join(', ')}${shape}. Most of the overhead lies between the last job's end and the aggregator ` +
        `closing the round (K = ${last.hospitals}: ${last.closeSeconds.toFixed(2)} of ${last.overheadSeconds.toFixed(2)} s)` +
        (idle
          ? `, and the profile of the K = ${o.profile?.hospitals} run is ${pct(idle.share, 0)} idle: the thread waits (DuckDB's native threads, file I/O, timers) more than it computes`
          : '') +
        ". Each `update.submitted` counts the round's receipts (`DocumentStore.count`) and lists them only once all could have " +
        'answered, and the base-model evaluation it carries is pooled on a doubling schedule and at round close; before that change ' +
        'every update re-read every receipt and evaluation (O(K²) per round: K = 300 took 219.7 s and K = 1000 did not finish in 30 ' +
        `minutes). The time from close to the next round (${ms(o.overhead.afterCloseSeconds.median)} ms at K = ${o.overhead.hospitals}) is mostly the workflow's poll: ` +
        '`awaitRoundEnd` sleeps 1 s, 2 s, … between reads of the round document; on the embedded stack a document listener ' +
        'instead of the sleeping poll would remove it.' +
        (o.emulator?.measured
          ? ` Through \`himas train\` (a process per hospital job) the per-round overhead is ${o.emulator.embedded.overheadSeconds.median.toFixed(1)} s ` +
            `embedded and ${o.emulator.emulators.overheadSeconds.median.toFixed(1)} s on the emulator stack (${o.emulator.ratio.toFixed(2)} ×): ` +
            'job start-up, not the stack, is most of a round at K = 3.'
          : ''),
    );
  }
  out.push('');
  return out;
}

/** log-log slope between the two largest K measured (where growth is least diluted by fixed costs). */
export function tailSlope(
  scaling: ReadonlyArray<{ hospitals: number; roundSeconds: number }>,
): { from: number; to: number; slope: number } | null {
  if (scaling.length < 3) return null;
  const [a, c] = scaling.slice(-2);
  if (!(a.roundSeconds > 0 && c.roundSeconds > 0) || a.hospitals === c.hospitals) return null;
  return {
    from: a.hospitals,
    to: c.hospitals,
    slope: Math.log(c.roundSeconds / a.roundSeconds) / Math.log(c.hospitals / a.hospitals),
  };
}
