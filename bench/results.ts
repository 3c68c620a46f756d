import type { MachineInfo } from './machine';
import type { ProfileSummary } from './cpu-profile';
import type { AggregationFigure, AggregationStages, DecodeFigure } from './suites/aggregation';
import type { NoiseFigure } from './suites/noise';
import type { PeerResult } from './suites/aggregation-peers';
import type { MergedRun } from './merge-results';
import type { ResilienceResults } from './resilience';
import type { OrchestrationResult } from './suites/orchestration';
import type { QualityResult } from './suites/quality';
import type { StrategyResult } from './suites/strategies';
import type { QualityTuningResult } from './suites/quality-tuning';
import type { TrainCriteriaResult } from './suites/train-criteria';
import type { DoubleMaskingFigure } from './suites/double-masking';
import type { MaskingFigure, SecureAggregationFigure } from './suites/secure-aggregation';
import type { NumpyStatus } from './suites/dp-sgd-numpy';
import type { BackendStatus, DpSgdFigure, DpSgdNumpyFigure, TrainingFigure } from './suites/training';

/** The shape of bench/results/<date>.json; docs/benchmarks.md is rendered from it alone. */
export interface BenchResults {
  /** YYYY-MM-DD (UTC) the run started. */
  date: string;
  startedAt: string;
  mode: 'quick' | 'full';
  durationSeconds: number;
  /** CPU seconds (user + system) of the bench process and its orchestration child processes. */
  cpuSeconds: number;
  machine: MachineInfo;
  /** Said in the report: the machine ran other people's jobs during the measurement. */
  sharedMachineNote: string;
  aggregation: {
    clipNorm: number;
    noiseMultiplier: number;
    figures: AggregationFigure[];
    decode: DecodeFigure[];
    stages: AggregationStages[];
    /** Aggregator side under secure aggregation and with signature checks, per (K, P). */
    secure: SecureAggregationFigure[];
    /** Hospital side: masking one update against K − 1 peers vs plain encoding. */
    masking: MaskingFigure[];
    /**
     * Double-masked secure aggregation (self-mask, Shamir shares, reveal) at K = 10, 30, 100,
     * P = 10^5, 10^6, no dropout and 20 % dropouts, next to the plain path (absent in older files).
     */
    doubleMasking?: DoubleMaskingFigure[];
    /** Cases left out and why (e.g. K = 300 × P = 10^6 in quick mode). */
    skipped: Array<{ hospitals: number; params: number; reason: string }>;
    pending: string[];
  };
  /** HIMAS DP-FedAvg against numpy's read pass and numpy's DP-FedAvg (absent in older files). */
  aggregationPeers?: PeerResult;
  noise: NoiseFigure;
  training: {
    flopsPerSample: { forward: number; training: number };
    model: string;
    backends: BackendStatus[];
    figures: TrainingFigure[];
    profiles: Array<{ backend: string; batchSize: number; summary: ProfileSummary }>;
    /** Patient-level DP-SGD vs plain training, per backend and batch. */
    dpSgd: DpSgdFigure[];
    /**
     * DP-SGD epochs against the numpy reference of the same step, timed interleaved (issue 18;
     * absent in older files). `numpy.present` false: python3 or numpy missing, with the reason.
     */
    dpSgdNumpy?: DpSgdNumpyResult;
    pending: string[];
  };
  orchestration: OrchestrationResult;
  /** Single-suite runs merged into this file after it was written (`--only orchestration`). */
  mergedRuns?: MergedRun[];
  /**
   * strategies: absent in results written before issue 14's strategy table; tuning: issue 14's
   * criteria run by run (`--only quality-tuning`), absent before it; trainCriteria: the same
   * criteria through `himas train` itself (`--only train-criteria`), absent before it.
   */
  quality: QualityResult & {
    pending: string[];
    strategies?: StrategyResult;
    tuning?: QualityTuningResult;
    trainCriteria?: TrainCriteriaResult;
  };
  /** Chaos and load under faults (issue 20): absent in older files. */
  resilience?: ResilienceResults;
}

export interface DpSgdNumpyResult {
  numpy: NumpyStatus;
  /** tfjs backend of the tfjs-path column (the fused kernel does not use one). */
  backend: string;
  /** 1-minute load average before and after: the machine is shared. */
  loadAverage: [number, number];
  figures: DpSgdNumpyFigure[];
}
