export { auroc } from './auroc';
export { auprc } from './auprc';
export { brierScore } from './brier';
export { calibration, logisticRecalibration, type Calibration } from './calibration';
export { evaluateBinary, type BinaryMetrics } from './evaluate-binary';
