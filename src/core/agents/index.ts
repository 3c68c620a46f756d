/** Pure logic of the healthcare agents (issue 7); entry points and ports live elsewhere. */
export * from './privacy-guardian';
export * from './convergence';
export * from './run-summary';
export * from './surveillance';
export * from './cusum';
export * from './treatment-effect';
export { severityScore } from './severity-score';
