/**
 * The charts of a training report, as data → Observable Plot options (ChartSpec) and → markup, for
 * report.html and for any other page that shows a run (the web console).
 */
export type { ChartFact, ChartSpec, ChartTable } from './chart-spec';
export { renderChartSvg, PLOT_CLASS } from './render-svg';
export { preloadChartLibraries } from './chart-library';
export { renderChartFigure } from './chart-figure';
export { versionMetricChart, trainLossChart } from './round-charts';
export { reliabilityChart, reliabilityCharts } from './reliability-chart';
export { CALIBRATION_RANGES, offTarget, type CalibrationFigure } from './calibration-ranges';
export {
  POOLED_NAME,
  reportHospitalIds,
  roundDomain,
  seriesPalette,
  trainLossPoints,
  versionMetricPoints,
  type SeriesPoint,
  type VersionMetric,
} from './report-series';
export { POOLED_COLOUR, seriesColour } from './series-colours';
