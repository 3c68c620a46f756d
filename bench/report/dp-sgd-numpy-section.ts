import type { BenchResults } from '../results';
import { range, si, table } from './format';

/** DP-SGD training against the numpy reference of the same step (issue 18), with the tfjs path as "before". */
export function dpSgdNumpySection(r: BenchResults): string[] {
  const d = r.training.dpSgdNumpy;
  if (!d) return [];
  const f0 = d.figures[0];
  const out = [
    '**Patient-level DP-SGD against numpy** (issue 18). One epoch of `trainLocallyWithDpSgd` as the hospital job runs it',
    '(Poisson sampling and Gaussian noise from `CryptoRandom`, per-example clipping, Adam lr 0.01, L2 1e-4' +
      (f0 ? `, C_example = ${f0.exampleClipNorm}, z = ${f0.noiseMultiplier}` : '') +
      '), against `bench/suites/dp-sgd-numpy-reference.py`,',
    'the same epoch in numpy (float32; Poisson sampling by geometric gaps; numpy’s PCG64 for sampling and noise, which is',
    'faster than a CSPRNG), in a python3 process kept up for the comparison and timed by itself (pipe latency excluded).',
    'numpy runs two ways: per-example gradients **materialised** ([n, in, out] by einsum, as Opacus’s grad_sample does) and',
    '**ghost** norms (‖aᵢ‖²‖δᵢ‖², sum aᵀ(c ⊙ δ): HIMAS’s algorithm, BLAS products), the latter also with OpenBLAS held to one',
    'thread (threaded BLAS can lose on a loaded 2-core machine); the ratio is against the fastest of the three.',
    "“tfjs path” is HIMAS’s implementation before the fused kernel (`kernel: 'tfjs'`, " +
      `${d.backend} backend), timed in the same interleaved repeats.`,
    `Machine load (1-minute average) ${d.loadAverage[0].toFixed(1)} at the start, ${d.loadAverage[1].toFixed(1)} at the end, on ${r.machine.cores} cores: wall times are stretched by other jobs; the CPU-time ratio (each process's own CPU seconds, numpy's over all its threads) is less affected.`,
    '',
  ];
  if (!d.numpy.present) {
    out.push(`⚠ **numpy reference not run**: ${d.numpy.reason}. HIMAS figures below have no reference.`, '');
  } else {
    out.push(`numpy ${d.numpy.numpy}, Python ${d.numpy.python}.`, '');
  }
  out.push(
    table(
      [
        'model',
        'batch',
        'rows',
        'HIMAS samples/s',
        'kernel',
        'tfjs path samples/s (before)',
        'numpy materialised',
        'numpy ghost',
        'numpy ghost, 1 BLAS thread',
        '**HIMAS / numpy** (pairs q1–q3)',
        'CPU-time ratio',
        'repeats',
      ],
      d.figures.map((f) => [
        f.model,
        String(f.batchSize),
        String(f.rows),
        si(f.himasSamplesPerSecond),
        f.himasKernel,
        si(f.tfjsSamplesPerSecond),
        f.numpySamplesPerSecond.materialised ? si(f.numpySamplesPerSecond.materialised) : '—',
        f.numpySamplesPerSecond.ghost ? si(f.numpySamplesPerSecond.ghost) : '—',
        f.numpySamplesPerSecond['ghost-1-thread'] ? si(f.numpySamplesPerSecond['ghost-1-thread']) : '—',
        f.ratioToNumpy === null
          ? '—'
          : `**${f.ratioToNumpy.toFixed(2)}** (${f.ratioPairs ? range(f.ratioPairs, (x) => x.toFixed(2)) : '—'})`,
        f.cpuRatioToNumpy === null ? '—' : f.cpuRatioToNumpy.toFixed(2),
        String(f.repeats),
      ]),
    ),
    '',
  );
  const compared = d.figures.filter((f) => f.ratioToNumpy !== null);
  if (compared.length > 0) {
    const at = (fs: typeof compared) =>
      fs.map((f) => `${f.model.replace(/ \(.*\)$/, '')} at batch ${f.batchSize}`).join('; ');
    const ahead = compared.filter((f) => f.ratioToNumpy! >= 1);
    const behind = compared.filter((f) => f.ratioToNumpy! < 1);
    out.push(
      `- HIMAS ≥ numpy (wall-clock medians): ${ahead.length > 0 ? at(ahead) : 'none'}.`,
      `- HIMAS < numpy: ${behind.length > 0 ? at(behind) : 'none'}. Where numpy leads it is the ghost variant, whose per-layer products`,
      '  (a·W, δ·Wᵀ, aᵀ(c ⊙ δ)) run in OpenBLAS with SIMD over the whole batch, while the fused kernel is scalar JavaScript (one',
      '  thread, no SIMD): its cost grows with batch × weights, numpy’s per-call overhead is paid once per step. A WebAssembly SIMD',
      '  kernel (AssemblyScript, a dependency not yet added) is what would close that gap for MLPs and large batches.',
      '',
    );
  }
  return out;
}
