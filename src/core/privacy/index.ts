export type { DpEvent } from './dp-event';
export {
  DpEventSchema,
  gaussianEvent,
  poissonSampledEvent,
  selfComposedEvent,
  composedEvent,
  NO_OP_EVENT,
} from './dp-event';
export { DEFAULT_RDP_ORDERS, computeRdp, computeEpsilon } from './rdp-accountant';
export { rdpOfSampledGaussian } from './rdp-sampled-gaussian';
export { epsilonFromRdp } from './rdp-to-epsilon';
export { noiseMultiplierForEpsilon } from './noise-calibration';
export type { NoiseCalibrationOptions } from './noise-calibration';
export { logAdd, logSub } from './log-space';
export { logErfc, standardNormalCdf } from './special-functions';
export {
  DROWNING_RATIO,
  dpSgdPrivacyEvent,
  explainTrainingPlan,
  noiseToSignal,
  planPatientLevelDp,
  poissonSamplingPlan,
} from './patient-level-plan';
export type {
  HospitalLevelPlan,
  NoiseToSignal,
  PatientLevelHospitalPlan,
  PatientLevelPlan,
  PatientLevelPlanInput,
  PlanLine,
  TrainingPlanExplanation,
  TrainingPlanInput,
} from './patient-level-plan';
export { smallestNoiseMultiplier, UnreachableEpsilonError } from './calibration';
export { EVALUATION_L2_SENSITIVITY, PARTITIONS, PrivacyPlanError, planRunPrivacy } from './run-privacy-plan';
export type {
  MechanismKind,
  Partition,
  PartitionTotal,
  PlannedMechanism,
  RunPrivacyPlan,
  RunPrivacyPlanInput,
  SlotKind,
} from './run-privacy-plan';
export { ledgerTotals, reservationOf, slotKind, totalsWith, uncoveredCharges } from './ledger-accounting';
export type { ChargedMechanism, LedgerEntryView, LedgerTotals } from './ledger-accounting';
