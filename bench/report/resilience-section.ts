import type { BenchResults } from '../results';

/** docs/benchmarks.md: the load round under duplicated deliveries and failing jobs, and the last long chaos run. */
export function resilienceSection(r: BenchResults): string[] {
  const load = r.resilience?.deliveryLoad;
  const chaos = r.resilience?.chaos;
  if (!load && !chaos) return [];
  const out = [
    '## Resilience: a round under duplicated deliveries and failing jobs, and the chaos suite',
    '',
  ];
  if (load)
    out.push(
      `**Load** (\`npm run bench -- --only delivery-load\`, bench/suites/delivery-load.ts): K = ${load.hospitals} hospitals on the embedded stack, every event published twice (${load.publishedEvents} events, ${2 * load.publishedEvents} deliveries), ${load.failedJobs} training jobs (${Math.round(100 * load.failureRate)} %, seeded) failing before they submit. ` +
        `The round closed in **${load.roundSeconds.toFixed(1)} s** (the whole run, statistics jobs to evaluation, ${load.workflowSeconds.toFixed(1)} s) with **${load.participants} participants**, ` +
        `${load.rightParticipants ? 'exactly the hospitals whose jobs succeeded, each once' : 'NOT the hospitals whose jobs succeeded'}. The cohort and model are the orchestration benchmark's tiny ones, so the figure is orchestration.`,
      '',
    );
  if (chaos) {
    const kinds = Object.entries(chaos.faultsByKind)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    out.push(
      `**Chaos** (\`${chaos.commands.join('` and `')}\`, test/chaos/, recorded ${chaos.recordedAt}): ${chaos.faults} faults in ${chaos.runs} runs on the ${chaos.stacks.join(' and ')} stack${chaos.stacks.length > 1 ? 's' : ''} (${kinds}), each run resumed until done and compared with a clean run of the same seed. ` +
        (chaos.recoveryMedianSeconds === null
          ? ''
          : `Time from a run's last fault to its completion: median **${chaos.recoveryMedianSeconds.toFixed(1)} s**, worst **${chaos.recoveryWorstSeconds!.toFixed(1)} s** (this includes the rest of the run's work, on a machine at load average ${chaos.loadAverage.toFixed(1)}). `) +
        (chaos.recoveryByKind && Object.keys(chaos.recoveryByKind).length > 0
          ? `Recovery per fault (docs/operations.md, "Recovery time"; a run with no fault: ${Object.entries(
              chaos.baselineSeconds ?? {},
            )
              .map(([stack, s]) => `${stack} ${s.toFixed(1)} s`)
              .join(', ')}): ${Object.entries(chaos.recoveryByKind)
              .map(
                ([kind, r]) =>
                  `${kind} new progress after median ${r.progressMedianSeconds.toFixed(1)} s (worst ${r.progressWorstSeconds.toFixed(1)} s, ${r.faults} faults)` +
                  (r.extraMedianSeconds === null
                    ? ''
                    : `, ${r.extraMedianSeconds.toFixed(1)} s extra wall time alone (worst ${r.extraWorstSeconds!.toFixed(1)} s, ${r.aloneRuns} runs)`),
              )
              .join('; ')}. `
          : '') +
        `${chaos.chargedRetries} ledger charge(s) repeated by retries. ` +
        (chaos.failures.length === 0
          ? 'Lost or counted twice: nothing — every run ended with the clean run’s model weights, receipts, participants and ledgers.'
          : `Runs that did not end as the clean run: ${chaos.failures.length}:`),
      '',
      ...chaos.failures.map(
        (f) => `- ${f.length > 400 ? `${f.slice(0, 400)}… (in full in the results file)` : f}`,
      ),
      ...(chaos.failures.length > 0 ? [''] : []),
      ...(chaos.notes ?? []).flatMap((n) => [n, '']),
    );
  }
  return out;
}
