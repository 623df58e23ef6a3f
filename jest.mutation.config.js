/**
 * Jest as `npm run test:mutation` runs it: the tests of the modules Stryker mutates. Tests that
 * check deployable files or spawn whole processes of the service are left out; they test no
 * mutated line and each run would cost seconds.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // Stryker adds mutants as runtime switches; type-checking each compile would only cost time.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  reporters: ['default'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/stack/', '<rootDir>/tests/app/', '<rootDir>/tests/e2e/'],
};
