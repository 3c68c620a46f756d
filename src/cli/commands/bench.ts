import * as os from 'node:os';
import { benchAggregate } from '../../../bench/suites/aggregation';
import { floorPassLabel } from '../../../bench/numpy-peer';
import { benchPeerTable } from '../../../bench/suites/aggregation-peers';
import { benchAggregatorPath } from '../../../bench/suites/secure-aggregation';
import { intFlag, parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { UserError } from '../user-error';
import { benchRound } from './bench-round';

const HELP = `Usage: himas bench round --hospitals K [--params P] [--json]   (see himas bench round --help)
       himas bench aggregate --hospitals K --params P [--repeats N] [--secure-aggregation] [--signatures] [--json]

Times DP-FedAvg (clip, float64 sum, Gaussian noise from node:crypto, server step) over K updates
of P float32 parameters, interleaved with one read pass over the same K·P floats (the floor).
--secure-aggregation times the aggregator's secure path instead: modular sum of K masked int32
updates, decoding, noise and server step. --signatures adds the Ed25519 check of K updates.
Prints the median seconds, parameters aggregated per second and floor ratio (floor time /
aggregation time; 1 = as fast as reading every parameter once). --json prints only
{"medianSeconds", "paramsPerSecond", "floorRatio"}. The full suite: npm run bench.

  --hospitals K   updates to aggregate, 1-10000
  --params P      parameters per update, 1-100000000
  --repeats N     timed runs after warm-up (default 5)
  --secure-aggregation   unmask K masked updates instead of clipping and summing floats
  --signatures    verify K Ed25519 update signatures (SHA-256 of each blob) first
  --peers         also time numpy's read pass (the memory floor) and numpy DP-FedAvg over the
                  same bytes, interleaved (python3 + numpy; said when absent); adds
                  numpySpeedup and fractionOfNumpyFloor to --json
  --json          machine-readable output`;

/** K·P floats held at once (4 bytes each): 2 GB of updates is enough for any comparison. */
const MAX_TOTAL_PARAMS = 500_000_000;

export const benchCommand: Command = {
  summary:
    'time DP-FedAvg aggregation against a read-pass floor (himas bench aggregate), or one round at K hospitals (himas bench round)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(`${HELP}\n`);
      return sub ? 0 : 2;
    }
    if (sub === 'round') return benchRound(rest);
    if (sub !== 'aggregate')
      throw new UserError(
        `unknown subcommand 'bench ${sub}'; did you mean \`himas bench aggregate\` or \`himas bench round\`?`,
      );
    const { values } = parseCommandArgs('bench aggregate', rest, {
      hospitals: { type: 'string' },
      params: { type: 'string' },
      repeats: { type: 'string' },
      'secure-aggregation': { type: 'boolean' },
      signatures: { type: 'boolean' },
      peers: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const hospitals = intFlag('hospitals', stringFlag(values, 'hospitals'), 1, 10_000);
    const params = intFlag('params', stringFlag(values, 'params'), 1, 100_000_000);
    const repeats = intFlag('repeats', stringFlag(values, 'repeats'), 1, 1000) ?? 5;
    if (hospitals === undefined)
      throw new UserError('--hospitals K is required: how many updates to aggregate');
    if (params === undefined) throw new UserError('--params P is required: parameters per update');
    if (hospitals * params > MAX_TOTAL_PARAMS)
      throw new UserError(
        `--hospitals × --params is ${hospitals * params}; at most ${MAX_TOTAL_PARAMS} (2 GB of float32 updates)`,
      );
    const path = {
      secureAggregation: values['secure-aggregation'] === true,
      signatures: values.signatures === true,
    };
    const timing = { warmup: 1, repeats };
    const figure =
      path.secureAggregation || path.signatures
        ? await benchAggregatorPath(hospitals, params, path, timing)
        : await benchAggregate(hospitals, params, timing).then((f) => ({
            seconds: f.aggregateSeconds,
            floorSeconds: f.floorSeconds,
            paramsPerSecond: f.paramsPerSecond,
            floorRatio: f.floorRatio,
          }));
    const result: Record<string, number | string | null> = {
      medianSeconds: figure.seconds.median,
      paramsPerSecond: figure.paramsPerSecond,
      floorRatio: figure.floorRatio,
    };
    let peerLine = '';
    if (values.peers === true) {
      if (path.secureAggregation || path.signatures)
        throw new UserError(
          '--peers compares plain DP-FedAvg only; drop --secure-aggregation / --signatures',
        );
      const peers = await benchPeerTable({
        maxTotal: Infinity,
        log: () => {},
        only: [[hospitals, params]],
        profile: false,
      });
      const f = peers.figures[0];
      result.numpySpeedup = f.speedupOverNumpy ?? null;
      result.fractionOfNumpyFloor = f.fractionOfFloor ?? null;
      result.floorPass = f.floorPass ? `${f.floorPass.pass}, ${f.floorPass.pages} pages` : null;
      result.loadAverageStart = f.loadAverage?.[0] ?? null;
      result.loadAverageEnd = f.loadAverage?.[1] ?? null;
      if (peers.numpyAbsent) result.numpyAbsent = peers.numpyAbsent;
      peerLine = peers.numpyAbsent
        ? `  numpy peers not measured: ${peers.numpyAbsent}\n`
        : `  side by side: ${f.speedupOverNumpy!.toFixed(2)}× numpy DP-FedAvg, ${(100 * f.fractionOfFloor!).toFixed(1)} % of numpy's fastest plain read pass (the memory floor)\n` +
          `  medians, interleaved: HIMAS ${(f.himasSeconds.median * 1e3).toFixed(1)} ms, numpy DP-FedAvg ${(f.numpySeconds!.median * 1e3).toFixed(1)} ms, numpy's fastest read pass ${(f.floorSeconds!.median * 1e3).toFixed(1)} ms (${floorPassLabel(f.floorPass!.pass)}, ${f.floorPass!.pages} pages, ${((hospitals * params * 4) / f.floorSeconds!.median / 1e9).toFixed(1)} GB/s)\n` +
          `  load average ${f.loadAverage![0].toFixed(2)} → ${f.loadAverage![1].toFixed(2)} on ${os.cpus().length} cores (others' jobs inflate times; the ratios are side by side)\n`;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    const s = figure.seconds;
    const name = [
      path.secureAggregation ? 'secure DP-FedAvg (unmask, decode, noise, step)' : 'DP-FedAvg',
      ...(path.signatures ? ['with signature checks'] : []),
    ].join(' ');
    process.stdout.write(
      `${name}, K = ${hospitals} updates × P = ${params} parameters, ${repeats} repeats after warm-up:\n` +
        `  median ${(s.median * 1000).toFixed(3)} ms (q1-q3 ${(s.q1 * 1000).toFixed(3)}-${(s.q3 * 1000).toFixed(3)} ms)\n` +
        `  ${figure.paramsPerSecond.toExponential(3)} parameters aggregated per second\n` +
        `  floor ratio ${figure.floorRatio.toFixed(3)} (read pass ${(figure.floorSeconds.median * 1000).toFixed(3)} ms; 1 = at the floor)\n` +
        peerLine,
    );
    return 0;
  },
};
