import type { DeliveryLoadResult } from './suites/delivery-load';

/**
 * Resilience figures in bench/results/<date>.json (issue 20): the load benchmark's round under
 * duplicated deliveries and failing jobs (`npm run bench -- --only delivery-load`), and the last
 * long chaos run (`npm run chaos -- --faults 50 --merge-into FILE`), which the chaos suite records
 * itself because it takes most of an hour.
 */
export interface ChaosSummary {
  recordedAt: string;
  /** The commands that produced it, one per invocation merged. */
  commands: string[];
  stacks: string[];
  runs: number;
  faults: number;
  faultsByKind: Record<string, number>;
  /** Seconds from a run's last fault to its completion: median and worst over the runs. */
  recoveryMedianSeconds: number | null;
  recoveryWorstSeconds: number | null;
  /**
   * Per fault kind: seconds from a fault until the run had progress it lacked at the fault (an
   * update accepted that was not before, or completion), and, over the runs with that fault alone,
   * the run's wall time beyond the same stack's faultless run. Absent in records made before.
   */
  recoveryByKind?: Record<string, FaultRecovery>;
  /** Per stack, the wall time of the suite's run with no fault. */
  baselineSeconds?: Record<string, number>;
  /** Ledger entries charged again by retried jobs or evaluations, over every run. */
  chargedRetries: number;
  /** Runs that did not end as the clean run did, each with its reproducing command and problem. */
  failures: string[];
  /** What a reader must know about the failures (e.g. a diagnosis made after the run), by hand. */
  notes?: string[];
  /** 1-minute load average when the run ended (the machine is shared). */
  loadAverage: number;
}

export interface FaultRecovery {
  faults: number;
  progressMedianSeconds: number;
  progressWorstSeconds: number;
  /** Runs whose only fault was of this kind, and their extra wall time (median, worst). */
  aloneRuns: number;
  extraMedianSeconds: number | null;
  extraWorstSeconds: number | null;
}

export interface ResilienceResults {
  deliveryLoad?: DeliveryLoadResult;
  chaos?: ChaosSummary;
}
