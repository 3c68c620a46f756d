import type { SeededRandom } from './seeded-random';

/**
 * The faults the suite injects. Process kills are SIGKILL (no handler runs, nothing is flushed):
 * the `himas train` process tree, one hospital job (at any moment, or `kill-job-charged`: the moment
 * its privacy ledger holds a new charge of the run, so the job dies after paying and before its
 * update left, and the retry must pay again), or one function server of the emulator stack
 * (restarted behind the same URL, as Cloud Functions starts a new instance). Deliveries are the
 * emulator stack's Pub/Sub pushes to the aggregator: dropped before the function sees them (no
 * ack: Pub/Sub redelivers) or duplicated (processed, then the ack is lost: Pub/Sub delivers the
 * same message again). `aggregator-outage` refuses every push of the run to the aggregator from
 * the next update on, for longer than the subscription's retry window (until the refused messages
 * are dead-lettered), then the operator's `himas deadletter replay` must bring them back into
 * their round.
 */
export const FAULT_KINDS = [
  'kill-cli',
  'kill-job',
  'kill-job-charged',
  'aggregator-outage',
  'kill-aggregate',
  'kill-coordinator',
  'drop-delivery',
  'duplicate-delivery',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type ChaosStackName = 'embedded' | 'emulators';

/**
 * The embedded stack runs the aggregator and coordinator inside the CLI and has no Pub/Sub pushes:
 * its aggregator cannot be away while the CLI runs (its bus dead-letters only a handler that throws).
 */
export const STACK_FAULTS: Record<ChaosStackName, readonly FaultKind[]> = {
  embedded: ['kill-cli', 'kill-job', 'kill-job-charged'],
  emulators: FAULT_KINDS,
};

export interface PlannedFault {
  kind: FaultKind;
  /** Seconds after the previous fault (or after the attempt it falls in started). */
  delaySeconds: number;
}

/** 1 to 4 faults, spread over about one run's duration. */
export function planIteration(
  random: SeededRandom,
  stack: ChaosStackName,
  options: { maxFaults: number; runSeconds: number },
): PlannedFault[] {
  const count = Math.min(options.maxFaults, 1 + Math.floor(random.next() * 4));
  const spread = Math.max(3, (0.8 * options.runSeconds) / count);
  return Array.from({ length: count }, () => ({
    kind: random.pick(STACK_FAULTS[stack]),
    delaySeconds: Math.round(random.between(0.5, spread) * 10) / 10,
  }));
}
