/**
 * Jest as `npm run test:mutation` runs it: the tests of the modules Stryker mutates. Tests that
 * check deployable files, spawn whole processes of the service, drive the console in Chromium or
 * start PostgreSQL are left out; they test no mutated line (the contract tests run on SQLite) and
 * each run would cost seconds.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // Stryker adds mutants as runtime switches; type-checking each compile would only cost time.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  reporters: ['default'],
  // A mutant that makes a call hang fails its test after 4 s (the call tests take well under 1.5 s
  // on a loaded machine) instead of holding the worker until Stryker's own timeout restarts it;
  // tests that take seconds by design carry their own limit (SECONDS_BY_DESIGN_MS).
  testTimeout: 4000,
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/stack/', '<rootDir>/tests/app/', '<rootDir>/tests/e2e/', '<rootDir>/tests/console/', 'postgres'],
};
