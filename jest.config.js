/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 20000,
  // not /tmp: a test run leaves nothing there
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  reporters: ['<rootDir>/tests/support/summary-reporter.js'],
};
