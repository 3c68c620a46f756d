/**
 * Where a clinician would start to distrust the probabilities (1 is ideal for both): O:E outside
 * 0.8–1.25 (a fifth too many or too few deaths predicted) and a calibration slope outside 0.8–1.2.
 */
export const CALIBRATION_RANGES = {
  observedExpectedRatio: [0.8, 1.25],
  calibrationSlope: [0.8, 1.2],
} as const;

export type CalibrationFigure = keyof typeof CALIBRATION_RANGES;

export function offTarget(value: number | null | undefined, figure: CalibrationFigure): boolean {
  const [low, high] = CALIBRATION_RANGES[figure];
  return typeof value === 'number' && (value < low || value > high);
}
