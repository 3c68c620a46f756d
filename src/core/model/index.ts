export { initializeBackend, type BackendName, type BackendSelection } from './backend';
export { createModel, DEFAULT_HIDDEN_UNITS, DEFAULT_L2, type ModelSpec } from './model-factory';
export { countParameters, getFlatWeights, setFlatWeights } from './flat-weights';
export {
  deserializeModel,
  ModelFormatError,
  serializeModel,
  WEIGHTS_FILE_NAME,
  type SerializedModel,
} from './serialization';
export { type TrainingData } from './training-data';
export {
  runTrainingLoop,
  standardGradientStep,
  trainLocally,
  type GradientStep,
  type GradientStepContext,
  type LocalTrainingOptions,
  type LocalTrainingResult,
} from './local-training';
export { shuffledBatches, type BatchSchedule } from './batching';
export { forwardForTraining } from './training-forward';
export { binaryCrossEntropy, binaryCrossEntropyPerExample, regularizationLoss } from './loss';
export { DEFAULT_PREDICTION_BATCH_SIZE, predictProbabilities } from './prediction';
export { poissonBatches, poissonSample } from './poisson-batches';
export { dpSgdGradientStep, type DpSgdStepOptions } from './dp-sgd-step';
export {
  clipFactors,
  denseChain,
  ghostPass,
  weightedGradientSum,
  type ChainLink,
  type GhostPass,
} from './dp-sgd-ghost-norms';
export { trainLocallyWithDpSgd, type DpSgdTrainingOptions, type DpSgdTrainingResult } from './dp-sgd';
export { fusedDenseLayout, trainDenseDpSgdFused, type FusedDpSgdOptions } from './fused-dp-sgd-training';
export { clippedGradientSum, DenseWorkspace, type DenseLayout } from './dense-dp-sgd-kernel';
export { interceptIndex, siteUpdate, withSiteIntercept } from './site-intercept';
