import { parseArgs } from 'node:util';
import { describeRecovery, recordChaos, recoveryByKind, summarizeChaos } from './chaos-record';
import { runChaos } from './chaos-suite';
import type { ChaosStackName } from './fault-plan';

/**
 * `npm run chaos -- [--seed S] [--faults N] [--stack embedded|emulators|both] [--max-recovery-seconds T]
 * [--keep] [--merge-into bench/results/DATE.json]`. Exits 1 when a run did not end as the clean run
 * did, printing the seed that reproduces it; --merge-into records the result in docs/benchmarks.md.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      faults: { type: 'string', default: '6' },
      stack: { type: 'string', default: 'both' },
      'max-recovery-seconds': { type: 'string', default: '300' },
      keep: { type: 'boolean', default: false },
      'merge-into': { type: 'string' },
    },
  });
  const seed = values.seed === undefined ? Math.floor(Math.random() * 1e6) : Number(values.seed);
  const faults = Number(values.faults);
  const maxRecoverySeconds = Number(values['max-recovery-seconds']);
  const stacks: ChaosStackName[] =
    values.stack === 'both' ? ['embedded', 'emulators'] : [values.stack as ChaosStackName];
  if (!Number.isInteger(seed) || !Number.isInteger(faults) || faults < 1 || !(maxRecoverySeconds > 0))
    throw new Error(
      '--seed and --faults take integers (faults ≥ 1), --max-recovery-seconds a positive number',
    );
  if (!stacks.every((s) => s === 'embedded' || s === 'emulators'))
    throw new Error(`--stack '${values.stack}' must be embedded, emulators or both`);
  const report = await runChaos({
    seed,
    faults,
    stacks,
    maxRecoverySeconds,
    keepFiles: values.keep,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const byKind = new Map<string, number>();
  for (const fault of report.iterations.flatMap((i) => i.injected))
    byKind.set(fault.kind, (byKind.get(fault.kind) ?? 0) + 1);
  process.stdout.write(
    [
      `chaos seed ${seed}: ${report.faults} faults injected in ${report.iterations.length} runs (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`,
      report.recovery
        ? `finished after the last fault: median ${report.recovery.medianSeconds.toFixed(1)} s, worst ${report.recovery.worstSeconds.toFixed(1)} s`
        : 'no run had a fault land before it finished',
      `a run with no fault: ${Object.entries(report.baselineSeconds)
        .map(([stack, s]) => `${stack} ${s.toFixed(1)} s`)
        .join(', ')}`,
      ...describeRecovery(recoveryByKind(report)).map((line) => `  ${line}`),
      `charged retries: ${report.iterations.reduce((n, i) => n + i.chargedRetries, 0)}; runs that did not end as the clean run: ${report.failures.length}`,
      ...report.failures.map(
        (f) =>
          `  ${f.runId}: reproduce with npm run chaos -- --seed ${f.seed} --faults ${f.injected.length} --stack ${f.stack} (files in ${report.root})\n    ${f.problems.join('\n    ')}`,
      ),
      '',
    ].join('\n'),
  );
  if (values['merge-into']) {
    const command = `npm run chaos -- --seed ${seed} --faults ${faults} --stack ${values.stack}`;
    recordChaos(values['merge-into'], summarizeChaos(report, command));
    process.stderr.write(`chaos: recorded in ${values['merge-into']} and docs/benchmarks.md\n`);
  }
  return report.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
