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
  /** Ledger entries charged again by retried jobs or evaluations, over every run. */
  chargedRetries: number;
  /** Runs that did not end as the clean run did, each with its reproducing command and problem. */
  failures: string[];
  /** 1-minute load average when the run ended (the machine is shared). */
  loadAverage: number;
}

export interface ResilienceResults {
  deliveryLoad?: DeliveryLoadResult;
  chaos?: ChaosSummary;
}
