/**
 * The tests `npm run mutate` runs against the privacy modules' mutants (stryker.config.json):
 * the unit suites of those modules only, so each mutant is judged by the tests that own it and a
 * mutation run fits on a laptop. Not used by `npm test`.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // Transpile only: type errors are npm test's job; checking types for every mutant would make a
  // run many times slower, and a mutant that does not type-check is not one a test must kill.
  transform: {
    ...base.transform,
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true, diagnostics: false }],
  },
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/unit/core/privacy/**/*.test.ts',
    '<rootDir>/test/unit/core/federated/**/*.test.ts',
    '<rootDir>/test/unit/core/evaluation/**/*.test.ts',
    '<rootDir>/test/unit/core/model/dp-sgd*.test.ts',
    // The fused DP-SGD kernel's clipping, noise and equivalence with the tfjs step.
    '<rootDir>/test/unit/core/model/fused-dp-sgd.test.ts',
    // The ledger's arithmetic is exercised through the services that keep the ledger.
    '<rootDir>/test/unit/services/patient-privacy.test.ts',
    '<rootDir>/test/unit/services/privacy-attacks.test.ts',
    // Identities and the aggregator's verification (issue 13): the attacks and the signatures.
    '<rootDir>/test/unit/security/**/*.test.ts',
    '<rootDir>/test/unit/runtime/hospital-event-signing.test.ts',
    '<rootDir>/test/unit/services/hospital-enrolment.test.ts',
    // What the aggregator records of a reveal, and whose keys a masked round uses.
    '<rootDir>/test/unit/services/secure-aggregation.test.ts',
    // Double masking (issue 13): the protocol's unit tests and the attacks on it.
    '<rootDir>/test/unit/core/secure-aggregation/**/*.test.ts',
    '<rootDir>/test/unit/runtime/double-masking-round.test.ts',
    '<rootDir>/test/attacks/**/*.test.ts',
  ],
};
