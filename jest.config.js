/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // TensorFlow.js training and end-to-end runs are slow on 2 shared cores; timeouts are generous on
  // purpose: tests assert behaviour, benchmarks (npm run bench) measure speed.
  testTimeout: 120000,
  maxWorkers: 2,
};
